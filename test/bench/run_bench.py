#!/usr/bin/env python3
# kamailio-e911: the benchmark of issue 8 (and the benchmark bullets of issues 3, 4).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   python3 test/bench/run_bench.py            full run (~20 min on 2 cores)
#   python3 test/bench/run_bench.py --quick    everything, briefly (< 2 min); asserts no
#                                              timing, exits 0 when the harness worked
#   options: --out DIR (results; default /tmp/e911-bench-<time>), --repeats N,
#            --only cpu,callgrind,rate,setup,async,shm,cache  --plot PNG
#
# Configurations, all on loopback against the same location service and PSAPs:
#   a  stock   test/bench/cfg/stock.cfg  http_client + jansson + htable + textops
#                                        (+ async_task_route), rendered PIDF-LO cached
#   b  e911    cfg/kamailio.cfg          the module, non-blocking (e911_locate_async)
#   c  relay   test/integration/cfg/relay.cfg  plain stateful relay: the floor
#   s  e911-sync test/bench/cfg/e911-sync.cfg  the module, synchronous e911_locate
#
# Load: SIPp (test/bench/sipp/uac*.xml) as callers, two SIPp UAS (uas.xml) as the
# primary PSAP and the fallback PSAP, test/bench/bench_locsvc.py as the location
# service (asyncio, keep-alive; records synthesised from record-template.json for
# every key "b...", so every cold call has its own record).
#
# Measurements (configurations interleaved a b c a b c ..., medians and spread):
#   cpu       Kamailio CPU (schedstat ns of every task of every Kamailio process,
#             idle rate subtracted) per 1000 calls: warm, cold 0 ms, cold 20 ms;
#             set-up times (INVITE -> 200 at the caller) of the same runs
#   callgrind instructions per call (valgrind --tool=callgrind --trace-children=yes),
#             warm and miss path, minus a baseline run without those calls; top
#             functions (self cost) per call
#   rate      highest warm emergency call rate with < 1 % failed calls (stepped)
#   setup     service hung: breaker open -> cached and fallback calls; cached calls
#             during a storm of hung misses (a, b, s)
#   async     cold-cache located calls/s at 20 ms and 200 ms service latency,
#             e911 sync (s) vs non-blocking (b) (and stock a)
#   shm       shm bytes per cached record in the running proxy (core.shmmem)
#   cache     build/test/e911_cache_bench (lookup ns at 1, 10^4, 10^6 entries)
#   locsvc    can the location service keep up: CPU per request, reference vs bench
#
# Python 3 standard library only (plus kamailio, sipp, valgrind, gnuplot).

import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
os.environ.setdefault("E911_SOURCE_DIR", SRC)
os.environ.setdefault("E911_BUILD_DIR", os.path.join(SRC, "build-bench"))
sys.path.insert(0, os.path.join(SRC, "test", "integration"))
import e911test as T  # noqa: E402

HOST = T.HOST
BUILD = os.environ["E911_BUILD_DIR"]
SIPP = T.SIPP_BIN
CONFIGS = {
    "a": ("stock", os.path.join(HERE, "cfg", "stock.cfg")),
    "b": ("e911", os.path.join(SRC, "cfg", "kamailio.cfg")),
    "c": ("relay", os.path.join(SRC, "test", "integration", "cfg", "relay.cfg")),
    "s": ("e911-sync", os.path.join(HERE, "cfg", "e911-sync.cfg")),   # see make_sync_cfg
    # issue 19: (a) with e911.so loaded and configured, never called
    "m": ("stock+e911", os.path.join(HERE, "cfg", "stock.cfg")),
}
# an ordinary (non-emergency) call: dialled number, relayed where the Request-URI says
ORDINARY_NUMBER = "2025550123"
# issue 19, phase cfgcost: cfg/kamailio.cfg variants, each without one statement or
# setting: (label, (old text, new text), ...) - the first pair whose old text is in
# the cfg is applied (the cfg before and after issue 19 differ); none: skipped
CFG_ABLATIONS = (
    ("log_prefix: none",
     ('log_prefix="{$mt $cs $rm $ci} "\n', ""), ('log_prefix="{$mt $hdr(CSeq) $ci} "\n', "")),
    ("log_prefix: {$mt $hdr(CSeq) $ci} (before issue 19)",
     ('log_prefix="{$mt $cs $rm $ci} "', 'log_prefix="{$mt $hdr(CSeq) $ci} "')),
    ("log_prefix: {$mt $cs $rm $ci} (after issue 19)",
     ('log_prefix="{$mt $hdr(CSeq) $ci} "', 'log_prefix="{$mt $cs $rm $ci} "')),
    ("sanity_check of initial requests",
     ('if (!sanity_check("17895", "7")) {', "if (0) {")),
    ("sanity_check: URI checks of the Request-URI only (not From, To)",
     ('if (!sanity_check("17895", "7")) {', 'if (!sanity_check("17895", "1")) {')),
    ("t_check_trans before route[WITHINDLG] (before issue 19: in-dialog requests too)",
     ("\troute(WITHINDLG);\n", "\tif (!is_method(\"ACK\")) {\n\t\tt_check_trans();\n\t}\n\troute(WITHINDLG);\n")),
    ("t_precheck_trans for every request (before issue 19)",
     ("if (t_precheck_trans()) {\n\t\t\tt_check_trans();", "if (0) {\n\t\t\tt_check_trans();")),
    ("t_precheck_trans in route[EMERGENCY] (after issue 19)",
     ("\tif (t_precheck_trans()) {\n\t\tt_check_trans();", "\tif (0) {\n\t\tt_check_trans();")),
    ("INFO line per ordinary INVITE (before issue 19)",
     ("""xlog("L_INFO", "e911: call from '$fU' to '$rU' is not an emergency call: relayed untouched (Call-ID $ci)\\n");""",
      "$var(noop) = 0;")),
    ("e911_is_psap_callback on ordinary INVITEs",
     ('if (is_method("INVITE") && e911_is_psap_callback()) {', "if (0) {")),
    ("e911_is_emergency (an exact $rU match instead)",
     ('if (is_method("INVITE") && e911_is_emergency()) {\n\t\troute(EMERGENCY);',
      'if (is_method("INVITE") && $rU == "911") {\n\t\troute(EMERGENCY);')),
    ("NOTICE line per emergency call",
     ("""\txlog("L_NOTICE", "e911: class $e911(class) call from""",
      """\tif (0) xlog("L_NOTICE", "e911: class $e911(class) call from""")),
    ("e911_notify per emergency call", ("\te911_notify();\n", "")),
    ("DNS off (dns=no, rev_dns=no, use_dns_cache=no, as stock and relay)",
     ("auto_aliases=no\n", "auto_aliases=no\ndns=no\nrev_dns=no\nuse_dns_cache=no\n")),
    ("memdbg=5, memlog=5 left at their defaults", ("memdbg=5\nmemlog=5\n", "")),
    ("route(TRUST) call (before issue 19 on every message; now only with E911_TRUSTED_ADDRESSES)",
     ("\troute(TRUST);\n", "")),
    ("registrar lookup check (uri == myself) for calls to local users",
     ("\tif (uri == myself && $rU != $null) {", "\tif (0) {")),
    ("REGISTER branch check", ('\tif (is_method("REGISTER")) {\n\t\troute(REGISTRAR);',
                               '\tif (0) {\n\t\troute(REGISTRAR);')),
)
UAC = os.path.join(HERE, "sipp", "uac.xml")
UAC_LOCATED = os.path.join(HERE, "sipp", "uac_located.xml")
UAS = os.path.join(HERE, "sipp", "uas.xml")
TEMPLATE = os.path.join(HERE, "record-template.json")
CHILDREN = 4
# shared memory of every proxy, MB (-m): Kamailio's 64 MB default runs out near 500 calls/s
# here (transactions kept for the wait timer, 2.6 kB rewritten INVITEs), for every config
SHM_MB = 1024
SYNC_CFG = os.path.join(HERE, "cfg", "e911-sync.cfg")
ASYNC_CALL = 'e911_locate_async("$var(e911key)", "E911_LOCATED");'
SYNC_CALL = 'e911_locate("$var(e911key)");\n\troute(E911_LOCATED);'
SYNC_HEAD = ("#\n# kamailio-e911 benchmark: cfg/kamailio.cfg with the SYNCHRONOUS lookup\n"
             "# (e911_locate in the SIP worker, then the same route[E911_LOCATED]) instead\n"
             "# of e911_locate_async; everything else, and every #!define, as in\n"
             "# cfg/kamailio.cfg. Generated by test/bench/run_bench.py (make_sync_cfg).\n#")


def make_sync_cfg(path=SYNC_CFG):
    """The synchronous variant of cfg/kamailio.cfg (issue 4's sync vs non-blocking):
    the one e911_locate_async call replaced by e911_locate + route(E911_LOCATED)."""
    with open(CONFIGS["b"][1]) as f:
        src = f.read()
    if src.count(ASYNC_CALL) != 1:
        raise RuntimeError("cfg/kamailio.cfg: expected one %s" % ASYNC_CALL)
    out = src.replace(ASYNC_CALL, SYNC_CALL)
    out = out.replace("#\n# kamailio-e911 reference configuration\n#", SYNC_HEAD, 1)
    with open(path, "w") as f:
        f.write(out)
    return path

_t0 = time.monotonic()


def log(msg):
    sys.stdout.write("[%6.1fs] %s\n" % (time.monotonic() - _t0, msg))
    sys.stdout.flush()


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def best_rate(pts):
    """The highest rate of a rising curve before the first point with 1% or more
    of the calls failed (0 when the first already fails)."""
    best = 0
    for pt in pts:
        if pt["failed_pct"] >= 1.0:
            break
        best = pt["rate"]
    return best


