#!/usr/bin/env python3
# kamailio-e911: a caller's own identity and location do not reach the PSAP
# (issue 18, item 5). Hand-made INVITEs over UDP and TCP (rawsip.py).
#
#   TestUntrusted    the reference cfg as it is: a caller's P-Asserted-Identity,
#                    P-Preferred-Identity and by-reference Geolocation never
#                    reach a PSAP (the fallback included); cid: is kept
#   TestGeoPolicy    E911_GEOLOCATION_ALLOW lets one LIS through, nothing else
#   TestAuth         WITH_AUTH: digest against auth_db on db_sqlite (the
#                    standard subscriber table, created here from the kamailio
#                    package's sqlite schema); the lookup is keyed on the
#                    authenticated user; an unauthenticated emergency call goes
#                    to the fallback without anyone's location, never rejected;
#                    a trusted SBC (a permissions address file) counts as
#                    authenticated and its asserted identity is kept
#
#   E911_BUILD_DIR=build python3 test/integration/test_trust.py
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import glob
import os
import re
import sqlite3
import sys
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e911test as t  # noqa: E402
from rawsip import RawSip, digest_response  # noqa: E402

EVIL_PAI = "P-Asserted-Identity: <sip:+15550000000@evil.example>"
EVIL_PPI = "P-Preferred-Identity: <sip:+15550000001@evil.example>"
EVIL_GEO = "Geolocation: <https://evil.example/loc>"
ALICE_CB = "+13125550100"
SQLITE_SCHEMA_DIRS = ["/usr/share/kamailio/db_sqlite"]


def raw_call(env, transport, caller, headers=(), local_port=0, **kw):
    c = RawSip(env.kamailio.port, transport, local_port=local_port)
    try:
        return c.invite("911", from_user=caller, headers=headers, **kw)
    finally:
        c.close()


LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")


class TrustCase(t.E911TestCase):
    DEFINES = {}
    CFG = t.E911_CFG

    @classmethod
    def setUpClass(cls):
        defines = dict(cls.DEFINES)
        if cls.CFG == LUA_CFG:
            if not os.path.exists(os.path.join(t.KAMAILIO_MODULES_DIR, "app_lua.so")):
                raise unittest.SkipTest("app_lua.so is not installed")
            defines["E911_LUA"] = t.q(LUA_SCRIPT)
        cls.env = t.E911Env(cls.__name__, cfg=cls.CFG, tcp=True, defines=defines)
        cls.prepare(cls.env)
        cls.env.start()

    @classmethod
    def prepare(cls, env):
        pass

    @classmethod
    def tearDownClass(cls):
        if cls.env is not None:
            cls.env.stop()

    def reached(self, tx, role):
        self.assertIsNotNone(tx.final, "no final response (%s)" % tx.codes)
        self.assertEqual(tx.final.status, 200, "the emergency call got %s" % tx.codes)
        return self.assertInviteAt(tx, role)

    def assertNoEvil(self, rx):
        m = rx.msg
        self.assertNotIn(b"evil.example", m.raw,
                         "the caller's own identity or location reached the PSAP:\n%s"
                         % m.head_bytes.decode("utf-8", "replace"))
        self.assertEqual(m.header_all("P-Preferred-Identity"), [])

    def located_as(self, rx, callback):
        m = rx.msg
        self.assertEqual(m.header_all("P-Asserted-Identity"),
                         ["<sip:%s@e911.localhost;user=phone>" % callback])
        pidf = m.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1)
        return pidf[0]

    def assertNoLocation(self, rx):
        m = rx.msg
        self.assertEqual(m.header_all("Geolocation"), [])
        if m.content_type.startswith("multipart/"):
            self.assertEqual(m.multipart().by_type("application/pidf+xml"), [])


