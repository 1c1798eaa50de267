#!/usr/bin/env python3
# kamailio-e911: the site map (issue 16) - the network a phone calls from
# decides where responders go; the precedence between the site, the device's
# own Geolocation and the service record; "moved" at call time; the
# confirmation loop at REGISTER; the operators' RPC view.
#
# Real Kamailio (cfg/kamailio.cfg), the reference location service, a site
# map served as a file:// and over HTTP (with ETag), SIPp sending from
# several loopback addresses:
#   127.0.0.5  a site network (tower-c-3; campus 127.0.0.4/31 around it)
#   127.0.0.1  the callers' registered network (records' "networks")
#   127.0.0.6  neither: the caller moved
#   127.0.0.7  a trusted edge proxy (P-Access-Network-Info counts)
#   127.0.0.8  an untrusted sender (its P-Access-Network-Info is ignored)
# Data: test/data/sitemap/integration/{records,sites}.json. Sites have no
# route: their calls go to E911_DEFAULT_ROUTE ("default" PSAP), the records'
# to the "psap" PSAP - which also shows that routing follows the location.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

DATA = os.path.join(t.SOURCE_DIR, "test", "data", "sitemap", "integration")
RECORDS = os.path.join(DATA, "records.json")
SITES = os.path.join(DATA, "sites.json")
TRUSTED_EDGE = "127.0.0.7"
LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")
PIDF_NS = "urn:ietf:params:xml:ns:pidf:geopriv10"


def load_sites():
    with open(SITES) as f:
        return json.load(f)


def site(doc, sid):
    return [s for s in doc["sites"] if s["id"] == sid][0]