# ---------------------------------------------------------------------------
# processes

# --pin: Kamailio on some CPUs, the load generator and the location service on the
# others, so that Kamailio (not SIPp) is what saturates in the rate phase.
PIN = {"kam": None, "load": None}


def pin(pids, which):
    cpus = PIN.get(which)
    if not cpus:
        return
    for pid in pids:
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:
            pass


def kam_pids(leader):
    """Every process of the Kamailio started as session leader `leader`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[2]) == leader:       # pgrp
            out.append(int(d))
    return out


def cpu_ns(leader):
    """Sum of schedstat run time (ns) of all tasks of all Kamailio processes, and
    utime+stime (clock ticks) from /proc/<pid>/stat as a cross-check."""
    ns, ticks = 0, 0
    for pid in kam_pids(leader):
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    ns += int(f.read().split()[0])
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return ns, ticks


class Uas:
    """A SIPp PSAP (long-lived for the whole run, bounded by -timeout)."""

    def __init__(self, workdir, user, budget_s):
        self.port = T.free_port()
        self.dir = os.path.join(workdir, "uas-" + user)
        os.makedirs(self.dir, exist_ok=True)
        cmd = [SIPP, "-sf", UAS, "-i", HOST, "-mi", HOST, "-bind_local", "-p", str(self.port),
               "-t", "u1", "-key", "psap_user", user, "-nostdin", "-timeout",
               "%ds" % int(budget_s), "-recv_timeout", "10000", "-max_recv_loops", "100000",
               "-trace_err", "-error_file", os.path.join(self.dir, "err.log")]
        self.proc = T._track(subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL,
                                              stderr=open(os.path.join(self.dir, "stderr"), "wb"),
                                              start_new_session=True))
        pin([self.proc.pid], "load")
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("SIPp UAS did not start: see %s" % self.dir)

    def stop(self):
        T.stop_process(self.proc, term_timeout=3)


class Locsvc:
    def __init__(self, workdir, psap_port, name="locsvc"):
        self.dir = workdir
        self.name = name
        tpl = os.path.join(workdir, name + "-template.json")
        with open(TEMPLATE) as f:
            text = f.read().replace("{PSAP_PORT}", str(psap_port))
        with open(tpl, "w") as f:
            f.write(text)
        pf = os.path.join(workdir, name + ".port")
        if os.path.exists(pf):
            os.unlink(pf)
        self.proc = T._track(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "bench_locsvc.py"), "--template", tpl,
             "--port-file", pf, "--max-seconds", "3000"],
            cwd=workdir, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(workdir, name + ".log"), "wb"), stderr=subprocess.STDOUT,
            start_new_session=True))
        pin([self.proc.pid], "load")
        for _ in range(100):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        with open(pf) as f:
            self.port = int(f.read())
        self.base = "http://%s:%d" % (HOST, self.port)

    def control(self, mode="normal", latency_ms=0):
        import urllib.request
        req = urllib.request.Request(self.base + "/_control", method="POST",
                                     data=json.dumps({"mode": mode, "latency_ms": latency_ms}).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    def stats(self):
        import urllib.request
        with urllib.request.urlopen(self.base + "/_stats", timeout=5) as r:
            return json.loads(r.read())

    def pid(self):
        return self.proc.pid

    def stop(self):
        T.stop_process(self.proc, term_timeout=3)


# ---------------------------------------------------------------------------
# SIPp callers

class UacRun:
    """One SIPp caller run: `calls` calls at `rate` cps, callers from `keys`."""
    seq = 0

    def __init__(self, bench, target_port, keys, rate, calls, service="911", located=False,
                 tag="run", max_s=None, recv_timeout_ms=6000, trace=True, ruri_port=None):
        UacRun.seq += 1
        self.dir = os.path.join(bench.workdir, "uac", "%04d-%s" % (UacRun.seq, tag))
        os.makedirs(self.dir)
        inf = os.path.join(self.dir, "keys.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for k in keys:
                f.write("%s;\n" % k)
        self.calls = calls
        self.rate = rate
        self.max_s = max_s or (calls / float(rate) + recv_timeout_ms / 1000.0 + 10)
        self.stat = os.path.join(self.dir, "stat.csv")
        # ruri_port: an ordinary call, Request-URI sip:<service>@HOST:ruri_port (a PSAP
        # acting as the called party) sent through the proxy at target_port (-rsa)
        remote = "%s:%d" % (HOST, ruri_port or target_port)
        self.cmd = [SIPP, remote, "-sf", UAC_LOCATED if located else UAC,
                    "-inf", inf, "-i", HOST, "-mi", HOST, "-bind_local",
                    "-p", str(T.free_port()), "-t", "u1", "-s", service,
                    "-r", str(rate), "-rp", "1000", "-m", str(calls),
                    "-l", str(max(50, int(rate * 4))), "-nostdin",
                    "-recv_timeout", str(recv_timeout_ms), "-timeout", "%ds" % int(self.max_s),
                    "-trace_stat", "-stf", self.stat, "-fd", "1",
                    "-trace_err", "-error_file", os.path.join(self.dir, "err.log")]
        if ruri_port:
            self.cmd += ["-rsa", "%s:%d" % (HOST, target_port)]
        # set-up times: SIPp's own response times tick in 4 ms steps here, so they are
        # taken from the message trace (microsecond time stamps): INVITE sent -> 200 in
        self.msg = os.path.join(self.dir, "msg.log") if trace else None
        if trace:
            self.cmd += ["-trace_msg", "-message_file", self.msg]
        self.proc = None

    def start(self):
        self.t_start = time.monotonic()
        self.proc = T._track(subprocess.Popen(self.cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL,
                                              stderr=open(os.path.join(self.dir, "stderr"), "wb"),
                                              start_new_session=True))
        pin([self.proc.pid], "load")
        return self

    def wait(self):
        try:
            self.proc.wait(self.max_s + 15)
        except subprocess.TimeoutExpired:
            pass
        T.stop_process(self.proc, term_timeout=3)
        self.elapsed = time.monotonic() - self.t_start
        return self.result()

    def run(self):
        return self.start().wait()

    def result(self):
        succ = fail = created = 0
        try:
            with open(self.stat) as f:
                rows = [ln.rstrip("\n").split(";") for ln in f if ln.strip()]
            head, last = rows[0], rows[-1]
            col = {n: i for i, n in enumerate(head)}
            succ = int(last[col["SuccessfulCall(C)"]])
            fail = int(last[col["FailedCall(C)"]])
            created = int(last[col["TotalCallCreated"]])
        except (OSError, IndexError, KeyError, ValueError):
            pass
        rtts = setup_times(self.msg) if self.msg else []
        failed = max(fail, created - succ) + max(0, self.calls - created)
        return {"calls": self.calls, "rate": self.rate, "created": created, "ok": succ,
                "failed": failed, "failed_pct": 100.0 * failed / max(1, self.calls),
                "elapsed": round(self.elapsed, 2), "rtt_ms": rtts, "dir": self.dir}


_MSG_RE = re.compile(rb"-{10,} \d{4}-\d\d-\d\d[ \t]+\d\d:\d\d:(\d\d\.\d+)\n"
                     rb"\w+ message (sent|received) [(\[](\d+)(?: bytes\)|\] bytes) ?:\n\n")
_CID_RE = re.compile(rb"^(?:Call-ID|i)\s*:\s*(\S+)", re.M | re.I)


def setup_times(path):
    """[ms] INVITE sent -> 200 (INVITE) received, per call, from a SIPp -trace_msg log."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    sent, out = {}, []
    base_min = None
    for m in _MSG_RE.finditer(data):
        # the minute part is dropped: only differences under a minute matter; a wrap
        # across a minute boundary is fixed below
        sec = float(m.group(1))
        body = data[m.end():m.end() + int(m.group(3))]
        nl = body.find(b"\r\n")
        first = body[:nl] if nl >= 0 else body[:80]
        cm = _CID_RE.search(body)
        if not cm:
            continue
        cid = cm.group(1)
        if m.group(2) == b"sent" and first.startswith(b"INVITE "):
            sent.setdefault(cid, sec)
        elif m.group(2) == b"received" and first.startswith(b"SIP/2.0 200") \
                and re.search(rb"^CSeq:\s*\d+\s+INVITE", body, re.M | re.I):
            t0 = sent.pop(cid, None)
            if t0 is not None:
                d = sec - t0
                if d < 0:
                    d += 60.0
                out.append(d * 1000.0)
    return out


def rtt_summary(rtts):
    if not rtts:
        return {"n": 0}
    return {"n": len(rtts), "median": med(rtts), "p90": pct(rtts, 90), "p99": pct(rtts, 99),
            "max": max(rtts)}


# ---------------------------------------------------------------------------
# Kamailio

