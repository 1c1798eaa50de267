#!/usr/bin/env python3
# kamailio-e911: a cold cache during a storm (issue 19, item 3).
#
# A burst of STORM_CALLS (96) emergency calls from distinct callers, none
# cached, against a slow location service (1.5 s per answer): with the
# settings of the reference cfg as shipped, every lookup is in flight toward the
# service at once (Little's law: located calls/s = lookups in flight /
# latency), not 32 of them (the old per-host connection cap). Asserted, without
# timing: the service saw at least STORM_CALLS requests in hand at the same time
# (its peak_inflight), every call reached the PSAP of its record (located), none
# waited in the module's queue or timed out.
#
#   StormHttp1     the reference service (HTTP/1.1): one connection per transfer
#   StormH2c       an HTTP/2 service with prior knowledge (http2 "h2c"): the
#                  transfers are multiplexed, far fewer connections than requests
#   StormH2Tls     an https service offering h2 in ALPN (http2 "auto", the
#                  default): the same, negotiated
# The HTTP/2 cases need python3-h2 (scripts/setup-debian.sh); skipped without it.
#
#   E911_BUILD_DIR=build python3 test/integration/test_storm.py
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402
import test_soak as soak  # noqa: E402
from test_flood import sipp_load  # noqa: E402

STORM_CALLS = int(os.environ.get("E911_STORM_CALLS") or 96)
LATENCY_MS = 1500
H2LOCSVC_PY = os.path.join(t.SOURCE_DIR, "test", "locsvc", "h2locsvc.py")


