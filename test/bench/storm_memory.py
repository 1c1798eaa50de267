#!/usr/bin/env python3
# kamailio-e911: memory of the fetcher per lookup in flight (issue 19).
#
# Starts cfg/kamailio.cfg (1 fetcher) against a location service that answers in
# 3 s, sends a burst of N cold emergency calls (distinct callers) and, while all N
# lookups are in flight, reads the fetcher's resident memory (VmRSS, /proc) and its
# pkg memory (kamcmd pkg.stats); the same before the burst. Prints the difference per
# transfer in flight, for HTTP/1.1 (the reference service, one connection per
# transfer) and HTTP/2 over TLS (test/locsvc/h2locsvc.py, ALPN; needs python3-h2).
#
#   E911_BUILD_DIR=build python3 test/bench/storm_memory.py [N ...]   (default 32 256)
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.dont_write_bytecode = True
import e911test as t  # noqa: E402
import test_soak as soak  # noqa: E402
import test_storm as storm  # noqa: E402
from test_flood import sipp_load  # noqa: E402

LATENCY_MS = 3000


def fetcher_pid(env):
    out = env.kamailio.kamcmd("core.psx").text
    pid = None
    for m in re.finditer(r"PID:\s*(\d+)\s*\n\s*DSC:\s*([^\n]*)", out):
        if "e911 fetcher" in m.group(2):
            pid = int(m.group(1))
    return pid


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return None


def pkg_used(env, pid):
    out = env.kamailio.kamcmd("pkg.stats", "pid", str(pid), check=False).text
    m = re.search(r"used:\s*(\d+)", out)
    return int(m.group(1)) if m else None


def measure(name, locsvc_class, n, defines):
    env = t.E911Env("storm-mem-%s-%d" % (name, n), timeout_ms=LATENCY_MS + 3000,
                    defines=dict({"E911_REFRESH_AHEAD": "0",
                                  "E911_ASYNC_MAX_INFLIGHT": str(max(256, n))}, **defines),
                    children=4, locsvc_class=locsvc_class)
    if locsvc_class is storm.H2TlsLocationService:
        cert = locsvc_class(env.workdir, {}).tls_files()[0]
        env.extra_defines["E911_TLS_CA_FILE"] = t.q(cert)
    uas = soak.SippUas(env.workdir, soak.UAS_SOAK, "psap").start()
    try:
        env.extra_defines["E911_FALLBACK_ROUTE"] = t.q(uas.uri())
        env.extra_defines["E911_DEFAULT_ROUTE"] = t.q(uas.uri())
        env.start()
        callers = ["mem%04d" % i for i in range(n)]
        recs = env.copies_of("alice", callers)
        for r in recs.values():
            r["route"] = {"uri": uas.uri()}
        env.add_records(recs)
        env.locsvc.control("normal", latency_ms=LATENCY_MS)
        pid = fetcher_pid(env)
        r0, p0 = rss_kb(pid), pkg_used(env, pid)
        th = threading.Thread(target=sipp_load, args=(env.workdir, env.kamailio.port, callers,
                                                      max(200, 2 * n), n, t.HOST, "mem"))
        th.start()
        peak_rss, peak_pkg = r0, p0
        deadline = time.monotonic() + LATENCY_MS / 1000.0 + 2
        while time.monotonic() < deadline:
            peak_rss = max(peak_rss, rss_kb(pid))
            p = pkg_used(env, pid)
            if p is not None and peak_pkg is not None:
                peak_pkg = max(peak_pkg, p)
            time.sleep(0.1)
        th.join(120)
        svc = env.locsvc.stats()
        print("%-8s N=%4d: fetcher VmRSS %d -> %d KiB (+%.1f KiB per transfer), pkg used %s -> "
              "%s bytes; service peak in flight %s, connections %s" % (
                  name, n, r0, peak_rss, (peak_rss - r0) / float(n), p0, peak_pkg,
                  svc.get("peak_inflight"), svc.get("h2_connections", svc.get("connections"))),
              flush=True)
    finally:
        uas.stop()
        env.stop()


def main():
    ns = [int(x) for x in sys.argv[1:]] or [32, 256]
    for n in ns:
        measure("http1.1", t.LocationService, n, {})
        if storm.H2_PYTHON:
            measure("h2-tls", storm.H2TlsLocationService, n, {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