class MapServer:
    """Serves a site map over HTTP with an ETag; answers If-None-Match with 304.
    mode: 'ok', '500' or 'slow' (answers after 10 s)."""

    def __init__(self, doc):
        self.lock = threading.Lock()
        self.mode = "ok"
        self.requests = []      # (If-None-Match sent, status answered)
        self.set_body(json.dumps(doc).encode())
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with srv.lock:
                    body, etag, mode = srv.body, srv.etag, srv.mode
                inm = self.headers.get("If-None-Match")
                if mode == "slow":
                    time.sleep(10)
                if mode == "500":
                    code = 500
                elif inm == etag:
                    code = 304
                else:
                    code = 200
                with srv.lock:
                    srv.requests.append((inm, code))
                self.send_response(code)
                self.send_header("ETag", etag)
                if code == 200:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.server = ThreadingHTTPServer((t.HOST, 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_body(self, body):
        with self.lock:
            self.body = body
            self.etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]

    @property
    def url(self):
        return "http://%s:%d/sites.json" % (t.HOST, self.port)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Webhook:
    """Records JSON POSTs (the notify_url)."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        hook = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with hook.lock:
                    hook.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((t.HOST, 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://%s:%d/hooks/e911" % (t.HOST, self.port)

    def events(self, kind):
        with self.lock:
            return [p for p in self.posts if p.get("event") == kind]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SiteCase(t.E911TestCase):
    """One environment per class. SITES_URL: None = a file:// copy of
    sites.json in a temporary directory (self.map_path)."""

    DEFINES = {}
    SITES_URL = None
    CFG = t.E911_CFG

    @classmethod
    def setUpClass(cls):
        if cls.CFG == LUA_CFG and not os.path.exists(
                os.path.join(t.KAMAILIO_MODULES_DIR, "app_lua.so")):
            raise unittest.SkipTest("app_lua.so is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="e911-sitemap-")
        cls.audit = os.path.join(cls.tmp, "audit.jsonl")
        cls.map_path = os.path.join(cls.tmp, "sites.json")
        shutil.copy(SITES, cls.map_path)
        cls.extra_setup()
        defines = {
            "E911_SITES_URL": t.q(cls.sites_url()),
            "E911_SITES_REFRESH": "1",
            "E911_TRUSTED_NETWORKS": t.q(TRUSTED_EDGE + "/32"),
            "E911_NETWORK_FROM": t.q("source,pani"),
            "E911_AUDIT_LOG": t.q(cls.audit),
        }
        if cls.CFG == LUA_CFG:
            defines["E911_LUA"] = t.q(LUA_SCRIPT)
        defines.update(cls.DEFINES)
        cls.env = t.E911Env(cls.__name__, cfg=cls.CFG, records_template=RECORDS,
                            timeout_ms=500, defines=defines)
        cls.env.start()

    @classmethod
    def extra_setup(cls):
        pass

    @classmethod
    def sites_url(cls):
        return cls.SITES_URL or "file://" + cls.map_path

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers ----------------------------------------------------------
    def call_from(self, ip, caller="alice", **kw):
        call = self.env.call("911", caller=caller, local_ip=ip,
                             tag="%s-from-%s" % (caller, ip), **kw)
        self.assertCallOk(call)
        return call

    def pidf(self, rx):
        mp = rx.msg.multipart()
        parts = mp.by_type("application/pidf+xml")
        self.assertEqual(len(parts), 1, "expected one PIDF-LO part: %r" % mp.parts)
        body = parts[0].body
        ok, out = t.xmllint_validate(body, workdir=self.env.workdir)
        self.assertTrue(ok, "PIDF-LO not schema-valid:\n%s\n%s" % (
            out, body.decode("utf-8", "replace")))
        return body

    def civic(self, body):
        civics = t.pidf_civic(body)
        self.assertEqual(len(civics), 1, civics)
        return dict(civics[0])

    def methods(self, body):
        return re.findall(rb"<gp:method>([^<]*)</gp:method>", body)

    def assertCivic(self, body, civic):
        got = self.civic(body)
        for k, v in civic.items():
            self.assertEqual(got.get(k), v, "civic %s: %r, expected %r (got %r)" % (
                k, got.get(k), v, got))

    def audit_of(self, call, timeout=5.0):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            if os.path.exists(self.audit):
                with open(self.audit) as f:
                    hits = [json.loads(x) for x in f if x.strip()]
                hits = [x for x in hits if x.get("call_id") == call.call_id]
                if hits:
                    return hits[0]
            time.sleep(0.05)
        self.fail("no audit line for %s" % call.call_id)

    def rpc(self, *args):
        r = self.env.kamailio.kamcmd(*args)
        return r.text

    def wait_rpc(self, pred, timeout=8.0, *args):
        deadline = time.monotonic() + t.scaled(timeout)
        text = ""
        while time.monotonic() < deadline:
            text = self.env.kamailio.kamcmd(*(args or ("e911.sites", "0")), check=False).text
            if pred(text):
                return text
            time.sleep(0.2)
        self.fail("e911.sites never matched; last answer:\n%s" % text)

    def rpc_int(self, text, name):
        m = re.search(r"\b%s:\s*(-?\d+)" % name, text)
        return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# 1. which site, which location (file:// map)

class TestSiteLocation(SiteCase):

    def test_site_network_gets_the_site_location(self):
        call = self.call_from("127.0.0.5")
        rx = self.assertInviteAt(call, "default")
        body = self.pidf(rx)
        tower = site(load_sites(), "tower-c-3")["civic"]
        self.assertCivic(body, {"BLD": "Tower C", "FLR": "3", "A3": "Chicago",
                                "LOC": tower["LOC"]})
        self.assertNotIn(b"Evanston", body, "the caller's home address leaked in")
        # XML metacharacters of the map escaped, never raw
        self.assertIn(b"East &lt;wing&gt; &amp;", body)
        self.assertEqual(set(self.methods(body)), {b"Wiremap"})
        # the caller's own callback is kept
        self.assertIn("+13125550100", rx.msg.header("P-Asserted-Identity"))
        a = self.audit_of(call)["location"]
        self.assertEqual(a["won"], "network")
        self.assertEqual(a["site"], "tower-c-3")
        self.assertEqual(a["network"], "127.0.0.5")
        self.assertIn("at site tower-c-3 (source address)", a["why"])
        # the network says Tower C, the record says Evanston: a conflict
        self.assertTrue(a["conflict"])
        self.assertFalse(a["moved"])
        log = self.env.kamailio.log_text()
        self.assertIn("location conflict for key 'alice'", log)
        # the cfg's line: $e911(source) is the source that won
        self.assertIn("call from 'alice' location fresh (network)", log)

    def test_longest_prefix_wins(self):
        # 127.0.0.4 is only in campus (127.0.0.4/31); .5 is tower-c-3 (/32)
        call = self.call_from("127.0.0.4")
        body = self.pidf(self.assertInviteAt(call, "default"))
        self.assertEqual(self.civic(body).get("NAM"), "Acme campus")

    def test_registered_network_gets_the_record(self):
        call = self.call_from("127.0.0.1")
        rx = self.assertInviteAt(call, "psap")
        body = self.pidf(rx)
        self.assertCivic(body, {"A3": "Evanston", "HNO": "9"})
        self.assertEqual(set(self.methods(body)), {b"Manual"})
        a = self.audit_of(call)["location"]
        self.assertEqual((a["won"], a["moved"], a["conflict"]), ("service", False, False))
        self.assertIn("no site for 127.0.0.1", a["why"])

    def test_unknown_network_gets_the_record_flagged_moved(self):
        call = self.call_from("127.0.0.6")
        rx = self.assertInviteAt(call, "psap")      # routing unchanged
        self.assertCivic(self.pidf(rx), {"A3": "Evanston", "HNO": "9"})
        a = self.audit_of(call)["location"]
        self.assertEqual((a["won"], a["moved"]), ("service", True))
        self.assertIn("outside its record's networks and every site: moved",
                      self.env.kamailio.log_text())

    def test_no_record_but_a_site_gets_the_site(self):
        # no registered location at all: the network still says where
        call = self.call_from("127.0.0.5", caller="nobody-known")
        rx = self.assertInviteAt(call, "default")
        self.assertCivic(self.pidf(rx), {"BLD": "Tower C", "FLR": "3"})

    def test_bssid_from_trusted_edge(self):
        call = self.call_from(TRUSTED_EDGE, scenario="uac_invite_pani.xml",
                              keys={"pani_bssid": "001122334455"})
        rx = self.assertInviteAt(call, "default")
        body = self.pidf(rx)
        self.assertCivic(body, {"BLD": "Tower C", "FLR": "1", "LOC": "Lobby"})
        self.assertEqual(set(self.methods(body)), {b"802.11"})
        a = self.audit_of(call)["location"]
        self.assertEqual((a["won"], a["site"], a["network"], a["network_from"]),
                         ("network", "lobby", "00:11:22:33:44:55", "P-Access-Network-Info"))

    def test_bssid_from_untrusted_source_ignored(self):
        call = self.call_from("127.0.0.8", scenario="uac_invite_pani.xml",
                              keys={"pani_bssid": "001122334455"})
        rx = self.assertInviteAt(call, "psap")
        self.assertCivic(self.pidf(rx), {"A3": "Evanston"})
        a = self.audit_of(call)["location"]
        self.assertEqual((a["won"], a["network"], a["moved"]), ("service", "127.0.0.8", True))

    def test_rpc_sites_and_match(self):
        text = self.rpc("e911.sites")
        self.assertEqual(self.rpc_int(text, "sites"), 3, text)
        self.assertEqual(self.rpc_int(text, "prefixes_v4"), 2, text)
        self.assertEqual(self.rpc_int(text, "prefixes_v6"), 1, text)
        self.assertEqual(self.rpc_int(text, "bssids"), 1, text)
        self.assertGreater(self.rpc_int(text, "bytes"), 0, text)
        self.assertGreaterEqual(self.rpc_int(text, "age"), 0, text)
        self.assertIn("file://", text)
        self.assertIn("tower-c-3", text)
        text = self.rpc("e911.match", "127.0.0.5")
        self.assertIn("tower-c-3", text)
        self.assertIn("Wiremap", text)
        text = self.rpc("e911.match", "2001:db8:c3::9")
        self.assertIn("tower-c-3", text)
        text = self.rpc("e911.match", "10.9.9.9", "00:11:22:33:44:55")
        self.assertIn("lobby", text)
        self.assertIn("802.11", text)
        text = self.rpc("e911.match", "127.0.0.6")
        self.assertRegex(text, r"match:\s*none")
        r = self.env.kamailio.kamcmd("e911.match", "not-an-ip", check=False)
        self.assertIn("not an IPv4 or IPv6 address", r.text)


class TestSiteLocationLua(SiteCase):
    """The KEMI (Lua) flavour of the reference cfg: the same site map wiring."""

    CFG = LUA_CFG

    def test_site_network_and_moved(self):
        call = self.call_from("127.0.0.5")
        body = self.pidf(self.assertInviteAt(call, "default"))
        self.assertCivic(body, {"BLD": "Tower C", "FLR": "3"})
        self.assertEqual(set(self.methods(body)), {b"Wiremap"})
        self.assertEqual(self.audit_of(call)["location"]["won"], "network")
        call = self.call_from("127.0.0.6")
        self.assertInviteAt(call, "psap")
        self.assertTrue(self.audit_of(call)["location"]["moved"])


# ---------------------------------------------------------------------------
# 2. refresh: a new map changes the answer, a broken one keeps the old

class TestSiteMapRefresh(SiteCase):
    DEFINES = {"E911_SITES_MAX_BYTES": "8192"}

    def test_refresh_then_broken_map_keeps_the_old_one(self):
        before = self.rpc_int(self.rpc("e911.sites", "0"), "loads")
        doc = load_sites()
        site(doc, "tower-c-3")["networks"].append("127.0.0.6/32")
        with open(self.map_path + ".new", "w") as f:
            json.dump(doc, f)
        os.replace(self.map_path + ".new", self.map_path)
        self.wait_rpc(lambda x: (self.rpc_int(x, "loads") or 0) > before)
        call = self.call_from("127.0.0.6")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})
        # hostile maps, one after the other: each is refused with its reason,
        # the map loaded before keeps answering
        hostile = [
            (b'{"sites": [ {"id": "x",', "malformed JSON"),
            (json.dumps({"sites": [{"id": "all", "networks": ["0.0.0.0/0"],
                                    "civic": {"country": "US"}}]}).encode(),
             "/0 is too broad"),
            (json.dumps({"sites": [{"id": "a", "networks": ["10.1.3.5/24"],
                                    "civic": {"country": "US"}}]}).encode(),
             "host bits set"),
            (json.dumps({"sites": [{"id": "a", "networks": ["10.1.3.0/24"],
                                    "civic": {"A1": ["x"]}}]}).encode(),
             "civic.A1"),
            (json.dumps({"sites": [{"id": "a", "networks": ["10.1.3.0/24"],
                                    "civic": {"LOC": "x" * 9000}}]}).encode(),
             "document larger than sites_max_bytes (8192)"),
            (json.dumps({"sites": [
                {"id": "a", "networks": ["10.1.3.0/24"], "civic": {"A3": "x"}},
                {"id": "b", "networks": ["10.1.3.0/24"], "civic": {"A3": "y"}}]}).encode(),
             "10.1.3.0/24 is claimed by two sites (a and b)"),
        ]
        for body, reason in hostile:
            failures = self.rpc_int(self.rpc("e911.sites", "0"), "failures")
            with open(self.map_path + ".new", "wb") as f:
                f.write(body)
            os.replace(self.map_path + ".new", self.map_path)
            text = self.wait_rpc(lambda x: (self.rpc_int(x, "failures") or 0) > failures)
            self.assertIn(reason, text)
            self.assertEqual(self.rpc_int(text, "sites"), 3, text)
        call = self.call_from("127.0.0.6")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})
        self.assertIn("keeping the map loaded", self.env.kamailio.log_text())


class TestSiteRetry(SiteCase):
    """A site whose PSAP fails: the failure-route retry toward the fallback
    carries the site's location too (the first call is a cache miss, so the
    rewrite is made in the resumed route and repeated in the failure route)."""

    def test_retry_to_fallback_keeps_the_site_location(self):
        doc = load_sites()
        doc["sites"].append({"id": "busy-site", "networks": ["127.0.0.9/32"],
                             "civic": {"country": "US", "A1": "IL", "A3": "Chicago",
                                       "RD": "Lake", "STS": "St", "HNO": "5",
                                       "BLD": "Annex", "FLR": "2"},
                             "route": {"uri": self.env.psap_uri("busy")}})
        before = self.rpc_int(self.rpc("e911.sites", "0"), "loads")
        with open(self.map_path + ".new", "w") as f:
            json.dump(doc, f)
        os.replace(self.map_path + ".new", self.map_path)
        self.wait_rpc(lambda x: (self.rpc_int(x, "loads") or 0) > before)
        for caller in ("alice", "alice", "nobody-known"):
            with self.subTest(caller=caller):
                call = self.env.call("911", caller=caller, local_ip="127.0.0.9",
                                     tag="retry-%s" % caller)
                hits = self.env.find_invites(call.call_id, count=2)
                self.assertEqual([r for r, _ in hits], ["busy", "fallback"], call.describe())
                for _, rx in hits:
                    body = self.pidf(rx)
                    self.assertCivic(body, {"BLD": "Annex", "FLR": "2", "RD": "Lake"})
                    self.assertEqual(set(self.methods(body)), {b"Wiremap"})


class TestSiteMapHttp(SiteCase):
    """The map over HTTP: conditional GET, refresh, a failing server."""

    @classmethod
    def extra_setup(cls):
        cls.server = MapServer(load_sites())

    @classmethod
    def sites_url(cls):
        return cls.server.url

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.server.stop()

    def test_conditional_get_refresh_and_failure(self):
        # unchanged: the refresher asks with If-None-Match and gets 304
        deadline = time.monotonic() + t.scaled(6)
        while time.monotonic() < deadline:
            with self.server.lock:
                if any(code == 304 for _, code in self.server.requests):
                    break
            time.sleep(0.2)
        with self.server.lock:
            reqs = list(self.server.requests)
        self.assertEqual(reqs[0], (None, 200), reqs)
        self.assertIn((self.server.etag, 304), reqs)
        call = self.call_from("127.0.0.6")
        self.assertInviteAt(call, "psap")
        # a new map: the answer changes without a restart
        doc = load_sites()
        site(doc, "tower-c-3")["networks"].append("127.0.0.6/32")
        before = self.rpc_int(self.rpc("e911.sites", "0"), "loads")
        self.server.set_body(json.dumps(doc).encode())
        self.wait_rpc(lambda x: (self.rpc_int(x, "loads") or 0) > before)
        call = self.call_from("127.0.0.6")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})
        # the server fails: the map stays
        failures = self.rpc_int(self.rpc("e911.sites", "0"), "failures")
        self.server.mode = "500"
        text = self.wait_rpc(lambda x: (self.rpc_int(x, "failures") or 0) > failures)
        self.assertIn("HTTP 500", text)
        call = self.call_from("127.0.0.6")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})
        self.server.mode = "ok"
        # 10^5 prefixes (1000 sites of 100 /32s, nested in the campus /8s
        # of 100 more sites): loaded, and every answer still right
        doc = load_sites()
        for i in range(100):
            doc["sites"].append({"id": "campus-%d" % i, "networks": ["%d.0.0.0/8" % (20 + i)],
                                 "civic": {"country": "US", "A3": "Campus %d" % i}})
        for i in range(1000):
            doc["sites"].append({
                "id": "floor-%d" % i,
                "networks": ["%d.%d.%d.%d/32" % (20 + i % 100, i // 100, j, 7) for j in range(100)],
                "civic": {"country": "US", "A3": "Chicago", "FLR": str(i)}})
        before = self.rpc_int(self.rpc("e911.sites", "0"), "loads")
        self.server.set_body(json.dumps(doc).encode())
        text = self.wait_rpc(lambda x: (self.rpc_int(x, "loads") or 0) > before, 20)
        self.assertEqual(self.rpc_int(text, "prefixes_v4"), 100102, text)
        self.assertIn("floor-512", self.rpc("e911.match", "32.5.42.7"))
        self.assertIn("campus-12", self.rpc("e911.match", "32.5.42.8"))
        call = self.call_from("127.0.0.5")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})


class TestSiteMapUnreachable(SiteCase):
    """Nothing listens where the map should be: Kamailio starts, calls route
    with the service record, the error says so."""

    @classmethod
    def sites_url(cls):
        return "http://%s:%d/sites.json" % (t.HOST, t.free_port())

    def test_calls_route_without_a_map(self):
        call = self.call_from("127.0.0.5")
        rx = self.assertInviteAt(call, "psap")
        self.assertCivic(self.pidf(rx), {"A3": "Evanston"})
        log = self.env.kamailio.log_text()
        self.assertIn("no site map loaded: calls use the device and service "
                      "locations until one loads", log)
        text = self.rpc("e911.sites", "0")
        self.assertRegex(text, r"loaded:\s*0")
        # the module's verdict, not libcurl's wording (7: "Couldn't connect",
        # 8: "Could not connect")
        self.assertRegex(text, r"failures:\s*[1-9]")
        self.assertRegex(text, r"last_error:\s*\S")


# ---------------------------------------------------------------------------
# 3. precedence: device Geolocation vs site vs record

class PrecedenceCase(SiteCase):
    # the callers' own LIS may be forwarded (issue 18's geolocation_allow)
    LIS = {"E911_GEOLOCATION_ALLOW": t.q("https://lis.caller.example")}

    @classmethod
    def extra_setup(cls):
        cls.DEFINES = dict(cls.LIS, **cls.DEFINES)

    def device_call(self):
        # from the site network, with the device's own Geolocation
        return self.call_from("127.0.0.5", scenario="uac_invite_locsrc.xml")


class TestPrecedenceDefault(PrecedenceCase):
    """network,device,service: the site wins over the device's Geolocation."""

    def test_site_over_device_over_record(self):
        call = self.device_call()
        rx = self.assertInviteAt(call, "default")
        vals = rx.msg.values("Geolocation")
        self.assertEqual(vals[0], "<https://lis.caller.example/loc/1234>")
        self.assertEqual(len(vals), 2, vals)
        self.assertCivic(self.pidf(rx), {"BLD": "Tower C"})
        self.assertEqual(self.audit_of(call)["location"]["won"], "network")
        # from elsewhere the device's own location comes next
        call = self.call_from("127.0.0.6", scenario="uac_invite_locsrc.xml")
        rx = self.assertInviteAt(call, "psap")
        self.assertEqual(rx.msg.values("Geolocation"),
                         ["<https://lis.caller.example/loc/1234>"])
        self.assertNotEqual(rx.msg.content_type, "multipart/mixed")
        a = self.audit_of(call)["location"]
        self.assertEqual(a["won"], "device")
        self.assertIn("no site for 127.0.0.6", a["why"])


