#!/usr/bin/env python3
# kamailio-e911: the shared-memory location cache, observed from outside.
#
# Stale records when the service fails, the snapshot across a restart, the
# circuit breaker, the size bound, prefetch on REGISTER, refresh-ahead, the
# backup service, and the RPC commands and statistics - each checked on what
# the PSAP received, what the location service was asked, and kamcmd.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import copy
import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402


def statistics(env):
    """The e911: statistics as a dict (kamcmd stats.get_statistics)."""
    out = env.kamailio.kamcmd("stats.get_statistics", "e911:").text
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"e911:(\w+) = (-?\d+)", out)}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rpc(env, *args):
    return env.kamailio.kamcmd(*args).text


def record_without_max_age(env, key, template="alice"):
    rec = copy.deepcopy(env.records[template])
    rec["key"] = key
    rec.pop("max_age", None)
    return rec


class CacheCase(t.E911TestCase):
    """Shared helpers; each class starts its own environment."""

    DEFINES = {}
    CACHE_TTL = 300
    TIMEOUT_MS = 500

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env(cls.__name__, timeout_ms=cls.TIMEOUT_MS,
                            cache_ttl=cls.CACHE_TTL, defines=cls.DEFINES)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def add_record(self, key, rec):
        self.env.records[key] = rec
        self.env.locsvc.put_records(self.env.records)

    def call_at(self, role, caller, service="911"):
        call = self.env.call(service, caller=caller)
        self.assertCallOk(call)
        return call, self.assertInviteAt(call, role)

    def assertHasLocation(self, rx, rec):
        mp = rx.msg.multipart()
        pidf = mp.by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1, "no PIDF-LO part")
        civic = dict(t.pidf_civic(pidf[0].body)[0])
        for k in ("country", "A3", "RD", "HNO", "FLR", "ROOM"):
            if k in rec.get("civic", {}):
                self.assertEqual(civic.get(k), rec["civic"][k], "civic %s" % k)
        self.assertEqual(len(rx.msg.header_all("Geolocation")), 1)


class TestStale(CacheCase):
    """cache_ttl 1 s: a record goes stale quickly; the service then fails.
    No refresh-ahead here, so the entry really goes stale."""

    CACHE_TTL = 1
    DEFINES = {"E911_REFRESH_AHEAD": "0"}

    def test_stale_record_served_and_counted(self):
        rec = record_without_max_age(self.env, "stella")
        self.add_record("stella", rec)
        _, rx = self.call_at("psap", "stella")
        self.assertHasLocation(rx, rec)
        time.sleep(1.5)
        before = statistics(self.env)
        self.env.locsvc.control("status", status=503)
        try:
            _, rx = self.call_at("psap", "stella")
        finally:
            self.env.locsvc.reset()
        self.assertHasLocation(rx, rec)
        after = statistics(self.env)
        self.assertEqual(after["stale_served"], before["stale_served"] + 1)
        self.assertEqual(after["fetch_errors"], before["fetch_errors"] + 1)
        self.assertIn("serving the last good record", self.env.kamailio.log_text())

    def test_404_purges_the_cached_record(self):
        rec = record_without_max_age(self.env, "gone")
        self.add_record("gone", rec)
        self.call_at("psap", "gone")
        time.sleep(1.5)
        del self.env.records["gone"]
        self.env.locsvc.put_records(self.env.records)
        call, rx = self.call_at("fallback", "gone")
        self.assertEqual(rx.msg.header_all("Geolocation"), [])
        # negative-cached: the next call does not ask again
        n = self.env.locsvc.requests_for("gone")
        self.call_at("fallback", "gone")
        self.assertEqual(self.env.locsvc.requests_for("gone"), n)


