# shellcheck shell=bash
# Debian roots for testing on another release than the machine's: created
# with debootstrap from the machine's own apt mirror (read from its apt
# sources: no mirror host is written in this project), kept under /var/tmp
# and reused, entered in a private mount namespace (proc, dev, sys mounted
# there only; nothing is left mounted when the command ends).
# Sourced by scripts/test-in-root.sh and scripts/test-packages.sh.

E911_ROOTS_DIR=${E911_ROOTS_DIR:-/var/tmp/kamailio-e911-roots}

# The machine's Debian archive URI (kind=main) or security archive URI
# (kind=security), from deb822 .sources files or sources.list lines.
droot_mirror() {
	local kind=$1 f
	if [ "$kind" = main ] && [ -n "${E911_DEBIAN_MIRROR:-}" ]; then
		echo "$E911_DEBIAN_MIRROR"
		return
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v kind="$kind" '
			function flush() {
				if (uri != "" && ((kind == "security") == (suites ~ /-security/)))
					{ print uri; found = 1; exit }
				uri = ""; suites = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { suites = $0 }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/\[[^]]*\]//' "$f" | awk -v kind="$kind" '
			$1 == "deb" && ((kind == "security") == ($3 ~ /-security/)) { print $2 }'
	done
}

# droot_create <suite> <dir>: a minbase root of <suite> at <dir>, unless one
# made earlier is there (marker .e911-root).
droot_create() {
	local suite=$1 dir=$2 mirror security
	[ -f "$dir/.e911-root" ] && return 0
	mirror=$(droot_mirror main | head -1)
	security=$(droot_mirror security | head -1)
	if [ -z "$mirror" ]; then
		echo "debian-root: no Debian mirror in this machine's apt sources" >&2
		return 1
	fi
	command -v debootstrap >/dev/null || {
		echo "debian-root: debootstrap is not installed (scripts/setup-debian.sh)" >&2
		return 1
	}
	rm -rf "$dir.tmp"
	mkdir -p "$(dirname "$dir")"
	echo "debian-root: creating a $suite root at $dir (debootstrap, $mirror)"
	debootstrap --variant=minbase "$suite" "$dir.tmp" "$mirror" >"$dir.log" 2>&1 || {
		echo "debian-root: debootstrap failed, see $dir.log" >&2
		tail -5 "$dir.log" >&2
		return 1
	}
	rm -f "$dir.tmp/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' \
			"$mirror" "$suite" "$suite"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		if [ -n "$security" ]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' \
				"$security" "$suite"
			printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		fi
	} >"$dir.tmp/etc/apt/sources.list.d/debian.sources"
	# packages must not start services in the root (they would bind the
	# machine's ports: the root shares its network)
	printf '#!/bin/sh\nexit 101\n' >"$dir.tmp/usr/sbin/policy-rc.d"
	chmod 755 "$dir.tmp/usr/sbin/policy-rc.d"
	touch "$dir.tmp/.e911-root"
	mv "$dir.tmp" "$dir"
}

# droot_clone <from> <to>: a fresh copy of a root (for installs into a clean one)
droot_clone() {
	rm -rf "$2"
	cp -a "$1" "$2"
}

# droot_test_root <suite>: the path of <suite>'s root for the test suite,
# created as a copy of the pristine <suite>-base root when absent (the base
# stays clean for the package installation tests).
droot_test_root() {
	local suite=$1 base=$E911_ROOTS_DIR/$1-base dir=$E911_ROOTS_DIR/$1
	if [ ! -f "$dir/.e911-root" ]; then
		droot_create "$suite" "$base" >&2 || return 1
		droot_clone "$base" "$dir.tmp"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# droot_run <dir> <command...>: runs the command as root inside <dir>, with
# /proc, /dev, /sys mounted in a private mount namespace; the machine's
# resolv.conf; the shared apt archive cache of that release when
# E911_APT_CACHE is set.
droot_run() {
	local dir=$1
	shift
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	# shellcheck disable=SC2016
	unshare --mount --propagation private /bin/bash -c '
		set -e
		r=$1
		shift
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
		mount -t sysfs sysfs "$r/sys" 2>/dev/null || mount --rbind /sys "$r/sys"
		if [ -n "${E911_APT_CACHE:-}" ]; then
			mkdir -p "$E911_APT_CACHE/partial"
			mount --bind "$E911_APT_CACHE" "$r/var/cache/apt/archives"
		fi
		exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			CI="${CI:-}" E911_IN_ROOT=1 E911_VALGRIND="${E911_VALGRIND:-}" "$@"
	' droot-run "$dir" "$@"
}

# droot_copy_project <src> <root> <path>: the project's files (no .git, no
# build trees) at <root>/<path>; build trees made there earlier are kept, so
# a rerun builds incrementally.
droot_copy_project() {
	local src=$1 dst=$2$3
	mkdir -p "$dst"
	find "$dst" -mindepth 1 -maxdepth 1 ! -name 'build*' -exec rm -rf {} +
	tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dst" -xf -
}
