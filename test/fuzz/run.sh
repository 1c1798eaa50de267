#!/bin/sh
# Runs the libFuzzer targets for a set time each and reports executions and
# findings per target.
#
#   test/fuzz/run.sh [SECONDS-PER-TARGET] [TARGET...]
#
# SECONDS defaults to 60; TARGETs (record pidf dial mime geoloc ruri replication sitemap) default to
# all, run one after the other. Binaries come from $E911_FUZZ_BUILD
# (default build-fuzz in the repository), which is configured and built
# with clang when they are missing. Each target starts from its committed
# seeds (test/fuzz/corpus/fuzz_<t>, read only) and writes new inputs and
# crash artifacts to a fresh directory under /tmp (printed), so repeated
# runs never touch the repository. After a crash the target is restarted
# on the grown corpus until its time is used up. Exit status: 0 when no
# target found anything, 1 otherwise, 2 on a setup error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-record pidf dial mime geoloc ruri replication sitemap}
build=${E911_FUZZ_BUILD:-$root/build-fuzz}

case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

missing=
for t in $targets; do
	[ -x "$build/test/fuzz/fuzz_$t" ] || missing="$missing fuzz_$t"
done
if [ -n "$missing" ]; then
	echo "building$missing in $build"
	CC=${CC:-clang} cmake -S "$root" -B "$build" -DE911_FUZZ=ON \
		-DE911_BUILD_MODULE=OFF >/dev/null || exit 2
	# shellcheck disable=SC2086
	cmake --build "$build" -j 2 --target $missing >/dev/null || exit 2
fi

work=$(mktemp -d /tmp/e911-fuzz.XXXXXX) || exit 2
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
echo "work directory: $work ($secs s per target)"
printf '%-8s %12s %8s %6s %9s\n' target executions new-seeds cov findings
status=0

for t in $targets; do
	bin=$build/test/fuzz/fuzz_$t
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/artifacts"
	dict=
	[ -f "$here/fuzz_$t.dict" ] && dict=-dict=$here/fuzz_$t.dict
	start=$(date +%s)
	left=$secs
	runs=0
	execs=0
	while [ "$left" -gt 0 ]; do
		runs=$((runs + 1))
		# shellcheck disable=SC2086
		"$bin" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$dir/artifacts/" $dict \
			"$dir/corpus" "$here/corpus/fuzz_$t" >"$dir/log.$runs" 2>&1
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.$runs" | tail -n 1)
		execs=$((execs + ${n:-0}))
		left=$((secs - ($(date +%s) - start)))
		# a clean end means the time is up; otherwise it crashed: go on
		grep -q '^Done [0-9]* runs' "$dir/log.$runs" && break
		[ -n "$n" ] || [ "$(ls "$dir/artifacts" | wc -l)" -gt 0 ] || {
			echo "$t: fuzzer did not run, see $dir/log.$runs" >&2
			status=2
			break
		}
	done
	cov=$(grep -o 'cov: [0-9]*' "$dir/log.$runs" | tail -n 1 | cut -d' ' -f2)
	found=$(ls "$dir/artifacts" | wc -l)
	printf '%-8s %12s %8s %6s %9s\n' "$t" "$execs" \
		"$(ls "$dir/corpus" | wc -l)" "${cov:-?}" "$found"
	for a in "$dir"/artifacts/*; do
		[ -e "$a" ] && echo "    finding: $a (reproduce: $bin $a)"
	done
	[ "$found" -gt 0 ] && [ $status -eq 0 ] && status=1
done
exit $status
