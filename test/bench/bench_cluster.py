#!/usr/bin/env python3
# kamailio-e911 benchmark: replication over DMQ (issue 15). Not a timed test.
#
#   python3 test/bench/bench_cluster.py [--records 100000] [--calls 2000]
#
# 1. DMQ messages and bytes per fetched record: two nodes, N emergency calls
#    with distinct keys through node 0 (location_mode value, then both).
# 2. Join-time sync: node 0 starts with R records (from a snapshot file),
#    node 1 joins; time until its sync ends, bytes sent, peak shared memory
#    of node 1 (core.shmmem max_used before and after).
# 3. CPU per call on the warm path (cache hit), replication on (two nodes)
#    and off (one node, no WITH_DMQ): Kamailio's CPU time (schedstat of all
#    its processes) over C calls, three alternating rounds, medians.
# 4. The same in instructions (--only callgrind): node 0 under callgrind
#    (every process), counters zeroed after warming, an idle window and a
#    window of N warm calls of the same length dumped (callgrind_control),
#    per process (calls - idle), summed, per call; as run_bench.py's
#    callgrind method. Alternating rounds, medians. Deterministic to well
#    under 1 % where the CPU-time method is not (other jobs on the cores).
#
# Uses the integration harness (test/integration/e911test.py); loopback only.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import e911test as t  # noqa: E402
import test_cluster as tc  # noqa: E402
import run_bench as rb  # noqa: E402
from run_bench import cpu_ns  # noqa: E402

FNV_INIT = 0xcbf29ce484222325
FNV_PRIME = 0x100000001b3


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xffffffffffffffff
    return h


def write_snapshot(path, rec, n):
    """A snapshot file of n copies of rec under keys k0000000..."""
    now = int(time.time())
    h = FNV_INIT
    lines = [json.dumps({"e911_snapshot": 1, "written_at": now}, separators=(",", ":"))]
    for i in range(n):
        r = dict(rec, key="k%07d" % i)
        lines.append(json.dumps({"key": "k%07d" % i, "fetched_at": now, "record": r},
                                separators=(",", ":")))
    body = "".join(x + "\n" for x in lines).encode()
    h = fnv(h, body)
    with open(path, "wb") as f:
        f.write(body)
        f.write(("{\"end\":true,\"count\":%d,\"checksum\":\"%016x\"}\n" % (n, h)).encode())


def shm_max_used(node):
    out = node.rpc("core.shmmem")
    m = re.search(r"max_used:\s*(\d+)", out)
    return int(m.group(1)) if m else None


class Bench(tc.ClusterCase):
    """ClusterCase used outside unittest: setUpClass/tearDownClass by hand."""

    def runTest(self):
        pass


def cluster(name, nodes=2, cfg_defines=None, kam_args=None, value=True):
    cls = type(name, (Bench,), {"NODES": nodes})
    orig = tc.Node.defines

    def defines(self):
        d = orig(self)
        if value:
            d["E911_LOCATION_MODE"] = t.q("value")
        d.update(cfg_defines or {})
        return d
    tc.Node.defines = defines
    try:
        cls.setUpClass()
    finally:
        tc.Node.defines = orig
    return cls


def calls(port, workdir, n, caller, rate=200, distinct=False):
    """n SIPp calls at rate; distinct: keys caller0..callerN-1 (injection file)."""
    scen = os.path.join(t.SIPP_DIR, "uac_invite.xml")
    if distinct:
        with open(scen) as f:
            text = f.read().replace("[caller]", "[field0]")
        scen = os.path.join(workdir, "uac_invite_keys.xml")
        with open(scen, "w") as f:
            f.write(text)
    cmd = [t.SIPP_BIN, "%s:%d" % (t.HOST, port), "-sf", scen,
           "-i", t.HOST, "-mi", t.HOST, "-bind_local", "-p", str(t.free_port()),
           "-t", "u1", "-m", str(n), "-r", str(rate), "-l", "200", "-s", "911",
           "-key", "from_host", "e911.test", "-key", "ruri_host", "%s:%d" % (t.HOST, port),
           "-key", "expires", "3600", "-nostdin", "-timeout", "120s", "-timeout_error"]
    if distinct:
        inf = os.path.join(workdir, "keys.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for i in range(n):
                f.write("%s%d\n" % (caller, i))
        cmd += ["-inf", inf]
    else:
        cmd += ["-key", "caller", caller]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir,
                       timeout=300)
    if r.returncode != 0:
        sys.stderr.write("sipp exited %d: %s\n" % (r.returncode, r.stdout.decode()[-600:]))
    return r.returncode