def python_with_h2():
    """A Python interpreter that has python3-h2 (this one, or Debian's), or None."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import h2.connection"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return exe
    return None


H2_PYTHON = python_with_h2()


def libcurl_version():
    """(major, minor, patch) of the libcurl the module links (libcurl.so.4)."""
    import ctypes
    import re
    try:
        lib = ctypes.CDLL("libcurl.so.4")
        lib.curl_version.restype = ctypes.c_char_p
        m = re.match(rb"libcurl/(\d+)\.(\d+)\.(\d+)", lib.curl_version())
        return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)
    except OSError:
        return (0, 0, 0)


# h2c (prior knowledge) is refused with every libcurl (core/e911_concurrency.c,
# e911_http2_supported): 7.88 fails it on reused connections, 8.14 leaves the
# transfers waiting for the first connection (PIPEWAIT) unstarted. StormH2c is
# kept for the day a libcurl makes it work.
H2C_OK = False


class H2LocationService(t.LocationService):
    """test/locsvc/h2locsvc.py: HTTP/2 (h2c, or h2 over TLS by ALPN) for location
    requests, HTTP/1.1 for the control API on the same port."""
    TLS = False

    @property
    def base(self):
        return "%s://%s:%d" % ("https" if self.TLS else "http", t.HOST, self.port)

    def tls_files(self):
        cert = os.path.join(self.workdir, "h2svc-cert.pem")
        key = os.path.join(self.workdir, "h2svc-key.pem")
        if not os.path.exists(cert):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj",
                            "/CN=%s" % t.HOST, "-addext", "subjectAltName=IP:%s" % t.HOST],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=60)
        return cert, key

    def start(self):
        import json
        with open(self.records_path, "w") as f:
            json.dump(self.records, f)
        port_file = os.path.join(self.workdir, self.name + ".port")
        cmd = [H2_PYTHON, H2LOCSVC_PY, "--host", t.HOST, "--port", str(self.port),
               "--records", self.records_path, "--latency-ms", str(self.latency_ms),
               "--port-file", port_file, "--max-seconds", str(int(t.scaled(1800)))]
        if self.TLS:
            cert, key = self.tls_files()
            cmd += ["--tls-cert", cert, "--tls-key", key]
        log = open(self.log_path, "ab")
        try:
            self.proc = t._track(subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.workdir))
        finally:
            log.close()
        deadline = time.monotonic() + t.scaled(10)
        while not os.path.exists(port_file) and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(port_file):
            raise RuntimeError("h2 location service did not start:\n" + t.tail(self.log_path))
        return self

    def _req(self, method, path, obj=None, timeout=10):
        import json
        import ssl
        import urllib.request
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        ctx = None
        if self.TLS:
            ctx = ssl.create_default_context(cafile=self.tls_files()[0])
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return json.loads(r.read() or b"null")


class H2TlsLocationService(H2LocationService):
    TLS = True


class StormCase(t.E911TestCase):
    LOCSVC = t.LocationService
    DEFINES = {}

    @classmethod
    def setUpClass(cls):
        defines = {"E911_REFRESH_AHEAD": "0", "E911_BREAKER_FAILURES": "1000"}
        defines.update(cls.DEFINES)
        cls.env = t.E911Env(cls.__name__, timeout_ms=t.scaled(LATENCY_MS / 1000.0) * 1000 + 3000,
                            defines=defines, children=4, locsvc_class=cls.LOCSVC)
        if cls.LOCSVC is H2TlsLocationService:
            cert = cls.env.locsvc_class(cls.env.workdir, {}).tls_files()[0]
            cls.env.extra_defines["E911_TLS_CA_FILE"] = t.q(cert)
        cls.uas = soak.start_with_sipp_psaps(cls.env)
        cls.callers = ["storm%03d" % i for i in range(STORM_CALLS)]
        recs = cls.env.copies_of("alice", cls.callers)
        for r in recs.values():
            r["route"] = {"uri": cls.uas["psap"].uri()}
        cls.env.add_records(recs)

    @classmethod
    def tearDownClass(cls):
        for u in cls.uas.values():
            u.stop()
        cls.env.stop()

    def storm(self):
        """The burst; returns (sipp result, service stats, module statistics)."""
        self.env.locsvc.reset()
        self.env.locsvc.control("normal", latency_ms=int(t.scaled(LATENCY_MS / 1000.0) * 1000))
        # the whole burst is sent well within one service latency
        res = sipp_load(self.env.workdir, self.env.kamailio.port, self.callers,
                        max(200, STORM_CALLS * 2), STORM_CALLS, t.HOST, "storm")
        time.sleep(1.0)
        svc = self.env.locsvc.stats()
        st = soak.module_statistics(self.env)
        psap = soak.stat_int(self.uas["psap"].stats(), "SuccessfulCall(C)")
        fallback = soak.stat_int(self.uas["fallback"].stats(), "SuccessfulCall(C)")
        sys.stderr.write(
            "\n[storm %s] %d cold calls, service latency %d ms: service peak in flight %d, "
            "requests %d, connections %d (HTTP/2: %s); located %d, fallback %d; "
            "lookups_queued %d queue_timeouts %d fetch_timeouts %d async_busy %d\n" % (
                self.__class__.__name__, STORM_CALLS, LATENCY_MS, svc.get("peak_inflight", -1),
                svc.get("requests", -1), svc.get("connections", -1),
                svc.get("h2_connections", "n/a"), psap, fallback, st.get("lookups_queued", -1),
                st.get("queue_timeouts", -1), st.get("fetch_timeouts", -1),
                st.get("async_busy", -1)))
        return res, svc, st, psap, fallback

    def assertStormLocated(self, res, svc, st, psap, fallback):
        rc, stats = res
        self.assertEqual(soak.stat_int(stats, "FailedCall(C)"), 0,
                         "failed emergency calls: %s" % stats)
        self.assertEqual(svc["requests"], STORM_CALLS, svc)
        self.assertGreaterEqual(
            svc["peak_inflight"], STORM_CALLS,
            "the location service had at most %d of the %d lookups in hand at once: the "
            "fetcher held the others back" % (svc["peak_inflight"], STORM_CALLS))
        self.assertEqual(psap, STORM_CALLS, "located calls (at the record's PSAP)")
        self.assertEqual(fallback, 0, "calls that went to the fallback PSAP")
        self.assertEqual(st["lookups_queued"], 0, st)
        self.assertEqual(st["queue_timeouts"], 0, st)
        self.assertEqual(st["fetch_timeouts"], 0, st)
        self.assertEqual(st["async_busy"], 0, st)


class StormHttp1(StormCase):
    """The reference service, HTTP/1.1: as many connections as lookups."""

    def test_every_cold_lookup_in_flight_at_once(self):
        res, svc, st, psap, fallback = self.storm()
        self.assertStormLocated(res, svc, st, psap, fallback)
        self.assertGreaterEqual(svc["connections"], STORM_CALLS)


@unittest.skipIf(H2_PYTHON is None, "python3-h2 not installed (scripts/setup-debian.sh)")
@unittest.skipIf(not H2C_OK, "h2c refused with libcurl %d.%d.%d (H2cRefused)" % libcurl_version())
class StormH2c(StormCase):
    """HTTP/2 with prior knowledge on http:// (modparam http2 "h2c")."""
    LOCSVC = H2LocationService
    DEFINES = {"E911_HTTP2": t.q("h2c")}

    def test_lookups_multiplexed(self):
        res, svc, st, psap, fallback = self.storm()
        self.assertStormLocated(res, svc, st, psap, fallback)
        self.assertEqual(svc["h2_requests"], STORM_CALLS, "requests not made over HTTP/2")
        # 100 streams per connection: the burst fits on one or two
        self.assertLessEqual(svc["h2_connections"], 1 + STORM_CALLS // 100, svc)
        self.assertLess(svc["h2_connections"], svc["h2_requests"])


@unittest.skipIf(H2C_OK, "libcurl %d.%d.%d handles h2c (StormH2c)" % libcurl_version())
class H2cRefused(t.E911TestCase):
    """http2 "h2c" is refused at start-up, with the reason (see H2C_OK)."""

    def test_h2c_refused(self):
        env = t.E911Env("H2cRefused", defines={"E911_HTTP2": t.q("h2c")})
        with self.assertRaises(Exception):
            env.start()          # stops what it started when Kamailio fails
        self.assertIn("h2c is not offered", env.kamailio.log_text())
        import shutil
        shutil.rmtree(env.workdir, ignore_errors=True)


@unittest.skipIf(H2_PYTHON is None, "python3-h2 not installed (scripts/setup-debian.sh)")
class StormH2Tls(StormCase):
    """https, h2 negotiated by ALPN (modparam http2 "auto", the default)."""
    LOCSVC = H2TlsLocationService

    def test_lookups_multiplexed(self):
        res, svc, st, psap, fallback = self.storm()
        self.assertStormLocated(res, svc, st, psap, fallback)
        self.assertEqual(svc["h2_requests"], STORM_CALLS, "requests not made over HTTP/2")
        self.assertLessEqual(svc["h2_connections"], 1 + STORM_CALLS // 100, svc)
        self.assertLess(svc["h2_connections"], svc["h2_requests"])


if __name__ == "__main__":
    t.main()