class Proxy:
    def __init__(self, bench, key, tag="", valgrind=None, defines=None, cfg=None, name=None):
        self.key = key
        self.bench = bench
        name = name or CONFIGS[key][0]
        cfg = cfg or CONFIGS[key][1]
        self.name = name
        self.dir = os.path.join(bench.workdir, "kam", "%s-%s%s" % (key, name, tag))
        os.makedirs(self.dir, exist_ok=True)
        d = bench.defines(key)
        d.update(defines or {})
        extra = (["-x", bench.args.mem] if bench.args.mem else []) + ["-m", str(SHM_MB)]
        children = 2 if (valgrind and bench.quick) else CHILDREN
        self.k = T.Kamailio(self.dir, cfg=cfg, defines=d, children=children, name="kamailio",
                            extra_args=extra)
        self.valgrind = valgrind
        if valgrind:
            base_cmd = self.k.command

            def vg_cmd():
                return ["valgrind", "--tool=callgrind", "--trace-children=yes",
                        "--callgrind-out-file=" + os.path.join(self.dir, "callgrind.out.%p"),
                        "--log-file=" + os.path.join(self.dir, "valgrind.%p.log")] + base_cmd()
            self.k.command = vg_cmd

    @property
    def port(self):
        return self.k.port

    def start(self):
        if self.valgrind:
            old = T.TIME_SCALE
            T.TIME_SCALE = 8
            try:
                self.k.start()
            finally:
                T.TIME_SCALE = old
        else:
            self.k.start()
        pin(kam_pids(self.leader()), "kam")
        return self

    def leader(self):
        return self.k.proc.pid

    def cpu(self):
        return cpu_ns(self.leader())

    def kamcmd(self, *a):
        return self.k.kamcmd(*a, check=False).text

    def shm_used(self):
        t = self.kamcmd("core.shmmem")
        m = re.search(r"real_used:\s*(\d+)", t) or re.search(r"used:\s*(\d+)", t)
        return int(m.group(1)) if m else None

    def stop(self):
        if self.k.proc is None:
            return
        if self.valgrind:
            # let every callgrind'ed process write its profile: TERM the main process,
            # wait (bounded) for the whole group, only then kill what is left
            leader = self.leader()
            try:
                os.kill(leader, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and kam_pids(leader):
                try:
                    self.k.proc.wait(0.5)
                except subprocess.TimeoutExpired:
                    pass
        self.k.stop()


def callgrind_total_file(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"^(?:summary|totals):\s*(\d+)", data, re.M)
    return int(m.group(1)) if m else 0


# Periodic cache maintenance is not per-call work: it runs on a timer whatever the
# call rate, in lumps (htable walks its whole table every timer_interval, 20 s;
# the e911 housekeeper sweeps a slice of its table every second), so whether a lump
# falls into a 3-s call window is chance. It is taken out of the per-call figures
# and reported separately, as instructions per second over all the windows.
CG_BACKGROUND_FUNCS = ("ht_timer",)        # htable's expiry walk (a: stock)
CG_BACKGROUND_ROLES = ("e911 housekeeper",)  # e911's sweep, refresh-ahead, snapshot


def callgrind_inclusive(path, names):
    """Inclusive Ir of the named functions in one process profile."""
    if not names:
        return 0
    r = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=yes", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    tot = 0
    for ln in r.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*?:(\w+)(?:'\d+)?\s+\[", ln)
        if m and m.group(2) in names and "'" not in ln.split("[")[0]:
            tot += int(m.group(1).replace(",", ""))
    return tot


def callgrind_functions(files):
    """{function: self Ir} summed over the given process profiles."""
    out = {}
    for p in files:
        r = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", p],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
        for ln in r.stdout.decode("utf-8", "replace").splitlines():
            m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?:\s+\[[^\]]*\])?$", ln)
            if not m or ":" not in m.group(2):
                continue
            n = int(m.group(1).replace(",", ""))
            fn = m.group(2)
            fn = fn.split(":", 1)[1] if not fn.startswith("???:") else fn[4:]
            lib = m.group(2).split(":", 1)[0]
            key = "%s (%s)" % (fn, os.path.basename(lib))
            out[key] = out.get(key, 0) + n
    return out