class TestPrecedenceDeviceFirst(PrecedenceCase):
    DEFINES = {"E911_LOCATION_PRECEDENCE": t.q("device,network,service")}

    def test_device_over_site(self):
        call = self.device_call()
        rx = self.assertInviteAt(call, "psap")
        self.assertEqual(rx.msg.values("Geolocation"),
                         ["<https://lis.caller.example/loc/1234>"])
        self.assertNotEqual(rx.msg.content_type, "multipart/mixed")
        self.assertEqual(rx.msg.header_all("Priority"), ["emergency"])
        self.assertEqual(self.audit_of(call)["location"]["won"], "device")


class TestPrecedenceServiceFirst(PrecedenceCase):
    DEFINES = {"E911_LOCATION_PRECEDENCE": t.q("service,network,device")}

    def test_record_over_site_and_device(self):
        call = self.device_call()
        rx = self.assertInviteAt(call, "psap")
        self.assertCivic(self.pidf(rx), {"A3": "Evanston"})
        a = self.audit_of(call)["location"]
        self.assertEqual((a["won"], a["site"], a["conflict"]), ("service", "tower-c-3", True))
        self.assertIn("precedence service,network,device", a["why"])
        # a caller without a record: the site comes next
        call = self.call_from("127.0.0.5", caller="nobody-known")
        self.assertCivic(self.pidf(self.assertInviteAt(call, "default")),
                         {"BLD": "Tower C"})


