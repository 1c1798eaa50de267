#!/usr/bin/env python3
# kamailio-e911: Kari's Law notification and the audit trail.
#
# A webhook receiver (a small loopback HTTP server in this process) and a
# SIP MESSAGE target (a test PSAP) get the notification with callback and
# location while the PSAP gets the call; with the webhook hung or refusing,
# the PSAP still gets the call within the same budget. Audit lines parse as
# JSON with the right fields for emergency, test, fallback and failure-route
# cases.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import json
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402


class Webhook:
    """Records JSON POSTs; mode 'ok', 'hang' (never answers) or '500'."""

    def __init__(self):
        self.posts = []
        self.mode = "ok"
        self.lock = threading.Lock()
        hook = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with hook.lock:
                    hook.posts.append((time.time(), self.headers.get("Content-Type"),
                                       body))
                    mode = hook.mode
                if mode == "hang":
                    time.sleep(t.scaled(4))
                    return
                code = 500 if mode == "500" else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((t.HOST, 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d/hooks/911" % (t.HOST, self.port)

    def wait_for(self, pred, timeout=5.0):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            with self.lock:
                hits = [json.loads(b) for _, _, b in self.posts if pred(json.loads(b))]
            if hits:
                return hits
            time.sleep(0.05)
        return []

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ComplianceCase(t.E911TestCase):

    @classmethod
    def setUpClass(cls):
        cls.hook = Webhook()
        cls.audit = os.path.join(cls.tmp(), "audit.jsonl")
        # the front desk that gets the SIP MESSAGE
        cls.desk = t.Psap(t.HOST, 0, final_code=200, name="desk").start()
        cls.env = t.E911Env(cls.__name__, timeout_ms=500, defines={
            "E911_NOTIFY_URL": t.q(cls.hook.url),
            "E911_NOTIFY_SIP_URI": t.q("sip:frontdesk@%s:%d" % (t.HOST, cls.desk.port)),
            "E911_AUDIT_LOG": t.q(cls.audit),
        })
        cls.env.start()

    @classmethod
    def tmp(cls):
        import tempfile
        cls._tmp = tempfile.mkdtemp(prefix="e911-compliance-")
        return cls._tmp

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        cls.hook.stop()
        cls.desk.stop()
        import shutil
        shutil.rmtree(cls._tmp, ignore_errors=True)

    def setUp(self):
        self.hook.mode = "ok"

    def audit_lines(self, call_id, timeout=5.0):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            if os.path.exists(self.audit):
                with open(self.audit) as f:
                    lines = [json.loads(x) for x in f if x.strip()]
                hits = [x for x in lines if x.get("call_id") == call_id]
                if hits:
                    return hits
            time.sleep(0.05)
        return []


class TestNotification(ComplianceCase):

    def test_webhook_and_message_while_psap_gets_the_call(self):
        call = self.env.call("911", caller="alice")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "psap")
        posts = self.hook.wait_for(lambda j: j.get("call_id") == call.call_id)
        self.assertEqual(len(posts), 1, "no webhook notification")
        n = posts[0]
        rec = self.env.records["alice"]
        self.assertEqual(n["event"], "emergency_call")
        self.assertFalse(n["test"])
        self.assertEqual(n["callback"], rec["callback"])
        self.assertEqual(n["dialled"], "911")
        self.assertEqual(n["location"]["civic"]["HNO"], rec["civic"]["HNO"])
        self.assertEqual(n["location"]["civic"]["FLR"], rec["civic"]["FLR"])
        self.assertIn(rec["civic"]["RD"], n["location"]["address"])
        self.assertTrue(n["time"].endswith("Z"))
        msgs = [r for r in self.desk.requests("MESSAGE")
                if call.call_id.encode() in r.msg.body]
        deadline = time.monotonic() + t.scaled(5)
        while not msgs and time.monotonic() < deadline:
            time.sleep(0.05)
            msgs = [r for r in self.desk.requests("MESSAGE")
                    if call.call_id.encode() in r.msg.body]
        self.assertEqual(len(msgs), 1, "no SIP MESSAGE to the front desk")
        body = msgs[0].msg.body.decode()
        self.assertIn("EMERGENCY 911 call from alice", body)
        self.assertIn(rec["callback"], body)
        self.assertIn(rec["civic"]["RD"], body)

    def test_test_calls_are_not_notified_by_default(self):
        call = self.env.call("933", caller="carol")
        self.assertCallOk(call)
        self.assertInviteAt(call, "psap")
        time.sleep(0.5)
        self.assertEqual(self.hook.wait_for(
            lambda j: j.get("call_id") == call.call_id, timeout=0.5), [])

    def test_hung_webhook_does_not_delay_the_call(self):
        self.hook.mode = "hang"
        self.env.call("911", caller="dave")            # cache dave
        call = self.env.call("911", caller="dave")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "psap")
        self.assertLess(rx.time - call.invite_sent_time(), 0.3,
                        "the call waited for the notification")

    def test_refusing_webhook_is_retried_and_counted(self):
        self.hook.mode = "500"
        call = self.env.call("911", caller="erin")
        self.assertCallOk(call)
        rx = self.assertInviteAt(call, "psap")
        self.assertLess(rx.time - call.invite_sent_time(), 0.5 + t.scaled(1))
        # 1 attempt + 3 retries with backoff 0.5, 1, 2 s
        deadline = time.monotonic() + t.scaled(8)
        while time.monotonic() < deadline:
            posts = self.hook.wait_for(lambda j: j.get("call_id") == call.call_id, 0.1)
            if len(posts) >= 4:
                break
            time.sleep(0.2)
        self.assertEqual(len(posts), 4)
        out = self.env.kamailio.kamcmd("stats.get_statistics", "e911:").text
        self.assertIn("notify_retried", out)
        self.assertIn("failed after 4 attempts", self.env.kamailio.log_text())


