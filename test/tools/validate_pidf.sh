#!/bin/sh
# Validates XML documents against an XML Schema with xmllint and checks that
# each one is valid (--valid) or schema-invalid (--invalid).
#
#   test/tools/validate_pidf.sh --valid   test/xsd/all.xsd test/data/pidf/*/expected.xml
#   test/tools/validate_pidf.sh --invalid test/xsd/all.xsd test/data/pidf-vectors/neg*.xml
#
# A document counts as schema-invalid only when xmllint says so (exit 3); a
# document that is not even well-formed, or a schema that does not load,
# is a failure either way. $XMLLINT names the binary (default: from PATH).
# Exit status: 0 all as expected, 1 otherwise, 77 (ctest's skip code) when
# xmllint is not installed.
set -u

usage() {
	echo "usage: $0 --valid|--invalid SCHEMA FILE..." >&2
	exit 2
}

[ $# -ge 3 ] || usage
mode=$1
schema=$2
shift 2
case $mode in
--valid | --invalid) ;;
*) usage ;;
esac

xmllint=${XMLLINT:-$(command -v xmllint || true)}
if [ -z "$xmllint" ] || [ ! -x "$xmllint" ]; then
	echo "SKIP: xmllint not found (apt-get install libxml2-utils)" >&2
	exit 77
fi
[ -r "$schema" ] || { echo "FAIL: cannot read schema $schema" >&2; exit 1; }

failed=0
for f in "$@"; do
	out=$("$xmllint" --noout --nonet --schema "$schema" "$f" 2>&1)
	rc=$?
	if [ "$mode" = --valid ] && [ $rc -eq 0 ]; then
		echo "ok    valid    $f"
	elif [ "$mode" = --invalid ] && [ $rc -eq 3 ]; then
		echo "ok    invalid  $f: $(printf '%s\n' "$out" | head -n 1)"
	else
		echo "FAIL  expected ${mode#--}, xmllint exit $rc: $f" >&2
		printf '%s\n' "$out" >&2
		failed=1
	fi
done
exit $failed