# ---------------------------------------------------------------------------
# 4. the confirmation loop at REGISTER

class Phone:
    """A SIP phone on one loopback address: REGISTERs over UDP and answers the
    MESSAGEs it gets with 200, keeping them."""

    def __init__(self, ip, user):
        self.ip = ip
        self.user = user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.messages = []
        self.cseq = 0

    def register(self, kport, timeout=5.0, expires=3600):
        """Sends a REGISTER; returns (status, seconds to the final reply)."""
        self.cseq += 1
        cid = "reg-%s-%s-%d@%s" % (self.user, self.ip, self.cseq, self.ip)
        msg = ("REGISTER sip:%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%d-%d;rport\r\n"
               "From: <sip:%s@e911.test>;tag=ph%d\r\n"
               "To: <sip:%s@e911.test>\r\n"
               "Call-ID: %s\r\nCSeq: %d REGISTER\r\n"
               "Contact: <sip:%s@%s:%d>\r\nExpires: %d\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n") % (
            t.HOST, kport, self.ip, self.port, self.port, self.cseq, self.user,
            self.cseq, self.user, cid, self.cseq, self.user, self.ip, self.port, expires)
        t0 = time.monotonic()
        self.sock.sendto(msg.encode(), (t.HOST, kport))
        deadline = t0 + t.scaled(timeout)
        while time.monotonic() < deadline:
            for data, addr in self.poll():
                first = data.split(b"\r\n", 1)[0].decode()
                if first.startswith("SIP/2.0 ") and cid.encode() in data:
                    code = int(first.split()[1])
                    if code >= 200:
                        return code, time.monotonic() - t0
        return None, None

    def poll(self):
        """Datagrams that are not MESSAGEs (which are answered and kept)."""
        out = []
        try:
            while True:
                data, addr = self.sock.recvfrom(65535)
                if data.startswith(b"MESSAGE "):
                    self.messages.append(data)
                    self.sock.sendto(self.reply_200(data), addr)
                else:
                    out.append((data, addr))
        except socket.timeout:
            pass
        return out

    @staticmethod
    def reply_200(req):
        head = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower() in
                (b"via", b"from", b"to", b"call-id", b"cseq")]
        keep = [h + b";tag=phone" if h.lower().startswith(b"to:") else h for h in keep]
        return b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n"

    def wait_messages(self, n, timeout):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline and len(self.messages) < n:
            self.poll()
        self.poll()
        return list(self.messages)

    def close(self):
        self.sock.close()