class TestAudit(ComplianceCase):

    def test_emergency_call_line(self):
        call = self.env.call("911", caller="frank")
        self.assertCallOk(call)
        self.assertInviteAt(call, "psap")
        lines = self.audit_lines(call.call_id)
        self.assertEqual(len(lines), 1, "one line per call")
        a = lines[0]
        self.assertEqual(a["class"], "emergency")
        self.assertEqual(a["dialled"], "911")
        self.assertEqual(a["caller"], "frank")
        self.assertEqual(a["key"], "frank")
        self.assertEqual(a["location"]["status"], "fresh")
        self.assertEqual(a["location"]["source"], "service")
        self.assertTrue(a["location"]["validated"])
        self.assertEqual(a["route_reason"], "record")
        self.assertEqual(a["route"], self.env.records["frank"]["route"]["uri"])
        self.assertEqual(a["notification"], "queued")
        self.assertEqual(a["final_code"], 200)
        # no addresses unless audit_include_location
        self.assertNotIn("address", a["location"])
        self.assertNotIn("civic", a["location"])
        # the RPC shows it too
        self.assertIn(call.call_id, self.env.kamailio.kamcmd("e911.audit", 5).text)

    def test_test_call_line(self):
        call = self.env.call("933", caller="grace")
        self.assertCallOk(call)
        a = self.audit_lines(call.call_id)[0]
        self.assertEqual(a["class"], "test")
        self.assertEqual(a["service"], "urn:service:test.sos")
        self.assertEqual(a["notification"], "not-for-test")

    def test_fallback_line(self):
        call = self.env.call("911", caller="nobody-here")
        self.assertCallOk(call)
        self.assertInviteAt(call, "fallback")
        a = self.audit_lines(call.call_id)[0]
        self.assertEqual(a["location"]["status"], "none")
        self.assertEqual(a["route_reason"], "fallback")
        self.assertEqual(a["route"], self.env.fallback_route)

    def test_failure_route_retry_line(self):
        rec = dict(self.env.records["alice"], key="busyone",
                   route={"uri": self.env.psap_uri("busy")})
        self.env.records["busyone"] = rec
        self.env.locsvc.put_records(self.env.records)
        call = self.env.call("911", caller="busyone")
        self.assertCallOk(call)
        self.assertInviteAt(call, "fallback")
        a = self.audit_lines(call.call_id)[0]
        self.assertEqual(a["route_reason"], "record")
        self.assertEqual(a["retry"]["route"], self.env.fallback_route)
        self.assertEqual(a["retry"]["reason"], "failure-route retry")
        self.assertTrue(a["retry"]["with_location"])
        self.assertEqual(a["final_code"], 200)

    def test_reopen_after_rotation(self):
        call = self.env.call("911", caller="heidi")
        self.assertCallOk(call)
        self.assertTrue(self.audit_lines(call.call_id))
        os.rename(self.audit, self.audit + ".1")
        self.env.kamailio.kamcmd("e911.audit_reopen")
        call = self.env.call("911", caller="ivan")
        self.assertCallOk(call)
        self.assertTrue(self.audit_lines(call.call_id), "no line in the new file")


if __name__ == "__main__":
    t.main()
