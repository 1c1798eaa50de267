#!/usr/bin/env bash
# Builds the kamailio-e911-module .deb for bookworm (Kamailio 5.6) and trixie
# (6.0) with Debian's tools (scripts/build-deb.sh: dpkg-buildpackage,
# lintian), then installs each with `apt-get install ./<deb>` into a clean
# root of its release and runs the demo against the installed module (not a
# build tree). In the trixie root the bookworm package is offered first:
# apt must refuse it (it depends on Kamailio 5.6).
#   scripts/test-packages.sh [SUITE...]      default: bookworm trixie
# The package of this machine's own release is built here, the other in its
# root (scripts/test-in-root.sh); the packages end up in dist/<suite>/.
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-root.sh
. /etc/os-release
[ $# -gt 0 ] || set -- bookworm trixie
host=$VERSION_CODENAME

say() { echo "test-packages: $*"; }

# --- build
for suite in "$@"; do
	t0=$(date +%s)
	if [ "$suite" = "$host" ] && [ -z "${E911_IN_ROOT:-}" ]; then
		bash scripts/build-deb.sh "dist/$suite"
	else
		bash scripts/test-in-root.sh "$suite" bash -c \
			"bash scripts/setup-debian.sh >/dev/null && bash scripts/build-deb.sh dist/$suite"
		root=$E911_ROOTS_DIR/$suite
		mkdir -p "dist/$suite"
		rm -f "dist/$suite"/kamailio-e911-module_*.deb
		cp "$root/root/kamailio-e911/dist/$suite"/kamailio-e911-module_*.deb "dist/$suite/"
	fi
	say "$suite: package built in $(($(date +%s) - t0)) s"
done

# --- install into a clean root of each release, run the demo
for suite in "$@"; do
	t0=$(date +%s)
	base=$E911_ROOTS_DIR/$suite-base
	root=$E911_ROOTS_DIR/$suite-install
	droot_create "$suite" "$base"
	droot_clone "$base" "$root"
	mkdir -p "$root/root/debs" "$root/root/kamailio-e911"
	cp "dist/$suite"/kamailio-e911-module_*.deb "$root/root/debs/"
	other=
	for o in dist/*/kamailio-e911-module_*.deb; do
		[ -e "$o" ] || continue
		case $o in dist/"$suite"/*) ;; *) other=$o ;; esac
	done
	[ -n "$other" ] && cp "$other" "$root/root/debs/other.deb"
	# the demo's own files (locsvc, PSAPs, SIPp scenarios, cfg), no build tree
	tar -C . -cf - cfg test | tar -C "$root/root/kamailio-e911" -xf -
	export E911_APT_CACHE=$E911_ROOTS_DIR/apt-cache-$suite
	rc=0
	droot_run "$root" /bin/bash -s <<-'EOS' || rc=$?
		set -euo pipefail
		export DEBIAN_FRONTEND=noninteractive
		cd /root/debs
		apt-get update -qq
		if [ -e other.deb ]; then
			# not -qq: apt then names the unmet dependency
			if apt-get install -y ./other.deb >other.log 2>&1; then
				echo "FAIL: apt installed $(dpkg-deb -f other.deb Version) beside this release's Kamailio" >&2
				exit 1
			fi
			grep -q "Depends: kamailio (" other.log || { cat other.log >&2; exit 1; }
			echo "apt refuses the other release's package: $(grep -m1 'Depends: kamailio (' other.log | sed 's/^ *//')"
		fi
		deb=$(ls kamailio-e911-module_*.deb)
		apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
		# what the demo needs beside the package: SIPp, xmllint, python3
		apt-get install -y -qq --no-install-recommends sip-tester libxml2-utils \
			python3 procps iproute2 >/dev/null
		echo "installed: $(dpkg-query -W kamailio-e911-module kamailio | tr '\t\n' '  ')"
		m=$(dpkg -L kamailio-e911-module | grep '/kamailio/modules/e911.so$')
		doc=/usr/share/doc/kamailio-e911-module
		for f in README.md README operations.md examples/kamailio.cfg \
			examples/kamailio-lua.cfg examples/e911.lua; do
			[ -e "$doc/$f" ] || [ -e "$doc/$f.gz" ] || { echo "FAIL: no $doc/$f" >&2; exit 1; }
		done
		zcat -f "$doc/examples/kamailio.cfg"* | cmp - /root/kamailio-e911/cfg/kamailio.cfg
		cd /root/kamailio-e911
		E911_INSTALLED=1 KAMAILIO_MODULES_DIR=$(dirname "$m") NO_COLOR=1 \
			bash test/demo/run-demo.sh
	EOS
	[ "$rc" -eq 0 ] && rm -rf "$root"
	say "$suite: clean-root install and demo: exit $rc, $(($(date +%s) - t0)) s"
	[ "$rc" -eq 0 ] || exit "$rc"
done
