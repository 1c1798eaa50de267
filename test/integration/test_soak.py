#!/usr/bin/env python3
# kamailio-e911: soak - a sustained emergency call rate while the location service
# flaps, with Kamailio's memory measured before and after.
#
# SIPp (sipp/uac_soak.xml, callers from an injection file) sends emergency calls at
# E911_SOAK_RATE calls per second through Kamailio (cfg/kamailio.cfg) to two SIPp
# PSAPs: sipp/uas_soak_located.xml for the records' route (an INVITE there without a
# PIDF-LO and a Geolocation header fails the call) and sipp/uas_soak.xml for the
# fallback and default routes. The callers mix cached keys (max_age 300), keys asked
# for on every call (max_age 0) and unknown keys (404, negative-cached), more of
# them than the cache holds, so entries are evicted all the time. Meanwhile the
# location service is stopped and started every E911_SOAK_FLAP_SECONDS (every third
# outage it hangs instead of refusing), which opens and closes the breaker.
#
# After a warm-up under the same load, core.shmmem and pkg.stats are taken with no
# call in flight; then the soak runs for E911_SOAK_SECONDS (default 60, CI) and they
# are taken again. Asserted: zero failed emergency calls (caller side and PSAP side),
# every call reached a PSAP, shared memory flat (apart from what the e911 cache itself
# accounts for), no growth of any process's pkg memory.
#
#   E911_BUILD_DIR=build python3 test/integration/test_soak.py               # 60 s
#   E911_SOAK_SECONDS=600 E911_BUILD_DIR=build python3 test/integration/test_soak.py
#
# Environment: E911_SOAK_SECONDS (60), E911_SOAK_RATE (30 calls/s; divided by
# E911_TIME_SCALE under valgrind), E911_SOAK_FLAP_SECONDS (3), E911_SOAK_SHM_SLACK
# (bytes, 262144), E911_SOAK_PKG_SLACK (bytes per process, 32768).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import copy
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

SOAK_SECONDS = float(os.environ.get("E911_SOAK_SECONDS") or 60)
SOAK_RATE = float(os.environ.get("E911_SOAK_RATE") or 30)
FLAP_SECONDS = float(os.environ.get("E911_SOAK_FLAP_SECONDS") or 3)
SHM_SLACK = int(os.environ.get("E911_SOAK_SHM_SLACK") or 256 * 1024)
PKG_SLACK = int(os.environ.get("E911_SOAK_PKG_SLACK") or 32 * 1024)

UAC_SOAK = os.path.join(t.SIPP_DIR, "uac_soak.xml")
UAS_SOAK = os.path.join(t.SIPP_DIR, "uas_soak.xml")
UAS_LOCATED = os.path.join(t.SIPP_DIR, "uas_soak_located.xml")


# ---------------------------------------------------------------------------
# SIPp at a rate (also used by test_faults.py)

def read_sipp_stats(path):
    """The last line of a SIPp -trace_stat file as {column: value}."""
    try:
        with open(path, "rb") as f:
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    head = lines[0].rstrip(";").split(";")
    last = lines[-1].rstrip(";").split(";")
    return dict(zip(head, last))


def stat_int(stats, name):
    try:
        return int(stats.get(name, "0") or 0)
    except ValueError:
        return 0


