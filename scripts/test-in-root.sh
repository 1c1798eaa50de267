#!/usr/bin/env bash
# Runs the README's set-up and test commands inside a Debian root of another
# release, with that release's own Kamailio packages (Debian's binaries, not a
# build from source): the same suite as on this machine, against trixie's
# Kamailio 6.0 when this machine is bookworm (5.6), and the other way round.
#   scripts/test-in-root.sh                 trixie: setup + scripts/test.sh
#   scripts/test-in-root.sh bookworm        another release
#   scripts/test-in-root.sh trixie CMD...   run CMD in the project copy instead
#                                           (e.g. bash test/demo/run-demo.sh)
# The root is created once with debootstrap (about a minute) under
# /var/tmp/kamailio-e911-roots/<suite> (a copy of the pristine <suite>-base)
# and reused; the project is copied to
# /root/kamailio-e911 in it (its build trees are kept between runs).
# Needs root (debootstrap, chroot, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-root.sh

suite=${1:-trixie}
shift || true
if [ "$(id -u)" -ne 0 ]; then
	echo "test-in-root: run as root (debootstrap, chroot and mounts need it)" >&2
	exit 1
fi
export E911_APT_CACHE=$E911_ROOTS_DIR/apt-cache-$suite

t0=$(date +%s)
root=$(droot_test_root "$suite")
t1=$(date +%s)
droot_copy_project "$PWD" "$root" /root/kamailio-e911
if [ $# -eq 0 ]; then
	set -- bash -c 'cd /root/kamailio-e911 && bash scripts/setup-debian.sh && bash scripts/test.sh'
else
	set -- bash -c 'cd /root/kamailio-e911 && "$@"' bash "$@"
fi
rc=0
droot_run "$root" "$@" || rc=$?
t2=$(date +%s)
echo "test-in-root: $suite: root $((t1 - t0)) s, set-up and tests $((t2 - t1)) s, exit $rc"
exit $rc
