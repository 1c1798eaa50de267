#!/usr/bin/env bash
# Installs what kamailio-e911 needs on Debian bookworm or trixie (run as
# root). Enables deb-src from the machine's own Debian entries (no mirror host
# is written here), installs Kamailio, SIPp, the build and test tools.
# Package names that carry a release's version (the clang runtime, whose
# libFuzzer and sanitizer libraries the fuzz build links) are read from the
# archive, not written here.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo bash "$0" "$@"
	fi
	echo "setup-debian: run as root (apt-get install needs it)" >&2
	exit 1
fi

enable_deb_src() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		if grep -q '^Types: deb$' "$f"; then
			sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
		fi
	done
	if [ -f /etc/apt/sources.list ]; then
		# one-line format: add a deb-src twin of every deb line
		if grep -q '^deb ' /etc/apt/sources.list && ! grep -q '^deb-src ' /etc/apt/sources.list; then
			sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/e911-deb-src.list
		fi
	fi
}

# xhttp_prom (metrics, -A WITH_PROMETHEUS) is in the kamailio package itself
# on bookworm (5.6) and trixie (6.0); the check below says so if it is not.
# dmq.so (replication between nodes, cfg -A WITH_DMQ) ships in the kamailio
# package itself on bookworm (5.6) and trixie (6.0: dmq is in Kamailio's
# "extra" module list, which the base package carries); checked below.
PKGS=(
	kamailio kamailio-utils-modules kamailio-extra-modules kamailio-xml-modules
	kamailio-sqlite-modules
	kamailio-lua-modules lynx docbook-xml libxml2-dev
	sip-tester libcurl4-openssl-dev libjansson-dev libcmocka-dev
	build-essential cmake pkg-config dpkg-dev python3 libxml2-utils
	clang llvm valgrind tshark docbook-xsl xsltproc curl
	procps iproute2 gnuplot-nox openssl debootstrap flex bison
	# the HTTP/2 location service of the storm tests (test/locsvc/h2locsvc.py)
	python3-h2
	# the readiness report's charts, and the browser its test opens it in
	# (test_readiness: headless, skipped without it)
	python3-matplotlib chromium
)

# libclang-rt-<N>-dev for the clang-<N> that this release's `clang` depends on
# (bookworm: 14, trixie: 19)
clang_rt_pkg() {
	local n
	n=$(apt-cache depends clang 2>/dev/null |
		sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -1)
	if [ -z "$n" ]; then
		echo "setup-debian: cannot tell which clang-<N> the clang package installs" >&2
		exit 1
	fi
	echo "libclang-rt-$n-dev"
}

export DEBIAN_FRONTEND=noninteractive
enable_deb_src
apt-get update -qq
PKGS+=("$(clang_rt_pkg)")
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
if ! ls /usr/lib/*/kamailio/modules/xhttp_prom.so >/dev/null 2>&1; then
	echo "setup-debian: xhttp_prom.so not found: the metrics test (test_metrics) will be skipped" >&2
fi
for m in dmq sl tm xhttp app_lua; do
	if ! ls /usr/lib/*/kamailio/modules/$m.so >/dev/null 2>&1; then
		echo "setup-debian: the Kamailio module $m.so is missing" >&2
		exit 1
	fi
done
echo "setup-debian: installed ${#PKGS[@]} packages; kamailio: $(kamailio -v 2>/dev/null | head -1)"
