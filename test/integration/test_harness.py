#!/usr/bin/env python3
# kamailio-e911: self-test of the integration harness, without the e911 module:
# SIPp -> the plain relay (cfg/relay.cfg) -> test PSAP, the PSAP's message and
# multipart parsers, and the reference location service's control modes.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import http.client
import json
import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402
from psap import SipMessage, Psap, split_top_level  # noqa: E402


class TestParsers(unittest.TestCase):
    def test_multipart_exact_bytes(self):
        sdp = t.UAC_SDP
        pidf = b'<?xml version="1.0"?>\r\n<presence entity="pres:a@b"/>\r\n'
        body = (b"--b1\r\nContent-Type: application/sdp\r\n\r\n" + sdp +
                b"\r\n--b1\r\nContent-Type: application/pidf+xml\r\n"
                b"Content-ID: <x1@example>\r\n\r\n" + pidf + b"\r\n--b1--\r\n")
        raw = (b"INVITE sip:911@x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
               b"Via: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c\r\n"
               b"i: cid\r\nc: multipart/mixed; boundary=\"b1\"\r\n"
               b"Geolocation: <cid:x1@example>\r\nGeolocation: <https://l/1>;x=\"a,b\"\r\n"
               b"l: %d\r\n\r\n" % len(body)) + body
        m = SipMessage(raw)
        self.assertEqual(m.method, "INVITE")
        self.assertEqual(m.call_id, "cid")
        self.assertEqual(len(m.values("Via")), 3)
        self.assertEqual(m.branch, "z9hG4bK1")
        self.assertEqual(m.values("geolocation"), ["<cid:x1@example>", '<https://l/1>;x="a,b"'])
        self.assertTrue(m.content_length_ok())
        mp = m.multipart()
        self.assertEqual([p.content_type for p in mp.parts],
                         ["application/sdp", "application/pidf+xml"])
        self.assertEqual(mp.parts[0].body, sdp)
        self.assertEqual(mp.parts[1].body, pidf)
        self.assertEqual(mp.parts[1].content_id, "x1@example")
        self.assertTrue(mp.closed)

    def test_multipart_errors(self):
        with self.assertRaises(ValueError):
            SipMessage(b"INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=z"
                       b"\r\nContent-Length: 12\r\n\r\n--z\r\n\r\nabc\r\n").multipart()

    def test_split(self):
        self.assertEqual(split_top_level('"a,b" <sip:x,y>;p=1, <sip:z>'),
                         ['"a,b" <sip:x,y>;p=1', "<sip:z>"])

    def test_template(self):
        self.assertEqual(t.render_template('{"a": "{X_PORT}", "b": {"c": 1}}', {"X_PORT": 5}),
                         '{"a": "5", "b": {"c": 1}}')
        with self.assertRaises(KeyError):
            t.render_template("{NOPE}", {})