class TestUntrusted(TrustCase):

    def check_fallback(self, transport):
        tx = raw_call(self.env, transport, "nobody-%s" % transport,
                      headers=[EVIL_PAI, EVIL_PPI, EVIL_GEO])
        rx = self.reached(tx, "fallback")
        self.assertNoEvil(rx)
        self.assertEqual(rx.msg.header_all("P-Asserted-Identity"), [])
        self.assertEqual(rx.msg.header_all("Geolocation"), [])
        self.assertEqual(rx.msg.header_all("Priority"), ["emergency"])

    def test_fallback_gets_no_caller_identity_udp(self):
        self.check_fallback("udp")

    def test_fallback_gets_no_caller_identity_tcp(self):
        self.check_fallback("tcp")

    def check_located(self, transport):
        tx = raw_call(self.env, transport, "alice",
                      headers=[EVIL_PAI, EVIL_PPI, EVIL_GEO,
                               "Geolocation: <https://evil.example/x>, <cid:dev@caller.example>"])
        rx = self.reached(tx, "psap")
        self.assertNoEvil(rx)
        pidf = self.located_as(rx, ALICE_CB)
        # by value stays as today: the caller's cid: value kept, ours last
        self.assertEqual(rx.msg.values("Geolocation"),
                         ["<cid:dev@caller.example>", "<cid:%s>" % pidf.content_id])

    def test_located_call_keeps_only_cid_udp(self):
        self.check_located("udp")

    def test_located_call_keeps_only_cid_tcp(self):
        self.check_located("tcp")

    def test_retry_to_fallback_gets_no_caller_identity(self):
        # yvonne-busy's PSAP answers 503: the failure route retries toward the
        # fallback with the same location. First call: the rewrite is made in
        # the resumed route (lookup miss), repeated in the failure route; second
        # call: cached, made in the request route, its lumps kept for the retry.
        for transport in ("udp", "tcp", "udp"):
            with self.subTest(transport=transport):
                tx = raw_call(self.env, transport, "yvonne-busy",
                              headers=[EVIL_PAI, EVIL_PPI, EVIL_GEO])
                hits = self.env.find_invites(tx.call_id, count=2)
                self.assertEqual([r for r, _ in hits], ["busy", "fallback"], tx.describe())
                for _, rx in hits:
                    self.assertNoEvil(rx)
                    self.located_as(rx, "+13125550155")


class TestGeoPolicy(TrustCase):
    DEFINES = {"E911_GEOLOCATION_ALLOW": t.q("https://lis.caller.example, sips:lis.caller.example")}

    def check(self, transport):
        tx = raw_call(self.env, transport, "nobody-geo-%s" % transport, headers=[
            "Geolocation: <https://lis.caller.example/loc/1>, <https://evil.example/loc>",
            "Geolocation: <https://lis.caller.example@evil.example/loc>",
            "Geolocation: <sips:loc-9@lis.caller.example>"])
        rx = self.reached(tx, "fallback")
        self.assertNoEvil(rx)
        self.assertEqual(rx.msg.values("Geolocation"),
                         ["<https://lis.caller.example/loc/1>",
                          "<sips:loc-9@lis.caller.example>"])

    def test_allowed_lis_only_udp(self):
        self.check("udp")

    def test_allowed_lis_only_tcp(self):
        self.check("tcp")


def schema_file(name):
    for d in SQLITE_SCHEMA_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


