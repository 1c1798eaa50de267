#!/usr/bin/env bash
# kamailio-e911 demo: emergency calls with the caller's dispatchable location.
#
# Starts, all on 127.0.0.1:
#   - the reference location service with test/data/locsvc/demo-records.json,
#   - three PSAPs (psap.py): the county PSAP named by alice's record, the E911
#     provider trunk (default route, for records without a route) and the national
#     emergency call center (fallback route), plus an ordinary desk phone,
#   - Kamailio with cfg/kamailio.cfg and e911.so (built first if missing),
# then places with SIPp: a 911 call from alice, a 933 test call from bob, an
# ordinary call (to extension 1000) and a 911 call from an unknown caller,
# prints what each PSAP received and Kamailio's log line of each call, and
# ends with e911.explain alice 911: what the next call would get.
#
#   test/demo/run-demo.sh [--keep]      (--keep: keep the work directory)
# Environment: E911_BUILD_DIR (default <src>/build), KAMAILIO_BIN, KAMAILIO_MODULES_DIR,
# NO_COLOR=1 for plain output, E911_INSTALLED=1 to load the e911.so installed in
# KAMAILIO_MODULES_DIR (the kamailio-e911-module package) instead of a build tree's.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"
BUILD=${E911_BUILD_DIR:-$SRC/build}
KAMAILIO_BIN=${KAMAILIO_BIN:-$(command -v kamailio || echo /usr/sbin/kamailio)}
KAMCMD_BIN=${KAMCMD_BIN:-$(command -v kamcmd || echo /usr/sbin/kamcmd)}
SIPP_BIN=${SIPP_BIN:-$(command -v sipp || echo sipp)}
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1

