#!/usr/bin/env bash
# Builds the kamailio-e911-module .deb for the Kamailio installed on this
# machine (or in this Debian root) with Debian's tools, and checks it with
# lintian:
#   scripts/build-deb.sh [OUTDIR]     (default: dist/<codename>)
# Installs the build dependencies (apt-get build-dep), fetches the headers
# with `apt-get source kamailio=<installed version>` (deb-src: run
# scripts/setup-debian.sh first) and runs dpkg-buildpackage on a copy of the
# project. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
. /etc/os-release
out=$(realpath -m "${1:-dist/$VERSION_CODENAME}")
export DEBIAN_FRONTEND=noninteractive

apt-get install -y -qq --no-install-recommends dpkg-dev debhelper lintian \
	kamailio >/dev/null
apt-get build-dep -y -qq ./ >/dev/null

kver=$(dpkg-query -W -f '${Version}' kamailio)
work=$(mktemp -d /tmp/e911-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
# apt-get source downloads as the _apt user: a directory it may write to
mkdir "$work/ksrc"
chown _apt "$work/ksrc" 2>/dev/null || true
(cd "$work/ksrc" && apt-get source -qq "kamailio=$kver" >/dev/null)
ksrc=$(ls -d "$work"/ksrc/kamailio-*/ | head -1)

mkdir -p "$work/kamailio-e911"
tar -C "$src" --exclude='./build*' --exclude=./dist --exclude=./.git -cf - . |
	tar -C "$work/kamailio-e911" -xf -
(cd "$work/kamailio-e911" && KAMAILIO_SRC=$ksrc dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
	tail -40 "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$out"
rm -f "$out"/kamailio-e911-module_*.deb
cp "$work"/kamailio-e911-module_*.deb "$out"/
deb=$(ls "$out"/kamailio-e911-module_*.deb)
echo "build-deb: $deb (kamailio $kver)"
dpkg-deb -f "$deb" Package Version Depends | sed 's/^/  /'
lintian --fail-on error,warning "$deb"
echo "build-deb: lintian: no errors or warnings"