class TestBreaker(CacheCase):
    """Three failures open the breaker: no call waits for the timeout."""

    TIMEOUT_MS = 800
    DEFINES = {"E911_BREAKER_FAILURES": "3", "E911_BREAKER_COOLDOWN": "2"}

    def test_breaker_opens_and_closes(self):
        self.env.locsvc.control("hang")
        try:
            for caller in ("nobody1", "nobody2", "nobody3"):
                self.call_at("fallback", caller)
            self.assertEqual(statistics(self.env)["breaker_opens"], 1)
            call, rx = self.call_at("fallback", "nobody4")
            delay = rx.time - call.invite_sent_time()
            self.assertLess(delay, 0.3, "with the breaker open the fallback took "
                            "%.3f s (timeout %d ms)" % (delay, self.TIMEOUT_MS))
            # only the prober asks an open breaker's service, never a caller
            self.assertEqual(self.env.locsvc.requests_for("nobody4"), 0,
                             "the service was asked for a caller while the breaker "
                             "was open")
            self.assertIn("breaker open", self.env.kamailio.log_text())
        finally:
            self.env.locsvc.reset()
        # the prober closes it as soon as the service answers again
        time.sleep(2.5)
        _, rx = self.call_at("psap", "alice")
        self.assertHasLocation(rx, self.env.records["alice"])
        self.assertIn("breaker closed", self.env.kamailio.log_text())


class TestBound(CacheCase):
    """cache_size 20: 10x as many distinct keys leave at most 20 entries."""

    DEFINES = {"E911_CACHE_SIZE": "20"}

    def test_size_bound_holds(self):
        self.env.add_records(self.env.copies_of("alice", ["k%03d" % i for i in range(200)]))
        for i in range(200):
            self.assertIn("fresh", rpc(self.env, "e911.refresh", "k%03d" % i))
        stats = rpc(self.env, "e911.stats")
        entries = int(re.search(r"entries: (\d+)", stats).group(1))
        evictions = int(re.search(r"evictions: (\d+)", stats).group(1))
        self.assertLessEqual(entries, 20, stats)
        self.assertGreaterEqual(evictions, 180, stats)
        self.assertEqual(statistics(self.env)["evictions"], evictions)
        # and calls still route with their location
        _, rx = self.call_at("psap", "k199")
        self.assertHasLocation(rx, self.env.records["k199"])


class TestRpcAndPrefetch(CacheCase):
    """RPC commands, statistics, prefetch on REGISTER, refresh-ahead."""

    DEFINES = {"E911_REFRESH_AHEAD": "2"}

    def test_rpc_commands(self):
        self.call_at("psap", "alice")
        out = rpc(self.env, "e911.get", "alice")
        self.assertIn("state: fresh", out)
        self.assertIn('"key":"alice"', out)
        self.assertIn("Chicago", out)
        self.assertIn("alice", rpc(self.env, "e911.list"))
        self.assertIn("entries:", rpc(self.env, "e911.stats"))
        self.assertIn("primary_breaker: closed", rpc(self.env, "e911.stats"))
        # flush one key: the next call asks the service again
        n = self.env.locsvc.requests_for("alice")
        rpc(self.env, "e911.flush", "alice")
        self.assertIn("not cached", self.env.kamailio.kamcmd(
            "e911.get", "alice", check=False).text)
        self.call_at("psap", "alice")
        self.assertEqual(self.env.locsvc.requests_for("alice"), n + 1)
        # refresh fetches now
        out = rpc(self.env, "e911.refresh", "alice")
        self.assertIn("status: fresh", out)
        self.assertIn("source: service", out)
        self.assertEqual(self.env.locsvc.requests_for("alice"), n + 2)
        rpc(self.env, "e911.flush")
        self.assertEqual(rpc(self.env, "e911.list").strip(), "")
        # the documentation strings are there
        self.assertIn("cache", rpc(self.env, "system.methodHelp", "e911.stats").lower())

    def test_statistics_exported(self):
        stats = statistics(self.env)
        for name in ("lookups", "cache_hits", "cache_misses", "negative_hits",
                     "stale_served", "snapshot_served", "fetch_errors",
                     "fetch_timeouts", "breaker_opens", "evictions",
                     "fallback_routes"):
            self.assertIn(name, stats)
        before = statistics(self.env)
        self.call_at("psap", "carol")
        self.call_at("psap", "carol")
        after = statistics(self.env)
        self.assertEqual(after["lookups"], before["lookups"] + 2)
        self.assertGreaterEqual(after["cache_hits"], before["cache_hits"] + 1)

    def test_prefetch_on_register(self):
        self.assertEqual(self.env.locsvc.requests_for("dave"), 0)
        reg = self.env.call("", caller="dave", scenario="uac_register.xml")
        self.assertCallOk(reg)
        deadline = time.monotonic() + t.scaled(5)
        while self.env.locsvc.requests_for("dave") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.env.locsvc.requests_for("dave"), 1, "no prefetch")
        time.sleep(0.2)
        _, rx = self.call_at("psap", "dave")
        self.assertEqual(self.env.locsvc.requests_for("dave"), 1,
                         "the INVITE after REGISTER asked the service again")
        self.assertHasLocation(rx, self.env.records["dave"])

    def test_refresh_ahead(self):
        rec = record_without_max_age(self.env, "rita")
        rec["max_age"] = 3
        self.add_record("rita", rec)
        self.call_at("psap", "rita")
        n = self.env.locsvc.requests_for("rita")
        # in use and within refresh_ahead (2 s) of expiry: refreshed by the
        # housekeeper with no call
        deadline = time.monotonic() + t.scaled(6)
        while self.env.locsvc.requests_for("rita") == n and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreater(self.env.locsvc.requests_for("rita"), n, "no refresh-ahead")
        self.assertIn("state: fresh", rpc(self.env, "e911.get", "rita"))