def per_record(n, mode):
    c = cluster("PerRecord_" + mode, value=(mode == "value"))
    try:
        a, b = c.nodes
        recs = dict(c.env.records)
        for i in range(n):
            recs["r%d" % i] = dict(c.env.records["alice"], key="r%d" % i)
        c.env.locsvc.put_records(recs)
        s0 = a.stats()
        calls(a.port, c.env.workdir, n, "r", rate=50, distinct=True)
        time.sleep(2)
        s1, sb = a.stats(), b.stats()
        fetched = s1["cache_misses"] - s0.get("cache_misses", 0)
        msgs = s1["dmq_sent"] - s0["dmq_sent"]
        byts = s1["dmq_sent_bytes"] - s0["dmq_sent_bytes"]
        return {"mode": mode, "fetched": fetched, "messages": msgs, "bytes": byts,
                "msgs_per_record": msgs / max(fetched, 1),
                "bytes_per_record": byts / max(fetched, 1),
                "applied_on_peer": sb["dmq_applied"]}
    finally:
        c.tearDownClass()


def join_sync(n):
    import tempfile
    snap = os.path.join(tempfile.mkdtemp(prefix="e911-bench-snap-"), "snap.jsonl")
    rec = json.loads(t.render_template(open(t.RECORDS_TEMPLATE).read(),
                                       dict((ph, 5070) for ph, _ in t.PSAP_ROLES.values())))["alice"]
    write_snapshot(snap, rec, n)
    cls = type("JoinSync", (Bench,), {"NODES": 2})
    orig = tc.Node.defines

    def defines(self):
        d = orig(self)
        d["E911_LOCATION_MODE"] = t.q("value")
        d["E911_CACHE_SIZE"] = str(2 * n)
        # the bench keys are not in the service: refreshing them would turn
        # them into 404s (and removals) while the sync runs
        d["E911_REFRESH_AHEAD"] = "0"
        if self.name == "node0":
            d["E911_SNAPSHOT_FILE"] = t.q(snap)
        return d
    tc.Node.defines = defines
    orig_start = t.Kamailio.start

    def start(self):
        self.extra_args = ["-m", "1024"]
        return orig_start(self)
    t.Kamailio.start = start
    try:
        cls.setUpClass()
        a, b = cls.nodes
        entries_a = a.stats()["cache_entries"]
        b.kam.stop()
        sent0 = a.stats()["dmq_sent_bytes"]
        msgs0 = a.stats()["dmq_sent"]
        t0 = time.monotonic()
        cls.start_node(b)
        shm0 = shm_max_used(b)
        out = cls.wait_joined(b, timeout=600)
        wall = time.monotonic() - t0
        st = b.stats()
        return {"records_on_node0": entries_a, "records_synced": st["dmq_sync_records"],
                "sync_ms": st["dmq_sync_ms"], "start_to_synced_s": round(wall, 1),
                "bytes": a.stats()["dmq_sent_bytes"] - sent0,
                "messages": a.stats()["dmq_sent"] - msgs0,
                "shm_max_used_node1_before": shm0, "shm_max_used_node1_after": shm_max_used(b),
                "cluster": out.strip()[:400]}
    finally:
        t.Kamailio.start = orig_start
        tc.Node.defines = orig
        cls.tearDownClass()


def warm_cpu(ncalls, rounds):
    res = {"on": [], "off": []}
    for r in range(rounds):
        for mode in ("off", "on"):
            if mode == "on":
                c = cluster("WarmOn%d" % r)
                port, wd, leader, stop = (c.nodes[0].port, c.env.workdir,
                                          c.nodes[0].kam.proc.pid, c.tearDownClass)
            else:
                env = t.E911Env("WarmOff%d" % r, defines={"E911_LOCATION_MODE": t.q("value")})
                env.start()
                port, wd, leader, stop = env.kamailio.port, env.workdir, env.kamailio.proc.pid, env.stop
            try:
                calls(port, wd, 20, "alice", rate=50)     # warm the cache
                ns0, _ = cpu_ns(leader)
                calls(port, wd, ncalls, "alice", rate=150)
                ns1, _ = cpu_ns(leader)
                res[mode].append((ns1 - ns0) / ncalls / 1000.0)
            finally:
                stop()
    on, off = statistics.median(res["on"]), statistics.median(res["off"])
    return {"us_per_call_on": [round(x, 1) for x in res["on"]],
            "us_per_call_off": [round(x, 1) for x in res["off"]],
            "median_on": round(on, 1), "median_off": round(off, 1),
            "difference_pct": round(100.0 * (on - off) / off, 2)}


def _callgrind_node0():
    """Patches e911test.Kamailio so that the next Kamailio named "kamailio"
    (node 0, the E911Env's own) runs under callgrind; returns the undo."""
    orig = t.Kamailio.command

    def command(self):
        cmd = orig(self)
        if self.name == "kamailio":
            cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                   "--callgrind-out-file=" + os.path.join(self.workdir, "callgrind.out.%p"),
                   "--log-file=" + os.path.join(self.workdir, "valgrind.%p.log")] + cmd
        return cmd
    t.Kamailio.command = command
    return lambda: setattr(t.Kamailio, "command", orig)


