#!/usr/bin/env python3
# kamailio-e911: e911.explain - what a call from a caller would get now, with
# no call placed and nothing changed.
#
# - The headers and the PIDF-LO explain shows are those a real call carries,
#   byte for byte (the Content-ID, drawn per call, aside): explain is run just
#   before and just after a call; when both rendered in the same second, the
#   call's PIDF-LO part must equal them exactly.
# - No side effects: no audit line, no notification, no service request, no
#   cache entry, no lookup counted - unless 'fetch' is given, and then only
#   the service request.
# - Bad input: a clear RPC error (missing or invalid key, malformed IP, too
#   many parameters, a key the service does not know) or a clear "not an
#   emergency call".
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import json
import os
import socket
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

# the fields e911.explain returns, in their order: kamcmd prints each as
# "\t<name>: <value>" with multi-line values (headers, PIDF-LO) verbatim
TOP_FIELDS = ["key", "dialled", "class", "service", "location", "fetched", "record",
              "dispatchable", "dispatchable_reason", "source_ip", "source_ip_verdict",
              "route", "conveyance", "headers", "content_id", "note", "pidf",
              "rendered_at", "decision"]


def explain_fields(text):
    """{name: raw value} of the top-level fields of kamcmd's e911.explain output."""
    names = "|".join(TOP_FIELDS)
    marks = list(re.finditer(r"(?m)^\t(%s): " % names, text))
    out = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() - 1 if i + 1 < len(marks) else text.rstrip().rfind("\n}")
        out[m.group(1)] = text[m.end():end]
    return out


def statistics(env):
    out = env.kamailio.kamcmd("stats.get_statistics", "e911:").text
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"e911:(\w+) = (-?\d+)", out)}