class TestLocationService(t.E911TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.dir = tempfile.mkdtemp(prefix="e911-locsvc-")
        cls.svc = t.LocationService(cls.dir, {"alice": {"key": "alice", "civic": {"country": "US"}},
                                              "a/b c+%": {"key": "odd"}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.svc.reset()

    def get(self, path, timeout=5):
        c = http.client.HTTPConnection(t.HOST, self.svc.port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Accept": "application/json"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_records_and_keys(self):
        self.assertEqual(self.get("/v1/locations/alice")[0], 200)
        st, body = self.get("/v1/locations/a%2Fb%20c%2B%25")
        self.assertEqual((st, json.loads(body)["key"]), (200, "odd"))
        self.assertEqual(self.get("/v1/locations?key=a%2Fb%20c%2B%25")[0], 200)
        st, body = self.get("/v1/locations/bob")
        self.assertEqual((st, json.loads(body)), (404, {"error": "not found"}))
        self.assertEqual(self.get("/v1/locations/Alice")[0], 404)   # exact match
        s = self.svc.stats()
        self.assertEqual(s["requests"], 5)
        self.assertEqual(s["by_key"]["a/b c+%"], 2)

    def test_keepalive(self):
        c = http.client.HTTPConnection(t.HOST, self.svc.port, timeout=5)
        for _ in range(3):
            c.request("GET", "/v1/locations/alice")
            self.assertEqual(c.getresponse().read()[:1], b"{")
        c.close()
        self.assertEqual(self.svc.stats()["connections"], 2)   # ours + the stats call

    def test_modes(self):
        self.svc.control("status", status=503, keys=["alice"])
        self.assertEqual(self.get("/v1/locations/alice")[0], 503)
        self.assertEqual(self.get("/v1/locations/bob")[0], 404)
        self.svc.control("malformed")
        st, body = self.get("/v1/locations/alice")
        self.assertEqual(st, 200)
        with self.assertRaises(ValueError):
            json.loads(body)
        self.svc.control("oversize")
        st, body = self.get("/v1/locations/alice", timeout=30)
        self.assertEqual((st, len(body)), (200, 10 * 1024 * 1024))
        self.svc.control("close")
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.get("/v1/locations/alice")
        self.svc.control("hang")
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            self.get("/v1/locations/alice", timeout=0.5)
        self.assertLess(time.monotonic() - t0, 2)
        # a hung request does not block the others
        self.svc.control("normal", latency_ms=200)
        t0 = time.monotonic()
        self.assertEqual(self.get("/v1/locations/alice")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        self.svc.control("slowbytes", latency_ms=0)
        with socket.create_connection((t.HOST, self.svc.port), 5) as s:
            s.sendall(b"GET /v1/locations/alice HTTP/1.1\r\nHost: x\r\n\r\n")
            got, deadline = b"", time.monotonic() + 2.5
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = s.recv(100)
                except socket.timeout:
                    break
                if not chunk:
                    break
                got += chunk
        self.assertTrue(b"HTTP/1.1 200".startswith(got) and 2 <= len(got) <= 4, got)

    def test_put_records(self):
        self.svc.put_records({"bob": {"key": "bob"}})
        self.assertEqual(self.get("/v1/locations/bob")[0], 200)
        self.assertEqual(self.get("/v1/locations/alice")[0], 404)
        self.svc.put_records({"alice": {"key": "alice", "civic": {"country": "US"}},
                              "a/b c+%": {"key": "odd"}})


class TestRelay(t.E911TestCase):
    """SIPp -> plain relay -> PSAP: the plumbing the e911 tests stand on."""

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env("harness", cfg=t.RELAY_CFG, tcp=True, start_locsvc=False)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def normal_host(self):
        return "%s:%d" % (t.HOST, self.env.psaps["normal"].port)

    def test_invite_relayed_untouched(self):
        call = self.env.call("1000", caller="alice", ruri_host=self.normal_host())
        self.assertCallOk(call)
        self.assertEqual(call.sent_sdp(), t.UAC_SDP, "UAC_SDP differs from what SIPp sends")
        rx = self.assertInviteAt(call, "normal")
        self.assertEqual(rx.msg.ruri, "sip:1000@" + self.normal_host())
        self.assertEqual(rx.msg.body, t.UAC_SDP)
        self.assertTrue(rx.msg.content_length_ok())
        psap = self.env.psaps["normal"]
        self.assertIsNotNone(psap.wait_request("ACK", call_id=call.call_id, timeout=5))
        self.assertIsNotNone(psap.wait_request("BYE", call_id=call.call_id, timeout=5))
        self.assertEqual(call.received_codes()[-1], 200)

    def test_tcp(self):
        call = self.env.call("1000", caller="alice", ruri_host=self.normal_host() + ";transport=tcp",
                             transport="t1")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "normal")
        self.assertEqual(rx.transport, "tcp")
        self.assertEqual(rx.msg.body, t.UAC_SDP)

    def test_uri_variant_and_nobody(self):
        call = self.env.call("x", caller="bob", scenario="uac_invite_uri.xml",
                             variables={"ruri": "sip:2000@" + self.normal_host()})
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "normal")
        self.assertEqual(rx.msg.ruri, "sip:2000@" + self.normal_host())
        call = self.env.call("1001", caller="bob", scenario="uac_invite_nobody.xml",
                             ruri_host=self.normal_host())
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "normal")
        self.assertEqual(rx.msg.body, b"")

    def test_register(self):
        call = self.env.call("reg", caller="alice", scenario="uac_register.xml")
        self.assertCallOk(call)

    def test_failure_code_psap(self):
        call = self.env.call("1000", caller="alice",
                             ruri_host="%s:%d" % (t.HOST, self.env.psaps["busy"].port))
        self.assertFalse(call.ok)
        # RFC 3261 16.7: a proxy turns a 503 into a 500
        self.assertIn(500, call.received_codes())

    def test_kamcmd(self):
        r = self.env.kamailio.kamcmd("core.uptime")
        self.assertIn("uptime", r.text)


class TestPsapCli(unittest.TestCase):
    def test_cli_dump(self):
        import subprocess
        import tempfile
        d = tempfile.mkdtemp(prefix="e911-psapcli-")
        port = t.free_port()
        p = t._track(subprocess.Popen([sys.executable, t.PSAP_PY, "--port", str(port),
                                       "--dump-dir", d, "--max-seconds", "30"],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        try:
            deadline = time.monotonic() + 10
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.5)
            got = None
            while time.monotonic() < deadline and got is None:
                s.sendto(b"OPTIONS sip:psap@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;"
                         b"branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
                         b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                         (t.HOST, port))
                try:
                    got = s.recv(65535)
                except socket.timeout:
                    pass
            s.close()
            self.assertIsNotNone(got)
            m = SipMessage(got)
            self.assertEqual(m.status, 200)
            self.assertIn("tag=", m.header("To"))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not os.listdir(d):
                time.sleep(0.05)
            self.assertTrue(any(f.endswith("-OPTIONS.sip") for f in os.listdir(d)))
        finally:
            t.stop_process(p)
            p.stdout.close()
            import shutil
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    t.main()