def _cg_window(workdir, reason, roles):
    """{pid: (per-call Ir, background Ir)} of the dumps named reason."""
    out = {}
    for pid, f in rb.Bench._cg_parts(workdir, reason).items():
        w = rb.callgrind_total_file(f)
        if roles.get(pid) in rb.CG_BACKGROUND_ROLES:
            out[pid] = (0, w)
        else:
            bg = rb.callgrind_inclusive(f, rb.CG_BACKGROUND_FUNCS)
            out[pid] = (w - bg, bg)
    return out


def warm_callgrind(ncalls, rounds, rate=10):
    """Instructions per warm call on node 0, replication on (two nodes) and off
    (one node, no WITH_DMQ)."""
    res = {"on": [], "off": []}
    runs = []
    dur = ncalls / float(rate)
    old_scale = t.TIME_SCALE
    t.TIME_SCALE = max(t.TIME_SCALE, 8)
    try:
        for r in range(rounds):
            for mode in ("off", "on"):
                undo = _callgrind_node0()
                try:
                    if mode == "on":
                        # dmq's node pings (every 15 s in the cfg) are
                        # periodic, not per call: none fall into a window
                        c = cluster("CgOn%d" % r, cfg_defines={"DMQ_PING_INTERVAL": "3600"})
                        kam, wd, stop = c.nodes[0].kam, c.env.workdir, c.tearDownClass
                    else:
                        env = t.E911Env("CgOff%d" % r,
                                        defines={"E911_LOCATION_MODE": t.q("value")})
                        env.start()
                        kam, wd, stop = env.kamailio, env.workdir, env.stop
                finally:
                    undo()
                try:
                    calls(kam.port, wd, 20, "alice", rate=5)     # warm the cache
                    time.sleep(1.0)
                    pids = rb.kam_pids(kam.proc.pid)
                    roles = {int(m.group(1)): m.group(2).strip() for m in re.finditer(
                        r"PID:\s*(\d+)\s*\n\s*DSC:\s*([^\n]*)",
                        kam.kamcmd("core.psx", check=False).text)}
                    ctl = ["callgrind_control"]
                    subprocess.run(ctl + ["-z"] + [str(p) for p in pids],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=120)
                    t0 = time.monotonic()
                    time.sleep(dur + 1.0)
                    subprocess.run(ctl + ["-d", "idle"] + [str(p) for p in pids],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=120)
                    idle_s = time.monotonic() - t0
                    t0 = time.monotonic()
                    rc = calls(kam.port, wd, ncalls, "alice", rate=rate)
                    left = dur + 1.0 - (time.monotonic() - t0)
                    if left > 0:
                        time.sleep(left)
                    subprocess.run(ctl + ["-d", "warm"] + [str(p) for p in pids],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=120)
                    warm_s = time.monotonic() - t0
                    idle = _cg_window(wd, "idle", roles)
                    warm = _cg_window(wd, "warm", roles)
                    scale = warm_s / idle_s
                    tot = sum(max(0.0, w - idle.get(pid, (0, 0))[0] * scale)
                              for pid, (w, _) in warm.items())
                    per = tot / ncalls
                    res[mode].append(per)
                    runs.append({"mode": mode, "round": r, "sipp_rc": rc,
                                 "per_call_Ir": round(per),
                                 "window_Ir": sum(w for w, _ in warm.values()),
                                 "idle_Ir": sum(w for w, _ in idle.values()),
                                 "processes": len(warm), "dir": wd})
                    print("callgrind %s round %d: %.0f instructions per warm call"
                          % (mode, r, per), flush=True)
                finally:
                    stop()
    finally:
        t.TIME_SCALE = old_scale
    on, off = statistics.median(res["on"]), statistics.median(res["off"])
    return {"calls": ncalls, "rate": rate, "runs": runs,
            "Ir_per_call_on": [round(x) for x in res["on"]],
            "Ir_per_call_off": [round(x) for x in res["off"]],
            "median_on": round(on), "median_off": round(off),
            "difference_pct": round(100.0 * (on - off) / off, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cg-calls", type=int, default=60,
                    help="warm calls in a callgrind window (at 10 calls/s)")
    ap.add_argument("--only", default="per_record,sync,cpu",
                    help="per_record,sync,cpu,callgrind")
    a = ap.parse_args()
    only = a.only.split(",")
    out = {}
    if "per_record" in only:
        out["per_record"] = [per_record(200, "value"), per_record(200, "both")]
        print(json.dumps(out["per_record"], indent=1), flush=True)
    if "sync" in only:
        out["sync"] = join_sync(a.records)
        print(json.dumps(out["sync"], indent=1), flush=True)
    if "cpu" in only:
        out["cpu"] = warm_cpu(a.calls, a.rounds)
        print(json.dumps(out["cpu"], indent=1), flush=True)
    if "callgrind" in only:
        out["callgrind"] = warm_callgrind(a.cg_calls, a.rounds)
        print(json.dumps(out["callgrind"], indent=1), flush=True)


if __name__ == "__main__":
    main()