class TestBackup(CacheCase):
    """location_url_backup: a second service answers when the first fails."""

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env(cls.__name__, timeout_ms=cls.TIMEOUT_MS)
        # the backup service shares the records; started before Kamailio
        cls.backup = t.start_backup(cls.env)
        cls.env.start()
        # the backup's records need the PSAP ports: now known
        cls.backup.put_records(cls.env.records)

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        if cls.backup:
            cls.backup.stop()

    def test_backup_answers_when_primary_is_down(self):
        self.env.locsvc.stop()
        try:
            _, rx = self.call_at("psap", "erin")
            self.assertHasLocation(rx, self.env.records["erin"])
            self.assertEqual(self.backup.requests_for("erin"), 1)
            self.assertIn("trying the backup", self.env.kamailio.log_text())
        finally:
            self.env.locsvc.start()


class TestSnapshot(CacheCase):
    """Snapshot written at shutdown, loaded at start-up with the service down."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.snapdir = tempfile.mkdtemp(prefix="e911-snap-")
        cls.snap = os.path.join(cls.snapdir, "e911.snapshot")
        cls.DEFINES = {"E911_SNAPSHOT_FILE": t.q(cls.snap),
                       "E911_SNAPSHOT_INTERVAL": "1"}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        import shutil
        shutil.rmtree(cls.snapdir, ignore_errors=True)

    def restart_kamailio(self):
        self.env.kamailio.stop()
        self.env.kamailio.start()

    def test_restart_during_outage_uses_snapshot(self):
        self.call_at("psap", "frank")
        self.call_at("psap", "grace")
        self.restart_kamailio()          # writes the snapshot at shutdown
        self.assertTrue(os.path.exists(self.snap))
        self.assertEqual(os.stat(self.snap).st_mode & 0o777, 0o600)
        self.env.locsvc.stop()
        try:
            self.restart_kamailio()      # loads it
            self.assertIn("records loaded", self.env.kamailio.log_text())
            _, rx = self.call_at("psap", "frank")
            self.assertHasLocation(rx, self.env.records["frank"])
            self.assertEqual(statistics(self.env)["snapshot_served"], 1)
        finally:
            self.env.locsvc.start()

    def test_periodic_snapshot_and_corrupt_file(self):
        self.call_at("psap", "heidi")
        deadline = time.monotonic() + t.scaled(5)
        while time.monotonic() < deadline:
            if os.path.exists(self.snap) and b'"heidi"' in read(self.snap):
                break
            time.sleep(0.2)
        self.assertIn(b'"heidi"', read(self.snap), "no periodic snapshot")
        self.env.kamailio.stop()
        data = read(self.snap)
        with open(self.snap, "wb") as f:
            f.write(data[:len(data) // 2])   # truncated
        self.env.kamailio.start()
        self.assertIn("snapshot", self.env.kamailio.log_text())
        self.assertIn("ignored", self.env.kamailio.log_text())
        _, rx = self.call_at("psap", "heidi")   # the service is up: fetched
        self.assertHasLocation(rx, self.env.records["heidi"])


if __name__ == "__main__":
    t.main()