class ExplainTest(t.E911TestCase):

    @classmethod
    def setUpClass(cls):
        cls.audit = None
        cls.env = t.E911Env(cls.__name__, timeout_ms=500)
        cls.audit = os.path.join(cls.env.workdir, "audit.jsonl")
        cls.env.extra_defines["E911_AUDIT_LOG"] = t.q(cls.audit)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def explain(self, *args, check=True):
        r = self.env.kamailio.kamcmd("e911.explain", *args, check=False)
        if check:
            self.assertEqual(r.returncode, 0, "e911.explain %s: %s" % (args, r.text))
        return r.text

    def audit_lines(self):
        try:
            with open(self.audit) as f:
                return [l for l in f if l.strip()]
        except OSError:
            return []

    def add_record(self, key, rec):
        self.env.add_records({key: rec})

    # -- what a call carries ------------------------------------------------
    def test_headers_and_pidf_are_what_the_call_carries(self):
        self.assertCallOk(self.env.call("911", caller="alice"))   # cached now
        for _ in range(5):
            before = explain_fields(self.explain("alice", "911"))
            call = self.env.call("911", caller="alice")
            after = explain_fields(self.explain("alice", "911"))
            self.assertCallOk(call)
            rx = self.assertInviteAt(call, "psap")
            if before["rendered_at"] == after["rendered_at"]:
                break
        else:
            self.skipTest("no call fell within one second of its explains")
        self.assertEqual(before["pidf"], after["pidf"])
        self.assertEqual(before["class"], "emergency")
        self.assertIn("request_uri: %s" % rx.msg.ruri, before["route"])
        self.assertIn("reason: record", before["route"])
        pidf = rx.msg.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1)
        # byte-identical PIDF-LO
        self.assertEqual(pidf[0].body.decode("utf-8"), before["pidf"])
        # the same headers, in the same order, with the call's Content-ID
        hdrs = before["headers"].replace(before["content_id"], pidf[0].content_id)
        self.assertTrue(hdrs.endswith("Priority: emergency\r\n"), repr(hdrs))
        self.assertIn(hdrs.encode(), rx.raw,
                      "explain's headers are not a block of the INVITE:\n%r" % hdrs)
        self.assertEqual(before["dispatchable"], "yes")

    def test_test_call_is_classified(self):
        out = explain_fields(self.explain("alice", "933"))
        self.assertEqual(out["class"], "test")
        self.assertIn("urn:service:test.sos", out["service"])

    # -- no side effects ----------------------------------------------------
    def test_no_side_effects_without_fetch(self):
        self.env.add_records(self.env.copies_of("alice", ["quiet"]))
        audit = len(self.audit_lines())
        stats = statistics(self.env)
        out = explain_fields(self.explain("quiet", "911", "127.0.0.1"))
        self.assertIn("status: ask the service", out["location"])
        self.assertIn("'fetch'", out["decision"])
        self.assertEqual(out["fetched"], "no")
        # the uncached caller's call would go to the fallback if the
        # service failed: no location, only Priority
        self.assertEqual(out["headers"], "Priority: emergency\r\n")
        self.assertIn("reason: fallback", out["route"])
        self.assertEqual(self.env.locsvc.requests_for("quiet"), 0)
        # asked with 'fetch': the service answers, nothing is cached
        out = explain_fields(self.explain("quiet", "911", "fetch"))
        self.assertEqual(self.env.locsvc.requests_for("quiet"), 1)
        self.assertEqual(out["fetched"], "yes")
        self.assertIn("source: service", out["location"])
        self.assertIn("<presence", out["pidf"])
        r = self.env.kamailio.kamcmd("e911.get", "quiet", check=False)
        self.assertIn("not cached", r.text)
        time.sleep(0.3)
        self.assertEqual(len(self.audit_lines()), audit, "explain wrote the audit trail")
        after = statistics(self.env)
        for name in ("lookups", "cache_hits", "cache_misses", "notify_queued",
                     "fallback_routes"):
            self.assertEqual(after.get(name), stats.get(name), name)

    def test_cached_entry_is_not_touched(self):
        # e911.list reads the entries without touching them (e911.get counts
        # itself as a hit)
        def entry():
            out = self.env.kamailio.kamcmd("e911.list").text
            m = re.search(r"key: alice\s+state: (\w+)\s+origin: \w+\s+age: \d+\s+"
                          r"hits: (\d+)", out)
            self.assertIsNotNone(m, out)
            return m.groups()
        self.assertCallOk(self.env.call("911", caller="alice"))
        before = entry()
        self.explain("alice", "911")
        self.explain("alice", "933", "127.0.0.1")
        self.assertEqual(entry(), before)

    # -- the module's own checks ---------------------------------------------
    def test_dispatchable_and_networks(self):
        rec = self.env.copies_of("alice", ["nofloor"])["nofloor"]
        rec["civic"].pop("FLR", None)
        rec["site"] = {"multi_floor": True}
        rec["networks"] = ["10.1.0.0/16"]
        rec.pop("max_age", None)
        self.add_record("nofloor", rec)
        out = explain_fields(self.explain("nofloor", "911", "10.1.2.3", "fetch"))
        self.assertEqual(out["dispatchable"], "no")
        self.assertEqual(out["dispatchable_reason"], "floor missing")
        self.assertIn("inside", out["source_ip_verdict"])
        out = explain_fields(self.explain("nofloor", "911", "192.0.2.7", "fetch"))
        self.assertIn("outside", out["source_ip_verdict"])

    # -- bad input -------------------------------------------------------------
    def test_bad_input(self):
        audit = len(self.audit_lines())
        cases = [
            ((), "400", "Missing key"),
            (("alice", "911", "300.1.1.1"), "400", "Malformed source IP"),
            (("alice", "911", "127.0.0.1:5060"), "400", "Malformed source IP"),
            (("..", "911"), "400", "Invalid key"),
            (("alice", "911", "127.0.0.1", "fetch", "extra"), "400", "Too many"),
            (("nobody", "911", "fetch"), "404", "No location record for 'nobody'"),
        ]
        for args, code, text in cases:
            out = self.explain(*args, check=False)
            self.assertIn("error: %s" % code, out, args)
            self.assertIn(text, out, args)
        out = explain_fields(self.explain("alice", "1000"))
        self.assertEqual(out["class"], "none")
        self.assertIn("not an emergency call", out["decision"])
        self.assertNotIn("headers", out)
        self.assertEqual(len(self.audit_lines()), audit)


LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")
# the reference Lua routing, plus: an OPTIONS to "explain" gets the answer of
# KSR.e911.explain($fU, X-Dialled, $si) in an X-Explain reply header
LUA_WRAPPER = """
dofile(%s)
local reference_route = ksr_request_route
function ksr_request_route()
	if KSR.is_OPTIONS() and KSR.pv.gete("$rU") == "explain" then
		local j = KSR.e911.explain(KSR.pv.gete("$fU"), KSR.pv.gete("$hdr(X-Dialled)"),
			KSR.pv.gete("$si"))
		KSR.hdr.append_to_reply("X-Explain: " .. j .. "\\r\\n")
		KSR.sl.sl_send_reply(200, "Explained")
		return 1
	end
	return reference_route()
end
"""


class ExplainKemiTest(t.E911TestCase):
    """KSR.e911.explain gives scripts the RPC's answer, as JSON."""

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env(cls.__name__, cfg=LUA_CFG, timeout_ms=500)
        lua = os.path.join(cls.env.workdir, "explain.lua")
        with open(lua, "w") as f:
            f.write(LUA_WRAPPER % json.dumps(LUA_SCRIPT))
        cls.env.extra_defines["E911_LUA"] = t.q(lua)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def kemi_explain(self, caller, dialled):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((t.HOST, 0))
        s.settimeout(t.scaled(5))
        port = s.getsockname()[1]
        msg = ("OPTIONS sip:explain@{h}:{k} SIP/2.0\r\n"
               "Via: SIP/2.0/UDP {h}:{p};branch=z9hG4bK-x{p}\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:{c}@e911.test>;tag=x\r\nTo: <sip:explain@{h}>\r\n"
               "Call-ID: explain-{p}@{h}\r\nCSeq: 1 OPTIONS\r\n"
               "X-Dialled: {d}\r\nContent-Length: 0\r\n\r\n").format(
                   h=t.HOST, k=self.env.kamailio.port, p=port, c=caller, d=dialled)
        try:
            s.sendto(msg.encode(), (t.HOST, self.env.kamailio.port))
            data, _ = s.recvfrom(65535)
        finally:
            s.close()
        m = re.search(rb"\r\nX-Explain: (.*?)\r\n", data)
        self.assertIsNotNone(m, data[:400])
        return json.loads(m.group(1).decode())

    def test_same_answer_as_the_rpc(self):
        self.assertCallOk(self.env.call("911", caller="alice"))
        for _ in range(5):
            rpc = explain_fields(self.env.kamailio.kamcmd("e911.explain", "alice", "911").text)
            kemi = self.kemi_explain("alice", "911")
            if kemi["rendered_at"] == rpc["rendered_at"]:
                break
        self.assertEqual(kemi["class"], "emergency")
        self.assertEqual(kemi["location"]["source"], "cache")
        self.assertEqual(kemi["dispatchable"], "yes")
        self.assertEqual(kemi["source_ip"], "127.0.0.1")
        self.assertEqual(kemi["pidf"], rpc["pidf"])
        self.assertEqual(kemi["headers"].replace(kemi["content_id"], "CID"),
                         rpc["headers"].replace(rpc["content_id"], "CID"))

    def test_bad_input_and_not_emergency(self):
        self.assertEqual(self.kemi_explain("alice", "1000")["class"], "none")
        self.assertEqual(self.kemi_explain("nobody", "911")["location"]["status"],
                         "ask the service")
        err = self.kemi_explain("..", "911")
        self.assertEqual(err["code"], 400)


if __name__ == "__main__":
    t.main()