class TestConfirmationLoop(SiteCase):
    UPDATE_URL = "https://portal.example/e911"

    @classmethod
    def extra_setup(cls):
        cls.hook = Webhook()
        cls.DEFINES = {"E911_REGISTER_CHECK": None,
                       "E911_CONFIRM_WINDOW": "3600",
                       "E911_CONFIRM_UPDATE_URL": t.q(cls.UPDATE_URL),
                       "E911_NOTIFY_URL": t.q(cls.hook.url)}

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.hook.stop()

    def test_new_network_one_message_one_event(self):
        phone = Phone("127.0.0.6", "alice")
        try:
            code, took = phone.register(self.env.kamailio.port)
            self.assertEqual(code, 200)
            msgs = phone.wait_messages(1, 5)
            self.assertEqual(len(msgs), 1, msgs)
            body = msgs[0].split(b"\r\n\r\n", 1)[1].decode()
            self.assertIn("9 Elm Ave", body)
            self.assertIn("Evanston", body)
            self.assertIn(self.UPDATE_URL, body)
            self.assertIn("127.0.0.6", body)
            self.assertIn(b"Content-Type: text/plain", msgs[0])
            deadline = time.monotonic() + t.scaled(5)
            while time.monotonic() < deadline and not self.events_from("127.0.0.6"):
                time.sleep(0.05)
            ev = self.events_from("127.0.0.6")
            self.assertEqual(len(ev), 1, ev)
            self.assertEqual((ev[0]["key"], ev[0]["network"], ev[0]["update_url"]),
                             ("alice", "127.0.0.6", self.UPDATE_URL))
            self.assertIn("Evanston", ev[0]["address_on_file"])
            # again from the same network: nothing
            code, _ = phone.register(self.env.kamailio.port)
            self.assertEqual(code, 200)
            time.sleep(t.scaled(1.5))
            self.assertEqual(len(phone.wait_messages(2, 0.5)), 1)
            self.assertEqual(len(self.events_from("127.0.0.6")), 1)
        finally:
            phone.close()

    def test_notification_says_which_source_won(self):
        call = self.call_from("127.0.0.5")
        self.assertInviteAt(call, "default")
        call2 = self.call_from("127.0.0.6")
        self.assertInviteAt(call2, "psap")
        deadline = time.monotonic() + t.scaled(5)
        got = {}
        while time.monotonic() < deadline and len(got) < 2:
            for e in self.hook.events("emergency_call"):
                if e.get("call_id") in (call.call_id, call2.call_id):
                    got[e["call_id"]] = e["location"]
            time.sleep(0.05)
        a, b = got.get(call.call_id), got.get(call2.call_id)
        self.assertIsNotNone(a, got)
        self.assertIsNotNone(b, got)
        self.assertEqual((a["won"], a["site"], a["moved"], a["conflict"]),
                         ("network", "tower-c-3", False, True))
        self.assertIn("Tower C", a["address"])
        self.assertEqual((b["won"], b["moved"]), ("service", True))
        self.assertIn("no site for 127.0.0.6", b["why"])

    def events_from(self, ip):
        return [e for e in self.hook.events("location-unconfirmed") if e["network"] == ip]

    def test_deregistration_asks_nothing(self):
        phone = Phone("127.0.0.8", "alice")
        try:
            code, _ = phone.register(self.env.kamailio.port, expires=0)
            self.assertEqual(code, 200)
            self.assertEqual(phone.wait_messages(1, 1.5), [])
            # not remembered as seen either: the next registration asks
            code, _ = phone.register(self.env.kamailio.port)
            self.assertEqual(code, 200)
            self.assertEqual(len(phone.wait_messages(1, 5)), 1)
        finally:
            phone.close()

    def test_site_or_registered_network_no_message(self):
        before = len(self.hook.events("location-unconfirmed"))
        # (bob: no other test registers him)
        for ip in ("127.0.0.5", "127.0.0.1"):
            phone = Phone(ip, "bob")
            try:
                code, _ = phone.register(self.env.kamailio.port)
                self.assertEqual(code, 200)
                self.assertEqual(phone.wait_messages(1, 1.5), [], ip)
            finally:
                phone.close()
        self.assertEqual(len(self.hook.events("location-unconfirmed")), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