if [[ -z ${KAMAILIO_MODULES_DIR:-} ]]; then
	for d in /usr/lib/*/kamailio/modules /usr/lib64/kamailio/modules /usr/lib/kamailio/modules \
		/usr/local/lib64/kamailio/modules /usr/local/lib/kamailio/modules; do
		if [[ -e $d/tm.so ]]; then KAMAILIO_MODULES_DIR=$d; break; fi
	done
fi
: "${KAMAILIO_MODULES_DIR:?cannot find the Kamailio modules directory (set KAMAILIO_MODULES_DIR)}"

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; D=$'\e[2m'; N=$'\e[0m'
else B= G= R= D= N=; fi
say() { printf '%s\n' "${B}==>${N} $*"; }
die() { printf '%s\n' "${R}error:${N} $*" >&2; exit 1; }

for tool in "$KAMAILIO_BIN" "$KAMCMD_BIN" "$SIPP_BIN" xmllint "$PY"; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

# ---------------------------------------------------------------- build
if [[ ${E911_INSTALLED:-0} == 1 ]]; then
	[[ -e $KAMAILIO_MODULES_DIR/e911.so ]] ||
		die "E911_INSTALLED=1 but there is no $KAMAILIO_MODULES_DIR/e911.so (apt-get install kamailio-e911-module)"
	MPATH=$KAMAILIO_MODULES_DIR
	say "loading the installed module $KAMAILIO_MODULES_DIR/e911.so"
elif [[ ! -e $BUILD/modules/e911.so ]]; then
	say "building the e911 module in $BUILD"
	cmake -S "$SRC" -B "$BUILD" >/dev/null
	cmake --build "$BUILD" --target e911 -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
if [[ ${E911_INSTALLED:-0} != 1 ]]; then
	[[ -e $BUILD/modules/e911.so ]] || die "$BUILD/modules/e911.so was not built"
	MPATH=$BUILD/modules:$KAMAILIO_MODULES_DIR
fi

# ---------------------------------------------------------------- processes
WORK=$(mktemp -d /tmp/e911-demo.XXXXXX)
PIDS=()

cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	# newest first: Kamailio before the PSAPs and the service it talks to
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		# each was started with setsid: its process group is its own
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if ((KEEP)) || ((rc != 0)); then
		printf '%s\n' "${D}work directory kept: $WORK${N}"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: in its own session (so its group can be ended), output to a log
start() {
	local name=$1; shift
	setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
	PIDS+=($!)
}

free_port() {
	"$PY" - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
EOF
}

wait_for() { # wait_for SECONDS CMD...: bounded poll
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

PSAP_PORT=$(free_port)      # county PSAP (alice's route.uri)
DEFAULT_PORT=$(free_port)   # E911 provider trunk (records without a route)
FALLBACK_PORT=$(free_port)  # national emergency call center (no location)
DESK_PORT=$(free_port)      # an ordinary phone
LOCSVC_PORT=$(free_port)
SIP_PORT=$(free_port)

declare -A PSAP_NAME=(
	[psap]="PSAP Cook County|127.0.0.1:$PSAP_PORT"
	[default]="E911 provider trunk (default route)|127.0.0.1:$DEFAULT_PORT"
	[fallback]="National ECC (fallback route)|127.0.0.1:$FALLBACK_PORT"
	[desk]="Desk phone 1000|127.0.0.1:$DESK_PORT"
)

say "work directory $WORK"
sed -e "s/{PSAP_PORT}/$PSAP_PORT/g" -e "s/{DEFAULT_PORT}/$DEFAULT_PORT/g" \
	-e "s/{FALLBACK_PORT}/$FALLBACK_PORT/g" \
	"$SRC/test/data/locsvc/demo-records.json" >"$WORK/records.json"

for role in psap default fallback desk; do
	case $role in
		psap) port=$PSAP_PORT ;; default) port=$DEFAULT_PORT ;;
		fallback) port=$FALLBACK_PORT ;; desk) port=$DESK_PORT ;;
	esac
	start "psap-$role" "$PY" "$SRC/test/integration/psap.py" --port "$port" --name "$role" \
		--dump-dir "$WORK/psap-$role" --max-seconds 600
done
start locsvc "$PY" "$SRC/test/locsvc/locsvc.py" --host 127.0.0.1 --port "$LOCSVC_PORT" \
	--records "$WORK/records.json"
say "location service on http://127.0.0.1:$LOCSVC_PORT/v1/locations/{key} (callers: alice, bob)"
wait_for 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $LOCSVC_PORT), 1)" ||
	die "the location service did not start: $(tail -5 "$WORK/locsvc.log")"

CTL="unix:$WORK/kamailio-ctl.sock"
say "Kamailio with cfg/kamailio.cfg on udp:127.0.0.1:$SIP_PORT"
start kamailio "$KAMAILIO_BIN" -f "$SRC/cfg/kamailio.cfg" -DD -E -n 2 \
	-w "$WORK" -Y "$WORK" -P "$WORK/kamailio.pid" -L "$MPATH" \
	-A "LISTEN=udp:127.0.0.1:$SIP_PORT" \
	-A "CTL_SOCKET=\"$CTL\"" \
	-A "E911_LOCATION_URL=\"http://127.0.0.1:$LOCSVC_PORT/v1/locations/{key}\"" \
	-A "E911_DEFAULT_ROUTE=\"sip:911@127.0.0.1:$DEFAULT_PORT\"" \
	-A "E911_FALLBACK_ROUTE=\"sip:911@127.0.0.1:$FALLBACK_PORT\"" \
	-A "E911_TIMEOUT_MS=1000" -A "E911_CACHE_TTL=300" -A E911_LOG_ORDINARY
KPID=${PIDS[-1]}
if ! wait_for 20 "$KAMCMD_BIN" -s "$CTL" core.uptime; then
	tail -20 "$WORK/kamailio.log" >&2
	die "Kamailio did not start (log: $WORK/kamailio.log)"
fi
kill -0 "$KPID" 2>/dev/null || die "Kamailio exited: $(tail -5 "$WORK/kamailio.log")"
for role in psap default fallback desk; do
	printf '    %-38s %s\n' "${PSAP_NAME[$role]%|*}" "sip:${PSAP_NAME[$role]#*|}"
done

# ---------------------------------------------------------------- calls
CALLNO=0
FAILED=0
# call TITLE EXPECT DIALLED CALLER [RURI_HOST]
call() {
	local title=$1 expect=$2 dialled=$3 caller=$4 ruri_host=${5:-127.0.0.1:$SIP_PORT}
	CALLNO=$((CALLNO + 1))
	local cid="demo-$CALLNO-$$@127.0.0.1" log="$WORK/sipp-$CALLNO"
	say "call $CALLNO: $title"
	if ! timeout 60 "$SIPP_BIN" "127.0.0.1:$SIP_PORT" -sf "$SRC/test/integration/sipp/uac_invite.xml" \
		-i 127.0.0.1 -mi 127.0.0.1 -bind_local -p "$(free_port)" -t u1 -m 1 -l 1 \
		-s "$dialled" -key caller "$caller" -key from_host example.com \
		-key ruri_host "$ruri_host" -key expires 3600 -cid_str "$cid" \
		-timeout 20s -timeout_error -recv_timeout 10000 -nostdin \
		-trace_msg -message_file "$log-msg.log" -trace_err -error_file "$log-err.log" \
		>"$log.out" 2>&1; then
		printf '%s\n' "    ${R}the call did not complete (SIPp: $log.out)${N}"
	fi
	sleep 0.2
	"$PY" "$SRC/test/demo/report.py" --title "Call $CALLNO: $title" --call-id "$cid" \
		--short "$dialled from $caller" \
		--sipp-log "$log-msg.log" --kamailio-log "$WORK/kamailio.log" \
		--xsd "$SRC/test/xsd/all.xsd" --expect "$expect" --summary-file "$WORK/summary.jsonl" \
		--psap "${PSAP_NAME[psap]}=$WORK/psap-psap" \
		--psap "${PSAP_NAME[default]}=$WORK/psap-default" \
		--psap "${PSAP_NAME[fallback]}=$WORK/psap-fallback" \
		--psap "${PSAP_NAME[desk]}=$WORK/psap-desk" || FAILED=1
}

call "alice dials 911 (Acme Corp, Chicago office)" emergency 911 alice
call "bob dials 933 - test call (home, Evanston; his record has no route)" emergency 933 bob
call "alice dials 1000 - an ordinary call" normal 1000 alice "127.0.0.1:$DESK_PORT"
call "an unknown caller (zed) dials 911" fallback 911 zed

cd "$SRC" && "$PY" "$SRC/test/demo/report.py" --summary "$WORK/summary.jsonl" || FAILED=1

# what a call from alice dialling 911 would get now, without placing one
echo
say "kamcmd e911.explain alice 911   (no call placed: what the next 911 call from alice gets)"
if ! "$KAMCMD_BIN" -s "$CTL" e911.explain alice 911 >"$WORK/explain.txt" 2>&1; then
	printf '%s\n' "    ${R}e911.explain failed:${N} $(cat "$WORK/explain.txt")"
	FAILED=1
fi
sed -e 's/\r$//' -e 's/^/    /' "$WORK/explain.txt"
echo
if ((FAILED)); then
	printf '%s\n' "${R}Some calls were not handled as expected.${N} Logs: $WORK"
	KEEP=1
	exit 1
fi
printf '%s\n' "${G}All calls handled as expected.${N}"