# ---------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.workdir = args.out
        os.makedirs(self.workdir, exist_ok=True)
        # SIPp runs are numbered from 1 in each run: an earlier run's into the
        # same directory (a rerun of ctest in a kept build tree) would collide
        shutil.rmtree(os.path.join(self.workdir, "uac"), ignore_errors=True)
        self.results = {"quick": self.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "children": CHILDREN}
        self.errors = []
        self.keyseq = 0

    # -- set-up ------------------------------------------------------------
    def start(self):
        budget = 300 if self.quick else 3000
        self.psap = Uas(self.workdir, "psap", budget)
        self.fallback = Uas(self.workdir, "fallback", budget)
        self.locsvc = Locsvc(self.workdir, self.psap.port)
        log("PSAP udp:%d, fallback PSAP udp:%d, location service :%d" % (
            self.psap.port, self.fallback.port, self.locsvc.port))

    def stop(self):
        for x in ("locsvc", "psap", "fallback"):
            o = getattr(self, x, None)
            if o is not None:
                o.stop()

    def defines(self, key):
        d = {
            "E911_LOCATION_URL": T.q("http://%s:%d/v1/locations/{key}" % (HOST, self.locsvc.port)),
            "STOCK_HTTPCON": T.q("loc=>http://%s:%d/v1/locations;timeout=1" % (
                HOST, self.locsvc.port)),
            "E911_DEFAULT_ROUTE": T.q("sip:911@%s:%d" % (HOST, self.psap.port)),
            "E911_FALLBACK_ROUTE": T.q("sip:911@%s:%d" % (HOST, self.fallback.port)),
            "E911_TIMEOUT_MS": "1000",
            "E911_CACHE_TTL": "3600",
        }
        if key == "m":
            d["STOCK_LOAD_E911"] = None
            d["STOCK_E911_URL"] = d["E911_LOCATION_URL"]
        if key == "c":
            d = {"RELAY_DST": T.q("sip:%s:%d" % (HOST, self.psap.port)), "DEBUG_LEVEL": "1"}
        return d

    def keys(self, n, kind="c"):
        self.keyseq += 1
        return ["b%s%dx%d" % (kind, self.keyseq, i) for i in range(n)]

    def warm_keys(self, n):
        return ["bw%d" % i for i in range(n)]

    def prime(self, proxy, keys, rate=200):
        r = UacRun(self, proxy.port, keys, rate, len(keys), tag="prime-" + proxy.name,
                   recv_timeout_ms=30000 if proxy.valgrind else 6000, trace=False).run()
        if r["failed"]:
            log("  prime %s: %d of %d calls failed" % (proxy.name, r["failed"], len(keys)))
        return r

    # -- 0. what the PSAP receives -------------------------------------------
    def verify(self):
        """One call through (a) and (b) to a Python PSAP: is the INVITE comparable?"""
        out = {}
        psap = T.Psap(HOST, 0, final_code=200, name="verify").start()
        loc = Locsvc(self.workdir, psap.port, name="locsvc-verify")
        try:
            for key in ("a", "b"):
                name, cfg = CONFIGS[key]
                d = self.defines(key)
                d["E911_LOCATION_URL"] = T.q("http://%s:%d/v1/locations/{key}" % (HOST, loc.port))
                d["STOCK_HTTPCON"] = T.q("loc=>http://%s:%d/v1/locations;timeout=1" % (HOST, loc.port))
                kdir = os.path.join(self.workdir, "kam", "verify-" + name)
                os.makedirs(kdir, exist_ok=True)
                extra = ["-x", self.args.mem] if self.args.mem else []
                k = T.Kamailio(kdir, cfg=cfg, defines=d, children=2, extra_args=extra).start()
                try:
                    checks = {}
                    for attempt in ("miss", "hit"):
                        call = T.run_sipp(kdir, k.port, caller="bverify1", tag=attempt)
                        hits = []
                        deadline = time.monotonic() + 5
                        while time.monotonic() < deadline and not hits:
                            hits = [r for r in psap.invites() if r.msg.call_id == call.call_id]
                            time.sleep(0.05)
                        checks[attempt] = self.check_invite(call, hits, kdir, name, attempt)
                    out[name] = checks
                finally:
                    k.stop()
        finally:
            loc.stop()
            psap.stop()
        self.results["verify"] = out
        for name, checks in out.items():
            for attempt, c in checks.items():
                log("verify %-6s %-4s: %s" % (name, attempt, "OK" if c["ok"] else
                                              "PROBLEMS: " + "; ".join(c["problems"])))

    def check_invite(self, call, hits, kdir, name, attempt):
        problems = []
        if not call.ok:
            problems.append("call failed")
        if not hits:
            return {"ok": False, "problems": problems + ["no INVITE at the PSAP"]}
        m = hits[0].msg
        with open(os.path.join(self.workdir, "invite-%s-%s.txt" % (name, attempt)), "wb") as f:
            f.write(hits[0].raw)
        if "@%s:" % HOST not in (m.ruri or ""):
            problems.append("R-URI %s" % m.ruri)
        if (m.header("Priority") or "").strip().lower() != "emergency":
            problems.append("Priority %r" % m.header("Priority"))
        pai = m.header("P-Asserted-Identity") or ""
        if "+1312" not in pai:
            problems.append("P-Asserted-Identity %r" % pai)
        geo = (m.header("Geolocation") or "").strip()
        cm = re.match(r"^<cid:([^>]+)>", geo)
        if not cm:
            problems.append("Geolocation %r" % geo)
        try:
            mp = m.multipart()
            types = [p.content_type for p in mp.parts]
            if types != ["application/sdp", "application/pidf+xml"]:
                problems.append("parts %s" % types)
            if mp.parts and mp.parts[0].body != T.UAC_SDP:
                problems.append("SDP part differs from what the caller sent")
            pidf = mp.by_type("application/pidf+xml")
            if cm and (not pidf or pidf[0].content_id != cm.group(1)):
                problems.append("Content-ID does not match the Geolocation cid")
            if pidf:
                ok, txt = T.xmllint_validate(pidf[0].body, workdir=kdir)
                if not ok:
                    problems.append("PIDF-LO does not validate: %s" % txt.strip()[:200])
                civ = T.pidf_civic(pidf[0].body)
                if not civ or ("HNO", "100") not in civ[0]:
                    problems.append("civic address missing")
                if not T.pidf_positions(pidf[0].body):
                    problems.append("no geo position")
        except ValueError as e:
            problems.append("body: %s" % e)
        if not m.content_length_ok():
            problems.append("Content-Length")
        return {"ok": not problems, "problems": problems, "bytes": len(hits[0].raw)}

    # -- 1. CPU per 1000 calls ----------------------------------------------
    def cpu(self):
        q = self.quick
        reps = self.args.repeats or (1 if q else 5)
        rate = 100
        n = 100 if q else 800
        nwarm = 20 if q else 100
        idle_s = 0.5 if q else 2.0
        rows = {}
        for rep in range(reps):
            for key in ("a", "b", "c"):
                p = Proxy(self, key, tag="-cpu%d" % rep).start()
                try:
                    self.locsvc.control("normal", 0)
                    warm = self.warm_keys(nwarm)
                    self.prime(p, warm)
                    time.sleep(0.5)
                    c0, _ = p.cpu()
                    time.sleep(idle_s)
                    c1, _ = p.cpu()
                    idle_rate = (c1 - c0) / idle_s
                    kinds = [("warm", 0)] if key == "c" else [("warm", 0), ("cold0", 0), ("cold20", 20)]
                    for kind, lat in kinds:
                        self.locsvc.control("normal", lat)
                        keys = (warm * (n // nwarm + 1))[:n] if kind == "warm" else self.keys(n)
                        s0 = self.locsvc.stats()["requests"]
                        t0 = time.monotonic()
                        b0, k0 = p.cpu()
                        r = UacRun(self, p.port, keys, rate, n, located=True,
                                   tag="cpu-%s-%s" % (p.name, kind)).run()
                        b1, k1 = p.cpu()
                        dt = time.monotonic() - t0
                        http = self.locsvc.stats()["requests"] - s0
                        ok = max(1, r["ok"])
                        cpu_ms = (b1 - b0 - idle_rate * dt) / 1e6
                        row = {"rep": rep, "cpu_ms_per_1000": cpu_ms * 1000.0 / ok,
                               "cpu_ms_per_1000_raw": (b1 - b0) / 1e6 * 1000.0 / ok,
                               "ticks_ms_per_1000": (k1 - k0) * 10.0 * 1000.0 / ok,
                               "idle_ms_per_s": idle_rate / 1e6, "ok": r["ok"],
                               "failed": r["failed"], "http": http,
                               "rtt": rtt_summary(r["rtt_ms"])}
                        rows.setdefault(p.name, {}).setdefault(kind, []).append(row)
                        log("cpu rep %d %-6s %-6s %7.1f ms/1000 calls (raw %.1f, ticks %.0f) "
                            "ok %d failed %d http %d setup med %.2f ms p99 %.2f ms" % (
                                rep, p.name, kind, row["cpu_ms_per_1000"],
                                row["cpu_ms_per_1000_raw"], row["ticks_ms_per_1000"],
                                r["ok"], r["failed"], http,
                                row["rtt"].get("median") or -1, row["rtt"].get("p99") or -1))
                    self.locsvc.control("normal", 0)
                finally:
                    p.stop()
        summ = {}
        for name, kinds in rows.items():
            for kind, rs in kinds.items():
                v = [r["cpu_ms_per_1000"] for r in rs]
                rt = [x for r in rs for x in ([r["rtt"]["median"]] if r["rtt"].get("n") else [])]
                p99 = [r["rtt"]["p99"] for r in rs if r["rtt"].get("n")]
                summ.setdefault(name, {})[kind] = {
                    "cpu_ms_per_1000_median": med(v), "cpu_spread": spread(v),
                    "setup_ms_median": med(rt), "setup_ms_p99_median": med(p99),
                    "failed": sum(r["failed"] for r in rs)}
        self.results["cpu"] = {"rows": rows, "summary": summ, "rate": rate, "calls": n}

    # -- 1b. ordinary calls (issue 19) -----------------------------------------
    def ordinary(self):
        """CPU per 1000 ordinary (non-emergency) calls: the reference cfg (b), the stock
        configuration (a), the stock configuration with e911.so loaded but never called
        (m), the plain relay (c); every Kamailio process, idle rate subtracted,
        configurations interleaved (the order reversed every other repeat). The same
        load as issue 19's report: 2500 calls at 500 calls/s."""
        q = self.quick
        reps = self.args.repeats or (1 if q else 5)
        rate = 100 if q else 500
        n = 200 if q else 2500
        idle_s = 0.5 if q else 2.0
        keys = (self.warm_keys(50) * (n // 50 + 1))[:n]
        rows = {}
        for rep in range(reps):
            order = ("a", "m", "b", "c") if rep % 2 == 0 else ("c", "b", "m", "a")
            for key in order:
                p = Proxy(self, key, tag="-ord%d" % rep).start()
                try:
                    time.sleep(1.0)
                    c0, _ = p.cpu()
                    time.sleep(idle_s)
                    c1, _ = p.cpu()
                    idle_rate = (c1 - c0) / idle_s
                    t0 = time.monotonic()
                    b0, _ = p.cpu()
                    r = UacRun(self, p.port, keys, rate, n, service=ORDINARY_NUMBER,
                               ruri_port=self.psap.port, tag="ord-%s" % p.name,
                               trace=False).run()
                    b1, _ = p.cpu()
                    dt = time.monotonic() - t0
                    ok = max(1, r["ok"])
                    row = {"rep": rep, "cpu_ms_per_1000": (b1 - b0 - idle_rate * dt) / 1e6 * 1000.0 / ok,
                           "cpu_ms_per_1000_raw": (b1 - b0) / 1e6 * 1000.0 / ok,
                           "idle_ms_per_s": idle_rate / 1e6, "ok": r["ok"], "failed": r["failed"]}
                    rows.setdefault(p.name, []).append(row)
                    log("ordinary rep %d %-10s %7.1f ms/1000 calls (raw %.1f, idle %.2f ms/s) "
                        "ok %d failed %d" % (rep, p.name, row["cpu_ms_per_1000"],
                                             row["cpu_ms_per_1000_raw"], row["idle_ms_per_s"],
                                             r["ok"], r["failed"]))
                finally:
                    p.stop()
        summ = {}
        for name, rs in rows.items():
            v = [r["cpu_ms_per_1000"] for r in rs]
            summ[name] = {"cpu_ms_per_1000_median": med(v), "cpu_spread": spread(v),
                          "failed": sum(r["failed"] for r in rs)}
        # per repeat, side by side: the ratios of the same repeat, then their median
        ratios = {}
        for name in rows:
            rr = [x["cpu_ms_per_1000"] / y["cpu_ms_per_1000"]
                  for x, y in zip(rows[name], rows.get("stock", []))
                  if y["cpu_ms_per_1000"] > 0]
            ratios[name] = {"median": med(rr), "spread": spread(rr)}
        self.results["ordinary"] = {"rows": rows, "summary": summ, "ratio_to_stock": ratios,
                                    "rate": rate, "calls": n}
        log("ordinary calls, CPU per call / stock (median of repeats): %s" % ", ".join(
            "%s %.3f" % (k, v["median"]) for k, v in sorted(ratios.items()) if v["median"]))

    # -- 2. instructions per call ---------------------------------------------
    def callgrind(self):
        """Instructions per call. Kamailio runs under callgrind (every process); after
        priming, the counters of all its processes are zeroed (callgrind_control -z),
        then dumped after an idle window, after N warm calls and after N miss calls
        of the same duration (callgrind_control -d): start-up, shut-down and the
        priming are never counted, and the idle window (timers, fetcher and
        housekeeper wake-ups) is subtracted from each call window."""
        q = self.quick
        keys_ = ("b",) if q else ("a", "m", "b", "c")
        kinds_ = {"a": ("warm", "miss", "ordinary"), "b": ("warm", "miss", "ordinary"),
                  "c": ("warm", "ordinary"), "m": ("ordinary",)}
        out, per, prof = {}, {}, {}
        for key in keys_:
            name, run = self._cg_measure(key, ("warm", "ordinary") if q else kinds_[key])
            out[name] = run
            self._cg_per_call(name, out[name], per, prof, annotate=not q)
            if name == "relay" and "warm" in per.get(name, {}):
                per[name]["miss"] = per[name]["warm"]
        self.results["callgrind"] = {"runs": out, "per_call": per, "calls": 10 if q else 200,
                                     "rate": 10 if q else 40,
                                     "top_functions": prof}

    # -- 2b. where the reference cfg's instructions go (issue 19) ----------------
    def cfgcost(self):
        """Instructions per call of cfg/kamailio.cfg as shipped and of variants that
        each leave out one statement or setting (CFG_ABLATIONS), for ordinary calls,
        cached emergency calls and misses: what each costs is the difference. The
        Debian binaries are stripped (static functions have no names in a profile),
        so the cost of a cfg statement is measured by taking it out, not by symbol."""
        q = self.quick
        with open(CONFIGS["b"][1]) as f:
            base = f.read()
        kinds = ("ordinary",) if q else tuple(self.args.cfgcost_kinds.split(","))
        variants = [("as shipped", base)]
        pick = [CFG_ABLATIONS[int(i)] for i in self.args.cfgcost_only.split(",")] \
            if self.args.cfgcost_only else CFG_ABLATIONS
        for label, *pairs in (CFG_ABLATIONS[:1] if q else pick):
            pair = next((pr for pr in pairs if pr[0] in base), None)
            if pair is None:
                log("cfgcost: '%s': not in cfg/kamailio.cfg, skipped" % label)
                continue
            variants.append((label, base.replace(pair[0], pair[1], 1)))
        per, runs = {}, {}
        for i, (label, text) in enumerate(variants):
            path = os.path.join(self.workdir, "cfgcost-%d.cfg" % i)
            with open(path, "w") as f:
                f.write(text)
            name, run = self._cg_measure("b", kinds, cfg=path, name="cfgcost%d" % i)
            self._cg_per_call(name, run, per, {}, annotate=False)
            runs[label] = {k: per[name].get(k) for k in kinds}
        shipped = runs["as shipped"]
        table = []
        for label, v in runs.items():
            table.append({"variant": label, "per_call": v,
                          "saves": {k: (shipped[k] - v[k]) if (shipped[k] and v[k]) else None
                                    for k in kinds}})
            log("cfgcost %-45s %s" % (label, "  ".join(
                "%s %.0f (%+.0f)" % (k, v[k] or 0, -(table[-1]["saves"][k] or 0)) for k in kinds)))
        self.results["cfgcost"] = {"kinds": kinds, "table": table}

    def _cg_measure(self, key, kinds, cfg=None, name=None, tag="-cg"):
        """One configuration under callgrind: prime, zero, idle window, then one
        window per kind (warm: cached emergency calls, miss: emergency calls of
        new callers, ordinary: non-emergency calls), each dumped separately."""
        q = self.quick
        n = 10 if q else 200
        rate = 10 if q else 40
        nwarm = 5 if q else 10
        dur = n / float(rate)
        # each window lasts until tm has freed its calls' transactions (wait_timer,
        # 5 s after the final reply), so no window pays for the one before it
        win = dur + 6.5

        def ctl(args, pids):
            r = subprocess.run(["callgrind_control"] + args + [str(x) for x in pids],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            return r.stdout.decode("utf-8", "replace")

        p = Proxy(self, key, tag=tag, valgrind=True, cfg=cfg, name=name)
        try:
            p.start()
            warm = ["bcgw%s%d" % (key, i) for i in range(nwarm)]
            self.prime(p, warm, rate=5)
            time.sleep(1.0)
            pids = kam_pids(p.leader())
            roles = {}
            for m in re.finditer(r"PID:\s*(\d+)\s*\n\s*DSC:\s*([^\n]*)", p.kamcmd("core.psx")):
                roles[int(m.group(1))] = m.group(2).strip()
            ctl(["-z"], pids)
            t0 = time.monotonic()
            time.sleep(win)
            ctl(["-d", "idle"], pids)
            idle_s = time.monotonic() - t0
            res = {}
            for kind in kinds:
                keys = (warm * (n // nwarm + 1))[:n] if kind != "miss" else self.keys(n)
                t0 = time.monotonic()
                ordinary = dict(service=ORDINARY_NUMBER, ruri_port=self.psap.port) \
                    if kind == "ordinary" else {}
                r = UacRun(self, p.port, keys, rate, n, tag="cg-%s-%s" % (p.name, kind),
                           recv_timeout_ms=10000, trace=False, **ordinary).run()
                left = win - (time.monotonic() - t0)
                if left > 0:
                    time.sleep(left)
                ctl(["-d", kind], pids)
                res[kind] = (r, time.monotonic() - t0)
        finally:
            p.stop()
        run = {"idle_s": idle_s, "dir": p.dir, "roles": sorted(set(roles.values())),
               "pid_roles": {str(k): v for k, v in roles.items()}}
        for kind, (r, secs) in res.items():
            run[kind] = {"ok": r["ok"], "failed": r["failed"], "seconds": secs}
        return p.name, run

    @staticmethod
    def _cg_parts(d, reason):
        """{pid: file} of the dump with that reason (one file per process)."""
        got = {}
        for f in glob.glob(os.path.join(d, "callgrind.out.*.*")):
            with open(f, "rb") as fh:
                head = fh.read(4096)
            if re.search(rb"Trigger: (?:dump |Client Request: )" + reason.encode() + rb"\b", head):
                got[int(os.path.basename(f).split(".")[2])] = f
        return got

    def _cg_per_call(self, name, run, per, prof, annotate=True):
        """Instructions per call of one configuration from its dumps: per process,
        (call window - idle window x duration ratio), never below 0 (a process's
        periodic tick that fell into the idle window but not into the call window,
        or callgrind charging a process blocked across the zeroing, cannot make
        calls cheaper), summed over the processes, divided by the calls.
        Periodic cache maintenance (CG_BACKGROUND_*) is left out of both windows
        and reported as background instructions per second."""
        idle = self._cg_parts(run["dir"], "idle")
        roles = run.get("pid_roles", {})

        def split(pid, f):
            """(per-call part, background part) of one process's dump."""
            w = callgrind_total_file(f)
            if roles.get(str(pid)) in CG_BACKGROUND_ROLES:
                return 0, w
            bg = callgrind_inclusive(f, CG_BACKGROUND_FUNCS)
            return w - bg, bg

        idle_parts = {pid: split(pid, f) for pid, f in idle.items()}
        bg_ir = sum(b for _, b in idle_parts.values())
        bg_s = run["idle_s"]
        for kind in ("warm", "miss", "ordinary"):
            if kind not in run:
                continue
            win = self._cg_parts(run["dir"], kind)
            scale = run[kind]["seconds"] / run["idle_s"]
            ok = max(1, run[kind]["ok"])
            tot, raw, idle_tot = 0.0, 0, 0
            for pid, f in win.items():
                w, bg = split(pid, f)
                bg_ir += bg
                i = idle_parts[pid][0] * scale if pid in idle_parts else 0
                raw += w
                idle_tot += i
                tot += max(0.0, w - i)
            bg_s += run[kind]["seconds"]
            per.setdefault(name, {})[kind] = tot / ok
            run[kind].update({"window_Ir": raw, "idle_part_Ir": idle_tot})
            log("callgrind %-10s %-8s %.0f instructions per call (window %d Ir, idle part %d Ir, "
                "%d ok, %d failed)" % (name, kind, tot / ok, raw, idle_tot, run[kind]["ok"],
                                      run[kind]["failed"]))
            if annotate:
                fi = callgrind_functions(list(idle.values()))
                fr = callgrind_functions(list(win.values()))
                diff = {f: (fr.get(f, 0) - fi.get(f, 0) * scale) / float(ok) for f in fr}
                prof.setdefault(name, {})[kind] = sorted(diff.items(), key=lambda kv: -kv[1])[:25]
        if "idle" in run or idle:
            run["idle_Ir_per_s"] = sum(callgrind_total_file(f) for f in idle.values()) / run["idle_s"]
        run["background_Ir_per_s"] = bg_ir / bg_s if bg_s > 0 else 0.0
        log("callgrind %-6s background cache maintenance %.0f Ir/s" % (
            name, run["background_Ir_per_s"]))

    # -- 3. highest sustained call rate -----------------------------------------
    def rate(self):
        """Warm-cache emergency calls at stepped rates; each step runs the three
        configurations interleaved, `reps` times (a b c a b c); the failed share of a
        step is the median over its repeats. Sustained = every step up to it < 1 %."""
        q = self.quick
        rates = [200] if q else [250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 3500, 4000]
        if self.args.rates:
            rates = [int(x) for x in self.args.rates.split(",")]
        reps = 1 if q else 2
        step_s = 1.0 if q else 4.0
        proxies = {k: Proxy(self, k, tag="-rate").start() for k in ("a", "b", "c")}
        nwarm = 200
        curve = {}
        try:
            self.locsvc.control("normal", 0)
            for k, p in proxies.items():
                self.prime(p, self.warm_keys(nwarm), rate=100)
            done = set()
            for r in rates:
                fails = {}
                for rep in range(reps):
                    for k in ("a", "b", "c"):
                        if k in done:
                            continue
                        p = proxies[k]
                        n = int(r * step_s)
                        keys = (self.warm_keys(nwarm) * (n // nwarm + 1))[:n]
                        res = UacRun(self, p.port, keys, r, n, located=True, recv_timeout_ms=3000,
                                     tag="rate-%s-%d" % (p.name, r), trace=False).run()
                        fails.setdefault(k, []).append(res["failed_pct"])
                        log("rate %-6s %5d cps (rep %d): %5.2f %% failed (%d of %d)" % (
                            p.name, r, rep, res["failed_pct"], res["failed"], n))
                        time.sleep(0.5)
                for k, fl in fails.items():
                    curve.setdefault(CONFIGS[k][0], []).append({
                        "rate": r, "failed_pct": med(fl), "runs": fl})
                    if med(fl) > 20:
                        done.add(k)
        finally:
            for p in proxies.values():
                p.stop()
        best = {name: best_rate(pts) for name, pts in curve.items()}
        self.results["rate"] = {"curve": curve, "best": best, "step_s": step_s, "reps": reps,
                                "max_tried": rates[-1]}
        log("rate: highest sustained (< 1 %% failed): %s" % best)

    # -- 4. set-up times with the service hung ----------------------------------
    def setup(self):
        q = self.quick
        ncached = 10 if q else 100
        nmiss = 5 if q else 40
        out = {}
        for key in (("a", "b") if q else ("a", "b", "s")):
            name = CONFIGS[key][0]
            # breaker open (b, s) / hung service (a): cached and fallback calls
            p = Proxy(self, key, tag="-hung").start()
            try:
                self.locsvc.control("normal", 0)
                warm = self.warm_keys(20)
                self.prime(p, warm)
                self.locsvc.control("hang", 0)
                # trip the breaker: misses that time out (E911_TIMEOUT_MS each)
                trip = UacRun(self, p.port, self.keys(4), 8, 4, tag="trip-" + name).run()
                cached = UacRun(self, p.port, (warm * ncached)[:ncached], 20, ncached,
                                tag="hung-cached-" + name).run()
                fb = UacRun(self, p.port, self.keys(nmiss), 10, nmiss,
                            tag="hung-fallback-" + name, recv_timeout_ms=8000).run()
                out.setdefault(name, {})["breaker_cached"] = dict(rtt_summary(cached["rtt_ms"]),
                                                                  failed=cached["failed"])
                out[name]["breaker_fallback"] = dict(rtt_summary(fb["rtt_ms"]), failed=fb["failed"])
                out[name]["trip"] = dict(rtt_summary(trip["rtt_ms"]), failed=trip["failed"])
                log("hung %-9s trip med %.0f ms; then cached med %.2f p99 %.2f ms; fallback med "
                    "%.2f p99 %.2f ms (failed %d)" % (
                        name, out[name]["trip"].get("median") or -1,
                        out[name]["breaker_cached"].get("median") or -1,
                        out[name]["breaker_cached"].get("p99") or -1,
                        out[name]["breaker_fallback"].get("median") or -1,
                        out[name]["breaker_fallback"].get("p99") or -1, fb["failed"]))
            finally:
                self.locsvc.control("normal", 0)
                p.stop()
            # storm: hung misses at 20 cps and cached calls at 20 cps at the same time
            p = Proxy(self, key, tag="-storm").start()
            try:
                warm = self.warm_keys(20)
                self.prime(p, warm)
                self.locsvc.control("hang", 0)
                nst = 10 if q else 80
                storm = UacRun(self, p.port, self.keys(nst), 20, nst, tag="storm-" + name,
                               recv_timeout_ms=8000).start()
                time.sleep(0.3)
                nc = int(20 * (nst / 20.0 - 0.5))
                cached = UacRun(self, p.port, (warm * nc)[:nc], 20, nc,
                                tag="storm-cached-" + name).run()
                st = storm.wait()
                out[name]["storm_cached"] = dict(rtt_summary(cached["rtt_ms"]),
                                                 failed=cached["failed"])
                out[name]["storm_misses"] = dict(rtt_summary(st["rtt_ms"]), failed=st["failed"])
                log("storm %-9s cached med %.2f p99 %.2f max %.2f ms (failed %d); hung misses "
                    "med %.0f ms (failed %d)" % (
                        name, out[name]["storm_cached"].get("median") or -1,
                        out[name]["storm_cached"].get("p99") or -1,
                        out[name]["storm_cached"].get("max") or -1, cached["failed"],
                        out[name]["storm_misses"].get("median") or -1, st["failed"]))
            finally:
                self.locsvc.control("normal", 0)
                p.stop()
        self.results["setup"] = out

    # -- 5. cold cache, sync vs non-blocking --------------------------------------
    def async_(self):
        q = self.quick
        # the same steps at both latencies: at 200 ms the module keeps 10x as many
        # lookups in flight (Little's law) and should follow the 20 ms curve
        # (issue 19); the steps go past the 20 ms curve's top
        steps = [100, 200, 400, 600, 800, 1000, 1200, 1400, 1700, 2000, 2400, 2800, 3200]
        plan = {20: [100] if q else steps, 200: [100] if q else steps}
        step_s = 1.0 if q else 4.0
        out = {}
        for lat, rates in plan.items():
            proxies = {}
            try:
                for k in ("s", "b", "a"):
                    proxies[k] = Proxy(self, k, tag="-async%d" % lat).start()
                self.locsvc.control("normal", lat)
                done = set()
                for r in rates:
                    for k in ("s", "b", "a"):
                        if k in done:
                            continue
                        p = proxies[k]
                        n = int(r * step_s)
                        import urllib.request
                        with urllib.request.urlopen(urllib.request.Request(
                                self.locsvc.base + "/_reset", data=b"{}", method="POST"),
                                timeout=5) as rr:
                            rr.read()                   # the service's peak counter
                        self.locsvc.control("normal", lat)
                        c0, l0, w0 = (p.cpu()[0], cpu_ns(self.locsvc.pid())[0],
                                      time.monotonic())
                        res = UacRun(self, p.port, self.keys(n), r, n, located=True,
                                     recv_timeout_ms=4000, tag="async-%s-%d-%d" % (p.name, lat, r)).run()
                        wall = max(1e-3, time.monotonic() - w0)
                        # where the time went: Kamailio's and the service's CPU (share of
                        # one core over the step), the service's peak requests in hand
                        kam_cpu = (p.cpu()[0] - c0) / 1e9 / wall
                        svc_cpu = (cpu_ns(self.locsvc.pid())[0] - l0) / 1e9 / wall
                        peak = self.locsvc.stats().get("peak_inflight")
                        out.setdefault(str(lat), {}).setdefault(p.name, []).append({
                            "rate": r, "failed_pct": res["failed_pct"], "ok": res["ok"],
                            "setup": rtt_summary(res["rtt_ms"]), "kamailio_cpu": round(kam_cpu, 2),
                            "locsvc_cpu": round(svc_cpu, 2), "locsvc_peak_inflight": peak})
                        log("cold %3d ms %-9s %4d cps: %5.2f %% failed, setup med %.1f p99 %.1f ms; "
                            "CPU kamailio %.2f locsvc %.2f; service peak in flight %s" % (
                                lat, p.name, r, res["failed_pct"],
                                rtt_summary(res["rtt_ms"]).get("median") or -1,
                                rtt_summary(res["rtt_ms"]).get("p99") or -1, kam_cpu, svc_cpu, peak))
                        if res["failed_pct"] > 20:
                            done.add(k)
                        time.sleep(0.3)
            finally:
                self.locsvc.control("normal", 0)
                for p in proxies.values():
                    p.stop()
        best = {lat: {name: best_rate(pts) for name, pts in cfgs.items()}
                for lat, cfgs in out.items()}
        ratio = None
        b20, b200 = best.get("20", {}).get("e911"), best.get("200", {}).get("e911")
        if b20 and b200 is not None:
            ratio = round(b200 / float(b20), 2)
        self.results["async"] = {"curve": out, "best": best, "step_s": step_s,
                                 "e911_ratio_200_20": ratio}
        log("cold-cache located calls/s (< 1 %% failed): %s; e911 200 ms / 20 ms = %s" % (
            best, ratio))

    # -- 6. shm per cached record (running proxy) ---------------------------------
    def shm(self):
        n = 200 if self.quick else 5000
        out = {}
        for key in ("a", "b"):
            p = Proxy(self, key, tag="-shm").start()
            try:
                wait = 1.0 if self.quick else 6.5   # tm wait timer: transactions gone
                self.prime(p, self.warm_keys(10))
                time.sleep(wait)
                u0 = p.shm_used()
                pr = self.prime(p, self.keys(n), rate=200)
                time.sleep(wait)
                u1 = p.shm_used()
                ok = max(1, pr["ok"])       # a failed call cached nothing
                if u0 is not None and u1 is not None:
                    out[p.name] = (u1 - u0) / float(ok)
                    log("shm %-6s %.0f bytes per cached record (%d records)" % (p.name, out[p.name], ok))
            finally:
                p.stop()
        self.results["shm"] = out

    # -- 7. the cache micro-benchmark ---------------------------------------------
    def cache(self):
        exe = os.path.join(BUILD, "test", "e911_cache_bench")
        if not os.path.exists(exe):
            subprocess.run(["cmake", "--build", BUILD, "--target", "e911_cache_bench"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=600)
        r = subprocess.run([exe] + (["--smoke"] if self.quick else []), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=900)
        text = r.stdout.decode("utf-8", "replace")
        rows, cols = {}, None
        for ln in text.splitlines():
            if not ln.startswith("|"):
                continue
            cells = [c.strip() for c in ln.strip().strip("|").split("|")]
            if cells and cells[0] == "entries":
                cols = cells
                continue
            if cols and cells and cells[0].isdigit():
                row = {}
                for name, val in zip(cols[1:], cells[1:]):
                    try:
                        row[name] = float(val)
                    except ValueError:
                        row[name] = None
                # the lookup column: "ns/lookup" or "ns/lookup (median)"
                row["lookup_ns"] = next((v for k, v in row.items() if k.startswith("ns/lookup")),
                                        None)
                rows[cells[0]] = row
        self.results["cache"] = {"rc": r.returncode, "rows": rows, "text": text}
        log("cache micro-benchmark (rc %d):\n%s" % (r.returncode, text.strip()))

    # -- 8. can the location service keep up? ---------------------------------------
    def locsvc_capacity(self):
        """Server CPU per request and requests/s of the reference service
        (test/locsvc/locsvc.py, thread per connection) and of bench_locsvc.py, each
        driven by two keep-alive curl clients (URL globbing: one connection each)."""
        n = 50 if self.quick else 500
        with open(TEMPLATE) as f:
            tpl = f.read().replace("{PSAP_PORT}", str(self.psap.port))
        recs = {}
        for i in range(2 * n):
            k = "bl%d" % i
            recs[k] = json.loads(tpl.replace("{KEY}", k).replace("{N}", "%07d" % i))
        rpath = os.path.join(self.workdir, "locsvc-records.json")
        with open(rpath, "w") as f:
            json.dump(recs, f)
        out = {}
        for name in ("reference", "bench"):
            port = T.free_port(udp=False)
            if name == "reference":
                cmd = [sys.executable, T.LOCSVC_PY, "--host", HOST, "--port", str(port),
                       "--records", rpath]
            else:
                cmd = [sys.executable, os.path.join(HERE, "bench_locsvc.py"), "--port", str(port),
                       "--records", rpath, "--max-seconds", "600"]
            proc = T._track(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True))
            try:
                T.wait_tcp(port, 10, proc=proc)
                c0 = cpu_ns(proc.pid)[1]
                t0 = time.monotonic()
                curls = [subprocess.Popen(
                    ["curl", "-s", "-o", "/dev/null", "--max-time", "120",
                     "http://%s:%d/v1/locations/bl[%d-%d]" % (HOST, port, j * n, (j + 1) * n - 1)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for j in range(2)]
                for c in curls:
                    c.wait(150)
                dt = time.monotonic() - t0
                c1 = cpu_ns(proc.pid)[1]
                out[name] = {"requests": 2 * n, "seconds": round(dt, 2), "req_per_s": 2 * n / dt,
                             "cpu_us_per_request": (c1 - c0) * 10000.0 / (2 * n)}
                log("location service %-9s: %.0f req/s over 2 keep-alive clients, %.0f us CPU "
                    "per request" % (name, out[name]["req_per_s"], out[name]["cpu_us_per_request"]))
                if name == "bench":
                    # the service's own latency at 20 ms, as a keep-alive client sees it
                    self._req_ctl(port, {"mode": "normal", "latency_ms": 20})
                    r = subprocess.run(
                        ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}\\n", "--max-time", "60",
                         "http://%s:%d/v1/locations/bl[0-%d]" % (HOST, port, 19 if self.quick else 199)],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=90)
                    ts = [float(x) * 1000 for x in r.stdout.decode().split()]
                    out["latency20_ms"] = rtt_summary(ts[1:])
                    log("location service at latency 20 ms, seen by a keep-alive client: median "
                        "%.2f ms, p90 %.2f ms" % (out["latency20_ms"].get("median") or -1,
                                                   out["latency20_ms"].get("p90") or -1))
            finally:
                T.stop_process(proc, term_timeout=3)
        self.results["locsvc"] = out

    @staticmethod
    def _req_ctl(port, obj):
        import urllib.request
        req = urllib.request.Request("http://%s:%d/_control" % (HOST, port), method="POST",
                                     data=json.dumps(obj).encode())
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    # -- output ------------------------------------------------------------------
    def plot(self, png):
        rate = self.results.get("rate")
        if not rate or not shutil.which("gnuplot"):
            return
        dat = os.path.join(self.workdir, "rate.dat")
        with open(dat, "w") as f:
            for name in ("stock", "e911", "relay"):
                f.write("# %s\n" % name)
                for pt in rate["curve"].get(name, []):
                    f.write("%d %.3f\n" % (pt["rate"], pt["failed_pct"]))
                f.write("\n\n")
        gp = os.path.join(self.workdir, "rate.gp")
        with open(gp, "w") as f:
            f.write('set terminal pngcairo size 900,540 font ",11"\n' if self._has_cairo() else
                    'set terminal png size 900,540\n')
            f.write('set output "%s"\n' % png)
            pinned = self.results.get("pin")
            f.write('set title "Emergency call rate vs failed calls (warm cache, %d cores, %s%s)"\n' % (
                os.cpu_count(), "quick" if self.quick else "full run",
                ", Kamailio on CPU %s, load on CPU %s" % tuple(pinned.split("/")) if pinned else ""))
            f.write('set xlabel "offered call rate (calls/s)"\nset ylabel "failed calls (%)"\n')
            f.write('set grid\nset key top left\nset yrange [0:*]\n')
            f.write('set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "gray"\n')
            f.write('plot "%s" index 0 with linespoints lw 2 title "(a) stock composition", '
                    '"" index 1 with linespoints lw 2 title "(b) e911 module", '
                    '"" index 2 with linespoints lw 2 title "(c) plain relay"\n' % dat)
        r = subprocess.run(["gnuplot", gp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        if r.returncode != 0:
            self.errors.append("gnuplot: %s" % r.stdout.decode()[:300])
        else:
            log("plot: %s" % png)

    @staticmethod
    def _has_cairo():
        r = subprocess.run(["gnuplot", "-e", "set terminal"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return b"pngcairo" in r.stdout

    def write(self):
        path = os.path.join(self.workdir, "results.json")
        res = json.loads(json.dumps(self.results, default=str))
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
        md = os.path.join(self.workdir, "results.md")
        with open(md, "w") as f:
            f.write(summary_markdown(self.results))
        log("results: %s and %s" % (path, md))


def ratio(x, y):
    if x is None or y is None or y == 0:
        return None
    return x / y


def fmt(x, nd=1):
    return "n/a" if x is None else ("%.*f" % (nd, x))


def summary_markdown(R):
    L = []
    cpu = R.get("cpu", {}).get("summary", {})
    cg = R.get("callgrind", {}).get("per_call", {})

    def c(name, kind):
        return cpu.get(name, {}).get(kind, {}).get("cpu_ms_per_1000_median")

    relay = c("relay", "warm")
    L.append("| measure | (a) stock | (b) e911 | (c) relay | ratio | target | met |")
    L.append("|---|---:|---:|---:|---:|---|---|")
    # warm path: added over relay
    for label, va, vb, vc, unit in (
            ("CPU ms / 1000 calls, warm", c("stock", "warm"), c("e911", "warm"), relay, ""),
            ("instructions / call, warm", cg.get("stock", {}).get("warm"),
             cg.get("e911", {}).get("warm"), cg.get("relay", {}).get("warm"), "")):
        add_a = None if va is None or vc is None else va - vc
        add_b = None if vb is None or vc is None else vb - vc
        r = ratio(add_b, add_a)
        L.append("| %s (added over relay: a %s, b %s) | %s | %s | %s | %s | ≤ 0.5 | %s |" % (
            label, fmt(add_a, 0), fmt(add_b, 0), fmt(va, 0), fmt(vb, 0), fmt(vc, 0), fmt(r, 2),
            "n/a" if r is None else ("yes" if r <= 0.5 else "NO")))
    for lat in ("cold0", "cold20"):
        va, vb = c("stock", lat), c("e911", lat)
        ma = None if va is None or c("stock", "warm") is None else va - c("stock", "warm")
        mb = None if vb is None or c("e911", "warm") is None else vb - c("e911", "warm")
        r = ratio(mb, ma)
        L.append("| CPU ms / 1000 calls, %s (miss adds over hit: a %s, b %s) | %s | %s | — | %s | "
                 "≤ 0.33 | %s |" % (lat, fmt(ma, 0), fmt(mb, 0), fmt(va, 0), fmt(vb, 0), fmt(r, 2),
                                    "n/a" if r is None else ("yes" if r <= 0.33 else "NO")))
    ia, ib = cg.get("stock", {}), cg.get("e911", {})
    ma = None if "miss" not in ia or "warm" not in ia else ia["miss"] - ia["warm"]
    mb = None if "miss" not in ib or "warm" not in ib else ib["miss"] - ib["warm"]
    r = ratio(mb, ma)
    L.append("| instructions / call, miss (miss adds over hit: a %s, b %s) | %s | %s | %s | %s | "
             "≤ 0.33 | %s |" % (fmt(ma, 0), fmt(mb, 0), fmt(ia.get("miss"), 0),
                                fmt(ib.get("miss"), 0), fmt(cg.get("relay", {}).get("miss"), 0),
                                fmt(r, 2), "n/a" if r is None else ("yes" if r <= 0.33 else "NO")))
    # issue 19: ordinary calls, reference cfg and stock + e911.so vs stock
    ordn = R.get("ordinary", {})
    if ordn or any("ordinary" in v for v in cg.values()):
        oc = ordn.get("summary", {})
        orr = ordn.get("ratio_to_stock", {})

        def oi(name):
            return cg.get(name, {}).get("ordinary")
        for label, name, target in (("reference cfg (b) / stock (a)", "e911", 1.05),
                                    ("stock + e911.so loaded / stock", "stock+e911", 1.01)):
            ri = ratio(oi(name), oi("stock"))
            rc = orr.get(name, {}).get("median")
            L.append("| ordinary calls, %s: instructions / call %s vs %s (%s); CPU ms / 1000 "
                     "calls %s vs %s (%s, median of per-repeat ratios) | %s | %s | %s | | ≤ %.2f | %s |" % (
                         label, fmt(oi(name), 0), fmt(oi("stock"), 0), fmt(ri, 3),
                         fmt(oc.get(name, {}).get("cpu_ms_per_1000_median"), 0),
                         fmt(oc.get("stock", {}).get("cpu_ms_per_1000_median"), 0), fmt(rc, 3),
                         fmt(oi("stock"), 0), fmt(oi(name), 0), fmt(oi("relay"), 0), target,
                         "n/a" if ri is None else ("yes" if ri <= target else "NO")))
    runs = R.get("callgrind", {}).get("runs", {})

    def bg(name):
        return runs.get(name, {}).get("background_Ir_per_s")
    if any(bg(n) is not None for n in ("stock", "e911", "relay")):
        L.append("| background cache maintenance, instructions / s (htable timer; e911 "
                 "housekeeper) | %s | %s | %s | | | |" % (fmt(bg("stock"), 0), fmt(bg("e911"), 0),
                                                          fmt(bg("relay"), 0)))
    rate = R.get("rate", {}).get("best", {})
    r = ratio(rate.get("e911"), rate.get("relay"))
    L.append("| highest sustained call rate, cps (< 1 %% failed) | %s | %s | %s | %s | ≥ 0.95 | %s |" % (
        rate.get("stock", "n/a"), rate.get("e911", "n/a"), rate.get("relay", "n/a"), fmt(r, 2),
        "n/a" if r is None else ("yes" if r >= 0.95 else "NO")))

    def s(name, kind, field="median"):
        return cpu.get(name, {}).get(kind, {}).get("setup_ms_" + field if field != "median"
                                                   else "setup_ms_median")
    L.append("| set-up ms, cached (median / p99) | %s / %s | %s / %s | %s / %s | | | |" % (
        fmt(s("stock", "warm"), 2), fmt(s("stock", "warm", "p99_median"), 2),
        fmt(s("e911", "warm"), 2), fmt(s("e911", "warm", "p99_median"), 2),
        fmt(s("relay", "warm"), 2), fmt(s("relay", "warm", "p99_median"), 2)))
    sb = s("e911", "cold20")
    rl = s("relay", "warm")
    # the service's own latency at latency_ms=20, as a keep-alive HTTP client sees it
    # (locsvc phase; asyncio's sleep overshoots a little), else the nominal 20 ms
    svc = R.get("locsvc", {}).get("latency20_ms", {}).get("median")
    svc_label = "%.2f ms (measured)" % svc if svc else "20 ms"
    svc = svc or 20.0
    over = None if sb is None or rl is None else sb - svc - rl
    L.append("| set-up ms, miss at 20 ms service latency (median / p99) | %s / %s | %s / %s | — | "
             "b − service %s − relay = %s | ≤ 1 ms | %s |" % (
                 fmt(s("stock", "cold20"), 2), fmt(s("stock", "cold20", "p99_median"), 2),
                 fmt(sb, 2), fmt(s("e911", "cold20", "p99_median"), 2), svc_label, fmt(over, 2),
                 "n/a" if over is None else ("yes" if over <= 1 else "NO")))
    st = R.get("setup", {})
    for kind, label in (("breaker_cached", "service hung, breaker open: cached calls"),
                        ("breaker_fallback", "service hung, breaker open: fallback calls"),
                        ("storm_cached", "cached calls during a storm of hung misses")):
        va = st.get("stock", {}).get(kind, {})
        vb = st.get("e911", {}).get(kind, {})
        vs = st.get("e911-sync", {}).get(kind, {})
        met = None
        if vb.get("p99") is not None:
            met = vb["p99"] <= 50 and not vb.get("failed")
        L.append("| %s, set-up ms median / p99 (sync e911: %s / %s) | %s / %s | %s / %s | — | | "
                 "≤ 50 ms | %s |" % (label, fmt(vs.get("median"), 1), fmt(vs.get("p99"), 1),
                                     fmt(va.get("median"), 1), fmt(va.get("p99"), 1),
                                     fmt(vb.get("median"), 1), fmt(vb.get("p99"), 1),
                                     "n/a" if met is None else ("yes" if met else "NO")))
    shm = R.get("shm", {})
    cache = R.get("cache", {}).get("rows", {})
    big = cache.get("1000000") or (cache[max(cache, key=int)] if cache else {})
    L.append("| shm bytes per cached record, running proxy | %s | %s | — | | ≤ 1536 | %s |" % (
        fmt(shm.get("stock"), 0), fmt(shm.get("e911"), 0),
        "n/a" if shm.get("e911") is None else ("yes" if shm["e911"] <= 1536 else "NO")))
    if big and big.get("lookup_ns") is not None:
        L.append("| cache lookup ns at %s entries (micro-benchmark) | — | %s | — | | ≤ 1000 | %s |" % (
            "10^6" if "1000000" in cache else max(cache, key=int), fmt(big["lookup_ns"], 0),
            "yes" if big["lookup_ns"] <= 1000 else "NO"))
    asy = R.get("async", {}).get("best", {})
    for lat in sorted(asy, key=int):
        b = asy[lat]
        L.append("| cold cache, %s ms service latency: located calls/s (< 1 %% failed); sync e911 %s | "
                 "%s | %s | — | | | |" % (lat, b.get("e911-sync", "n/a"), b.get("stock", "n/a"),
                                           b.get("e911", "n/a")))
    r = R.get("async", {}).get("e911_ratio_200_20")
    if r is not None:
        L.append("| cold cache: located calls/s at 200 ms ÷ at 20 ms (issue 19) | — | %s | — | %s | "
                 "≥ 0.9 | %s |" % (fmt(r, 2), fmt(r, 2), "yes" if r >= 0.9 else "NO"))
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description="kamailio-e911 benchmark (issue 8)")
    ap.add_argument("--quick", action="store_true", help="everything, briefly; no timing asserted")
    ap.add_argument("--out", default=None)
    ap.add_argument("--repeats", type=int, default=0)
    ap.add_argument("--only",
                    default="verify,cpu,ordinary,callgrind,rate,setup,async,shm,cache,locsvc")
    ap.add_argument("--pin", default=None, metavar="KAM/LOAD",
                    help="CPU sets, e.g. 0/1: Kamailio on CPU 0, SIPp and the location "
                         "service on CPU 1 (Kamailio then saturates first)")
    ap.add_argument("--rates", default=None,
                    help="call rates of the rate phase, comma-separated (default: 250 .. 4000)")
    ap.add_argument("--plot", default=None, help="PNG path (default <out>/bench-rate.png)")
    ap.add_argument("--cfgcost-kinds", default="ordinary,warm,miss",
                    help="phase cfgcost: which calls to measure each variant with")
    ap.add_argument("--cfgcost-only", default="", metavar="I,J,...",
                    help="phase cfgcost: only these CFG_ABLATIONS (0-based)")
    ap.add_argument("--cfg", action="append", default=[], metavar="KEY=PATH",
                    help="another file for configuration a, b, c or m (e.g. b=old.cfg: "
                         "the reference cfg of another commit)")
    ap.add_argument("--mem", default="tlsf",
                    help="Kamailio memory manager for shm and pkg (-x): tlsf (default here), "
                         "fm, or qm (Kamailio's own default; its free-list walk dominates "
                         "every profile, see docs/benchmarks.md); '' = Kamailio's default")
    ap.add_argument("--recompute-callgrind", metavar="OUT",
                    help="re-derive the callgrind numbers of an earlier run's OUT directory")
    args = ap.parse_args()
    if args.pin:
        kam, load = args.pin.split("/")
        PIN["kam"] = {int(x) for x in kam.split(",")}
        PIN["load"] = {int(x) for x in load.split(",")}
    if args.recompute_callgrind:
        args.out = args.recompute_callgrind
        b = Bench(args)
        with open(os.path.join(args.out, "results.json")) as f:
            b.results = json.load(f)
        per, prof = {}, {}
        for name, run in b.results["callgrind"]["runs"].items():
            key = [k for k, v in CONFIGS.items() if v[0] == name][0]
            run.setdefault("dir", os.path.join(args.out, "kam", "%s-%s-cg" % (key, name)))
            b._cg_per_call(name, run, per, prof)
        if "warm" in per.get("relay", {}):
            per["relay"]["miss"] = per["relay"]["warm"]
        b.results["callgrind"].update({"per_call": per, "top_functions": prof})
        b.write()
        sys.stdout.write(summary_markdown(b.results))
        return 0
    if args.out is None:
        args.out = "/tmp/e911-bench-%s%s" % (time.strftime("%Y%m%d-%H%M%S"),
                                              "-quick" if args.quick else "")
    if not os.path.exists(os.path.join(BUILD, "modules", "e911.so")):
        sys.stderr.write("%s/modules/e911.so missing: cmake -S %s -B %s -DCMAKE_BUILD_TYPE="
                         "RelWithDebInfo && cmake --build %s -j2\n" % (BUILD, SRC, BUILD, BUILD))
        return 2
    def _stop(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    for kv in args.cfg:
        k, _, path = kv.partition("=")
        if k not in CONFIGS or not os.path.isfile(path):
            raise SystemExit("--cfg %s: KEY is one of %s, PATH a file" % (kv, ",".join(CONFIGS)))
        CONFIGS[k] = (CONFIGS[k][0], os.path.abspath(path))
        if k == "a":
            CONFIGS["m"] = (CONFIGS["m"][0], os.path.abspath(path))
    if any(kv.startswith("b=") for kv in args.cfg):
        # the synchronous variant of that file, not of the checked-in one
        import tempfile
        CONFIGS["s"] = (CONFIGS["s"][0], os.path.join(tempfile.mkdtemp(prefix="e911-bench-"),
                                                      "e911-sync.cfg"))
    make_sync_cfg(CONFIGS["s"][1])
    b = Bench(args)
    log("benchmark%s: results in %s" % (" (quick)" if args.quick else "", args.out))
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    b.results["phases"] = phases
    b.results["pin"] = args.pin
    b.results["mem"] = args.mem or "default (qm)"
    try:
        b.start()
        for ph in phases:
            fn = {"verify": b.verify, "cpu": b.cpu, "callgrind": b.callgrind, "rate": b.rate,
                  "setup": b.setup, "async": b.async_, "shm": b.shm, "cache": b.cache,
                  "locsvc": b.locsvc_capacity, "ordinary": b.ordinary,
                  "cfgcost": b.cfgcost}.get(ph)
            if fn is None:
                raise SystemExit("unknown phase %s" % ph)
            t = time.monotonic()
            try:
                fn()
            except Exception as e:      # noqa: BLE001  (a phase failing is reported)
                import traceback
                traceback.print_exc()
                b.errors.append("%s: %s" % (ph, e))
            b.results.setdefault("phase_seconds", {})[ph] = round(time.monotonic() - t, 1)
    finally:
        b.stop()
    b.plot(args.plot or os.path.join(args.out, "bench-rate.png"))
    b.results["errors"] = b.errors
    b.results["seconds"] = round(time.monotonic() - _t0, 1)
    b.write()
    sys.stdout.write("\n" + summary_markdown(b.results))
    bad_verify = [n for n, ch in b.results.get("verify", {}).items()
                  if not all(c["ok"] for c in ch.values())]
    if b.errors or bad_verify:
        log("harness problems: %s" % (b.errors + ["verify: " + ",".join(bad_verify)]
                                      if bad_verify else b.errors))
        return 1
    log("done in %.0f s" % (time.monotonic() - _t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