class TestAuth(TrustCase):
    """WITH_AUTH, and a trusted SBC on 127.0.0.1:<sbc_port>."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(t.KAMAILIO_MODULES_DIR, "db_sqlite.so")):
            raise unittest.SkipTest("db_sqlite.so is not installed (kamailio-sqlite-modules)")
        if not (schema_file("standard-create.sql") and schema_file("auth_db-create.sql")):
            raise unittest.SkipTest("the kamailio sqlite schema files are not installed")
        cls.sbc_port = t.free_port()
        cls.DEFINES = {"WITH_AUTH": None}
        super().setUpClass()

    @classmethod
    def prepare(cls, env):
        db = os.path.join(env.workdir, "kamailio.sqlite")
        con = sqlite3.connect(db)
        for name in ("standard-create.sql", "auth_db-create.sql"):
            with open(schema_file(name)) as f:
                con.executescript(f.read())
        con.executemany("INSERT INTO subscriber (username, domain, password) VALUES (?, ?, ?)",
                        [("alice", t.HOST, "alice-secret"), ("trudy", t.HOST, "trudy-secret")])
        con.commit()
        con.close()
        trusted = os.path.join(env.workdir, "trusted.list")
        with open(trusted, "w") as f:
            f.write("# group address mask port\n1 %s 32 %d\n" % (t.HOST, cls.sbc_port))
        env.extra_defines.update({"DBURL": t.q("sqlite:///" + db),
                                  "E911_TRUSTED_ADDRESSES": t.q(trusted)})

    def challenge(self, c):
        """A 407 for a non-emergency call, answered: the proxy's current nonce."""
        ruri = self.env.psap_uri("normal", "bob")
        tx = c.invite(ruri=ruri, from_user="alice", credentials=("alice", "alice-secret"))
        self.assertEqual(tx.final.status if tx.final else None, 200,
                         "an authenticated ordinary call failed: %s" % tx.codes)
        self.assertIsNotNone(c.last_challenge, "no digest challenge for an ordinary call")
        return c.last_challenge

    def authed_call(self, transport, user, password, caller):
        c = RawSip(self.env.kamailio.port, transport)
        try:
            chal = self.challenge(c)
            ruri = "sip:911@%s:%d" % (t.HOST, self.env.kamailio.port)
            auth = digest_response(chal, "INVITE", ruri, user, password)
            return c.invite("911", from_user=caller, ruri=ruri,
                            headers=["Proxy-Authorization: " + auth])
        finally:
            c.close()

    def log_count(self, pattern):
        return len(re.findall(pattern, self.env.kamailio.log_text()))

    def check_unauthenticated(self, transport):
        before = self.log_count(r"e911: emergency call from .* not authenticated")
        tx = raw_call(self.env, transport, "alice", headers=[EVIL_PAI])
        self.assertNotIn(407, tx.codes, "an emergency call was challenged")
        self.assertNotIn(401, tx.codes, "an emergency call was challenged")
        rx = self.reached(tx, "fallback")
        self.assertNoLocation(rx)
        self.assertNoEvil(rx)
        self.assertNotIn(ALICE_CB.encode(), rx.msg.raw, "alice's callback number reached "
                         "the PSAP for a caller who only wrote her name")
        deadline = time.monotonic() + 2
        while self.log_count(r"e911: emergency call from .* not authenticated") <= before:
            self.assertLess(time.monotonic(), deadline, "no log line for the unauthenticated call")
            time.sleep(0.05)

    def test_unauthenticated_goes_to_fallback_udp(self):
        self.check_unauthenticated("udp")

    def test_unauthenticated_goes_to_fallback_tcp(self):
        self.check_unauthenticated("tcp")

    def test_wrong_password_goes_to_fallback(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                tx = self.authed_call(transport, "alice", "not-her-password", "alice")
                rx = self.reached(tx, "fallback")
                self.assertNoLocation(rx)
                self.assertNotIn(ALICE_CB.encode(), rx.msg.raw)

    def test_keyed_on_authenticated_user(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                # alice, whatever From she writes
                tx = self.authed_call(transport, "alice", "alice-secret", "someone-else")
                rx = self.reached(tx, "psap")
                pidf = self.located_as(rx, ALICE_CB)
                self.assertIn(b"Main", pidf.body)
                # trudy writing alice's name gets her own (no) record, not alice's
                tx = self.authed_call(transport, "trudy", "trudy-secret", "alice")
                rx = self.reached(tx, "fallback")
                self.assertNoLocation(rx)
                self.assertNotIn(ALICE_CB.encode(), rx.msg.raw)

    def test_trusted_sbc_counts_as_authenticated(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                c = RawSip(self.env.kamailio.port, transport, local_port=self.sbc_port)
                try:
                    tx = c.invite("911", from_user="alice")
                    rx = self.reached(tx, "psap")
                    self.located_as(rx, ALICE_CB)
                    # the SBC vouches for its callers: its asserted identity is kept
                    pai = "<sip:+15557654321@sbc.example>"
                    tx = c.invite("911", from_user="nobody-sbc",
                                  headers=["P-Asserted-Identity: " + pai])
                    rx = self.reached(tx, "fallback")
                    self.assertEqual(rx.msg.header_all("P-Asserted-Identity"), [pai])
                finally:
                    c.close()


class TestUntrustedLua(TestUntrusted):
    """The same from cfg/kamailio-lua.cfg + cfg/e911.lua."""
    CFG = LUA_CFG


class TestAuthLua(TestAuth):
    """The same from cfg/kamailio-lua.cfg + cfg/e911.lua."""
    CFG = LUA_CFG


if __name__ == "__main__":
    unittest.main(verbosity=2)