class SippUas:
    """A SIPp UAS (a PSAP that keeps up with a call rate) in the background."""

    def __init__(self, workdir, scenario, name):
        self.workdir = workdir
        self.scenario = scenario
        self.name = name
        self.port = t.free_port()
        self.stat_file = os.path.join(workdir, "sipp-%s-stats.csv" % name)
        self.err_file = os.path.join(workdir, "sipp-%s-err.log" % name)
        self.out_file = os.path.join(workdir, "sipp-%s-out.log" % name)
        self.proc = None

    def uri(self, user="911"):
        return "sip:%s@%s:%d" % (user, t.HOST, self.port)

    def start(self):
        cmd = [t.SIPP_BIN, "-sf", self.scenario, "-i", t.HOST, "-mi", t.HOST,
               "-bind_local", "-p", str(self.port), "-t", "u1", "-nostdin",
               "-trace_stat", "-stf", self.stat_file, "-fd", "1",
               "-trace_err", "-error_file", self.err_file,
               # never outlives the test (bounded): the test stops it long before
               "-timeout", "%ds" % int(SOAK_SECONDS * 3 + t.scaled(600))]
        with open(self.out_file, "wb") as out:
            self.proc = t._track(subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.workdir, start_new_session=True))
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("SIPp UAS %s did not start:\n%s" % (self.name, t.tail(self.out_file)))
        return self

    def stats(self):
        return read_sipp_stats(self.stat_file)

    def stop(self):
        """Lets the calls in progress end (SIGUSR1), then stops; returns the final stats."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGUSR1)
                    self.proc.wait(10)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    pass
            t.stop_process(self.proc, term_timeout=5)
            self.proc = None
        return self.stats()

    def errors(self):
        return t.tail(self.err_file, 30) if os.path.exists(self.err_file) else ""

    def regexp_failures(self):
        """Calls failed by a check_it regexp (uas_soak_located.xml: no location)."""
        try:
            with open(self.err_file, "rb") as f:
                return f.read().count(b"Failed regexp match")
        except OSError:
            return 0


class SippLoadResult:
    def __init__(self, rc, stats, timed_out, cmd, out_file, err_file, calls):
        self.rc = rc
        self.stats = stats
        self.timed_out = timed_out
        self.cmd = cmd
        self.out_file = out_file
        self.err_file = err_file
        self.calls = calls

    @property
    def successful(self):
        return stat_int(self.stats, "SuccessfulCall(C)")

    @property
    def failed(self):
        return stat_int(self.stats, "FailedCall(C)")

    @property
    def created(self):
        return stat_int(self.stats, "TotalCallCreated")

    def describe(self):
        return ("sipp load rc=%s%s created=%d successful=%d failed=%d (wanted %d)\n  cmd: %s\n"
                "--- output ---\n%s\n--- errors ---\n%s" % (
                    self.rc, " (timed out)" if self.timed_out else "", self.created,
                    self.successful, self.failed, self.calls, " ".join(self.cmd),
                    t.tail(self.out_file, 30),
                    t.tail(self.err_file, 30) if os.path.exists(self.err_file) else ""))


_load_seq = [0]


def start_with_sipp_psaps(env):
    """Starts two SIPp PSAPs ("psap" and "fallback", UAS_SOAK), makes the
    fallback the environment's default and fallback route, then starts env;
    {name: SippUas}. Whatever started is stopped if anything fails."""
    uas = {}
    try:
        uas["psap"] = SippUas(env.workdir, UAS_SOAK, "psap").start()
        uas["fallback"] = SippUas(env.workdir, UAS_SOAK, "fallback").start()
        env.extra_defines["E911_FALLBACK_ROUTE"] = t.q(uas["fallback"].uri())
        env.extra_defines["E911_DEFAULT_ROUTE"] = t.q(uas["fallback"].uri())
        env.start()
    except BaseException:
        for u in uas.values():
            u.stop()
        raise
    return uas


def run_sipp_load(workdir, target_port, rows, rate, calls, name="load", scenario=UAC_SOAK,
                  recv_timeout=10, extra_args=None):
    """Runs `calls` calls at `rate` calls/s, callers from rows [(caller, dialled)], with
    sipp/uac_soak.xml (by default); waits for the end (bounded). Returns a SippLoadResult."""
    _load_seq[0] += 1
    tag = "%s-%d" % (name, _load_seq[0])
    csv = os.path.join(workdir, "sipp-%s.csv" % tag)
    with open(csv, "w") as f:
        f.write("SEQUENTIAL\n")
        for caller, dialled in rows:
            f.write("%s;%s;\n" % (caller, dialled))
    stat_file = os.path.join(workdir, "sipp-%s-stats.csv" % tag)
    err_file = os.path.join(workdir, "sipp-%s-err.log" % tag)
    out_file = os.path.join(workdir, "sipp-%s-out.log" % tag)
    duration = calls / float(rate)
    limit = duration + t.scaled(60)
    cmd = [t.SIPP_BIN, "%s:%d" % (t.HOST, target_port), "-sf", scenario, "-inf", csv,
           "-i", t.HOST, "-mi", t.HOST, "-bind_local", "-p", str(t.free_port()), "-t", "u1",
           "-r", "%g" % rate, "-rp", "1000", "-m", str(calls), "-l", str(max(50, int(rate * 10))),
           "-key", "from_host", "e911.test", "-key", "ruri_host", "%s:%d" % (t.HOST, target_port),
           "-recv_timeout", str(int(t.scaled(recv_timeout) * 1000)),
           "-timeout", "%ds" % int(limit), "-timeout_error", "-nostdin",
           "-trace_stat", "-stf", stat_file, "-fd", "1",
           "-trace_err", "-error_file", err_file] + list(extra_args or [])
    timed_out = False
    with open(out_file, "wb") as out:
        proc = t._track(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=workdir,
                                         start_new_session=True))
    try:
        proc.wait(limit + 30)
    except subprocess.TimeoutExpired:
        timed_out = True
    t.stop_process(proc, term_timeout=5)
    return SippLoadResult(proc.returncode, read_sipp_stats(stat_file), timed_out, cmd,
                          out_file, err_file, calls)


# ---------------------------------------------------------------------------
# Kamailio's memory

def shm_stats(env):
    """kamcmd core.shmmem as {name: int}."""
    out = env.kamailio.kamcmd("core.shmmem").text
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+):\s*(\d+)", out)}


def pkg_stats(env):
    """kamcmd pkg.stats as {pid: {name: value}} (desc kept as text)."""
    out = env.kamailio.kamcmd("pkg.stats").text
    procs = {}
    for block in re.findall(r"\{(.*?)\}", out, re.S):
        d = {}
        for line in block.splitlines():
            k, sep, v = line.strip().partition(":")
            if not sep:
                continue
            v = v.strip()
            d[k.strip()] = int(v) if re.fullmatch(r"-?\d+", v) else v
        if "pid" in d:
            procs[d["pid"]] = d
    return procs


def e911_stats(env):
    out = env.kamailio.kamcmd("e911.stats").text
    return {m.group(1): m.group(2) for m in re.finditer(r"(\w+):\s*(\S+)", out)}


def module_statistics(env):
    out = env.kamailio.kamcmd("stats.get_statistics", "e911:").text
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"e911:(\w+) = (-?\d+)", out)}


def tm_current(env):
    out = env.kamailio.kamcmd("tm.stats").text
    m = re.search(r"current:\s*(\d+)", out)
    return int(m.group(1)) if m else -1


def quiesce(env, timeout=60):
    """Waits (bounded) until no transaction is left; returns the count then."""
    deadline = time.monotonic() + t.scaled(timeout)
    n = tm_current(env)
    while n != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        n = tm_current(env)
    return n


# ---------------------------------------------------------------------------
# the flapping service

class Flapper:
    """Stops and starts the location service every `period` seconds (bounded by a
    deadline); every third outage it hangs (accepts, never answers) instead."""

    def __init__(self, locsvc, period, deadline_s):
        self.locsvc = locsvc
        self.period = period
        self.deadline = time.monotonic() + deadline_s
        self.stop_ev = threading.Event()
        self.pause_ev = threading.Event()
        self.outages = {"down": 0, "hang": 0}
        self.errors = []
        self.thread = threading.Thread(target=self.run, name="flapper", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def up(self):
        if not self.locsvc.running():
            self.locsvc.start()
        self.locsvc.control("normal")

    def run(self):
        n = 0
        while not self.stop_ev.is_set() and time.monotonic() < self.deadline:
            if self.pause_ev.is_set():
                self.stop_ev.wait(0.2)
                continue
            try:
                n += 1
                if n % 3 == 0:
                    self.locsvc.control("hang")
                    self.outages["hang"] += 1
                else:
                    self.locsvc.stop()
                    self.outages["down"] += 1
                self.stop_ev.wait(self.period)
                self.up()
                self.stop_ev.wait(self.period)
            except Exception as e:     # note it and keep flapping; the test checks
                self.errors.append(repr(e))
                self.stop_ev.wait(0.5)
        try:
            self.up()
        except Exception as e:
            self.errors.append(repr(e))

    def pause(self):
        """Holds the flapping with the service up (returns when it is up)."""
        self.pause_ev.set()
        deadline = time.monotonic() + self.period * 2 + t.scaled(15)
        while time.monotonic() < deadline:
            if self.locsvc.running():
                try:
                    self.locsvc.control("normal")
                    return
                except Exception:
                    pass
            time.sleep(0.2)

    def resume(self):
        self.pause_ev.clear()

    def stop(self):
        self.stop_ev.set()
        self.thread.join(t.scaled(30))
        if not self.locsvc.running():
            self.locsvc.start()


# ---------------------------------------------------------------------------

def soak_record(template, key, route, max_age):
    rec = copy.deepcopy(template)
    rec["key"] = key
    rec["route"] = {"uri": route}
    rec["max_age"] = max_age
    rec["civic"]["ROOM"] = key
    return rec


class TestSoak(t.E911TestCase):
    """E911_SOAK_SECONDS of emergency calls with the location service flapping."""

    TIMEOUT_MS = 500
    HOT, COLD, UNKNOWN = 150, 150, 150      # distinct callers of each kind
    CACHE_SIZE = 400                        # fewer than the callers: evictions

    @classmethod
    def setUpClass(cls):
        cls.rate = max(2.0, SOAK_RATE / (t.TIME_SCALE if t.VALGRIND else 1.0))
        cls.env = t.E911Env("soak", timeout_ms=cls.TIMEOUT_MS, defines={
            "E911_CACHE_SIZE": str(cls.CACHE_SIZE),
            "E911_NEGATIVE_TTL": "5",
            "E911_BREAKER_FAILURES": "3",
            "E911_BREAKER_COOLDOWN": "2",
            "E911_REFRESH_AHEAD": "0",
        }, children=4)
        cls.uas = {}
        try:
            cls.uas["psap"] = SippUas(cls.env.workdir, UAS_LOCATED, "psap").start()
            cls.uas["fallback"] = SippUas(cls.env.workdir, UAS_SOAK, "fallback").start()
            cls.env.extra_defines["E911_FALLBACK_ROUTE"] = t.q(cls.uas["fallback"].uri())
            cls.env.extra_defines["E911_DEFAULT_ROUTE"] = t.q(cls.uas["fallback"].uri())
            cls.env.start()
        except BaseException:
            for u in cls.uas.values():
                u.stop()
            raise
        alice = cls.env.records["alice"]
        route = cls.uas["psap"].uri()
        recs = {}
        callers = []
        for i in range(cls.HOT):
            k = "hot%04d" % i
            recs[k] = soak_record(alice, k, route, 300)
            callers.append(k)
        for i in range(cls.COLD):
            k = "cold%04d" % i
            recs[k] = soak_record(alice, k, route, 0)
            callers.append(k)
        callers += ["unknown%04d" % i for i in range(cls.UNKNOWN)]
        cls.env.locsvc.put_records(recs)
        cls.primed = [k for k in recs]
        rnd = random.Random(911)
        rnd.shuffle(callers)
        dialled = ["911", "911", "911", "112", "9911", "933"]
        cls.rows = [(c, dialled[i % len(dialled)]) for i, c in enumerate(callers)]

    @classmethod
    def tearDownClass(cls):
        for u in cls.uas.values():
            u.stop()
        cls.env.stop()

    def load(self, seconds, name):
        calls = max(1, int(seconds * self.rate))
        return run_sipp_load(self.env.workdir, self.env.kamailio.port, self.rows, self.rate,
                             calls, name=name)

    def measure(self, flapper):
        flapper.pause()
        left = quiesce(self.env)
        self.assertEqual(left, 0, "transactions still in flight after the load")
        time.sleep(1.5)      # the housekeeper's pass, the last tm timers
        return shm_stats(self.env), pkg_stats(self.env), e911_stats(self.env)

    def assertLoadOk(self, res, phase):
        self.assertFalse(res.timed_out, "%s: SIPp did not finish\n%s" % (phase, res.describe()))
        self.assertEqual(res.failed, 0, "%s: failed emergency calls\n%s" % (phase, res.describe()))
        self.assertEqual(res.successful, res.calls,
                         "%s: not every call completed\n%s" % (phase, res.describe()))
        self.assertEqual(res.rc, 0, "%s: SIPp exit status\n%s" % (phase, res.describe()))

    def test_soak_with_flapping_service(self):
        env = self.env
        warmup = max(10.0, min(30.0, SOAK_SECONDS / 4))
        # the known callers are in the cache before the service starts flapping
        for k in self.primed:
            out = env.kamailio.kamcmd("e911.refresh", "s:" + k).text
            self.assertIn("fresh", out, "priming %s: %s" % (k, out))
        flapper = Flapper(env.locsvc, FLAP_SECONDS,
                          warmup + SOAK_SECONDS + t.scaled(300)).start()
        try:
            res = self.load(warmup, "warmup")
            self.assertLoadOk(res, "warm-up")
            shm0, pkg0, cache0 = self.measure(flapper)
            stats0 = module_statistics(env)
            flapper.resume()
            t0 = time.monotonic()
            res = self.load(SOAK_SECONDS, "soak")
            elapsed = time.monotonic() - t0
            self.assertLoadOk(res, "soak")
            shm1, pkg1, cache1 = self.measure(flapper)
            stats1 = module_statistics(env)
        finally:
            flapper.stop()
        self.assertEqual(flapper.errors, [], "the flapper failed: %s" % flapper.errors)
        self.assertEqual(env.kamailio.kamcmd("core.uptime", check=False).returncode, 0,
                         "kamailio does not answer kamcmd after the soak")

        # the PSAP side: every call arrived, every located one with its location
        uas = {name: u.stats() for name, u in self.uas.items()}
        at_psaps = sum(stat_int(s, "SuccessfulCall(C)") for s in uas.values())
        failed_psaps = {n: stat_int(s, "FailedCall(C)") for n, s in uas.items()}
        wanted = int(warmup * self.rate) + int(SOAK_SECONDS * self.rate)

        d = {k: stats1.get(k, 0) - stats0.get(k, 0) for k in stats1}
        shm_growth = shm1["real_used"] - shm0["real_used"]
        cache_growth = int(cache1.get("bytes", 0)) - int(cache0.get("bytes", 0))
        pkg_growth = {pid: (p["desc"], pkg1[pid]["real_used"] - p["real_used"])
                      for pid, p in pkg0.items() if pid in pkg1}
        report = [
            "soak: %.0f s at %.1f calls/s (%d calls, %.1f s), warm-up %.0f s; service outages: "
            "%d down, %d hung" % (SOAK_SECONDS, self.rate, res.calls, elapsed, warmup,
                                  flapper.outages["down"], flapper.outages["hang"]),
            "  PSAP side: located %s, fallback %s (successful/failed); INVITEs without "
            "location at the located PSAP: %d" % (tuple(
                "%d/%d" % (stat_int(uas[n], "SuccessfulCall(C)"), failed_psaps[n])
                for n in ("psap", "fallback")) + (self.uas["psap"].regexp_failures(),)),
            "  e911 during the soak: %s" % ", ".join(
                "%s %+d" % (k, d[k]) for k in sorted(d) if d[k]),
            "  shm real_used %d -> %d (%+d; e911 cache bytes %s -> %s, %+d; entries %s -> %s)" % (
                shm0["real_used"], shm1["real_used"], shm_growth, cache0.get("bytes"),
                cache1.get("bytes"), cache_growth, cache0.get("entries"), cache1.get("entries")),
            "  pkg real_used growth per process: " + ", ".join(
                "%s %+d" % (desc.split(" ")[0] if isinstance(desc, str) else pid, g)
                for pid, (desc, g) in sorted(pkg_growth.items())),
        ]
        sys.stderr.write("\n" + "\n".join(report) + "\n")
        with open(os.path.join(env.workdir, "soak-report.txt"), "w") as f:
            f.write("\n".join(report) + "\n")

        self.assertEqual(self.uas["psap"].regexp_failures(), 0,
                         "INVITEs routed by a record reached the PSAP without a PIDF-LO "
                         "part or a Geolocation header:\n%s" % self.uas["psap"].errors())
        if not t.VALGRIND:
            # (under valgrind the ACK of a call, slowed down in one process, can reach
            # a SIPp PSAP after the BYE another process relayed: SIPp then counts a
            # failure on its side although the caller's call completed)
            self.assertEqual(failed_psaps, {"psap": 0, "fallback": 0},
                             "calls failed at a PSAP:\n%s\n%s" % (
                                 self.uas["psap"].errors(), self.uas["fallback"].errors()))
            self.assertEqual(at_psaps, wanted, "calls completed at the PSAPs: %d of %d" % (
                at_psaps, wanted))
        # the flapping did something
        self.assertGreater(d.get("fetch_errors", 0) + d.get("fetch_timeouts", 0), 0, report)
        self.assertGreater(d.get("breaker_opens", 0), 0, report)
        self.assertGreater(d.get("cache_hits", 0), 0, report)
        # memory
        self.assertLessEqual(shm_growth - cache_growth, SHM_SLACK,
                             "shared memory grew by %d bytes (%d outside the e911 cache)\n%s" % (
                                 shm_growth, shm_growth - cache_growth, "\n".join(report)))
        grown = {pid: g for pid, g in pkg_growth.items() if g[1] > PKG_SLACK}
        self.assertEqual(grown, {}, "pkg memory grew by more than %d bytes\n%s" % (
            PKG_SLACK, "\n".join(report)))
        self.assertEqual(set(pkg1), set(pkg0), "Kamailio processes changed (a crash?)")


if __name__ == "__main__":
    t.main()
