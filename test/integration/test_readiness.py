#!/usr/bin/env python3
# kamailio-e911: the readiness report, end to end. SIPp phones register with
# the real Kamailio (usrloc); e911.readiness checks every registered AoR
# against the reference location service and the module's rules; the
# operator's HTML report (scripts/e911-readiness-report.py) is opened in
# headless Chromium, which must render it with the numbers of the RPC.
#
# Callers and what they must come out as:
#   alice      ready            r-floor   missing_floor   r-unval  not_validated
#   r-old      outdated         r-moved   outside_networks (networks 10/8,
#   r-inside   ready (127/8)              registered from 127.0.0.1)
#   r-none     no_record        r-err     service_error (the service answers 500)
#
# The Chromium test is skipped (reported as skipped) when chromium is absent.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

sys.path.insert(0, os.path.join(t.SOURCE_DIR, "scripts"))
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "readiness_report", os.path.join(t.SOURCE_DIR, "scripts", "e911-readiness-report.py"))
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def python_with_matplotlib():
    """A Python that has matplotlib (Debian's python3-matplotlib is for
    /usr/bin/python3), or None."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run(
                [py, "-c", "import matplotlib"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


PLOT_PYTHON = python_with_matplotlib()

EXPECT = {
    "alice": "ready", "r-inside": "ready", "r-floor": "missing_floor",
    "r-unval": "not_validated", "r-old": "outdated", "r-moved": "outside_networks",
    "r-none": "no_record", "r-err": "service_error",
}


class ReadinessTest(t.E911TestCase):

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env(cls.__name__, timeout_ms=500,
                            defines={"E911_BREAKER_FAILURES": "5",
                                     "E911_READINESS_MAX": "20"})
        cls.env.start()
        def variant(key, change):
            r = cls.env.copies_of("alice", [key])
            change(r[key])
            cls.env.add_records(r)

        variant("r-floor", lambda r: (r["civic"].pop("FLR"), r.update(site={"multi_floor": True})))
        variant("r-unval", lambda r: r.update(validated=False))
        variant("r-old", lambda r: r.update(updated_at="2024-01-15T08:00:00Z"))
        variant("r-moved", lambda r: r.update(networks=["10.0.0.0/8"]))
        variant("r-inside", lambda r: r.update(networks=["127.0.0.0/8"]))
        variant("r-err", lambda r: None)
        cls.env.locsvc.control(mode="status", status=500, keys=["r-err"])
        for key in EXPECT:
            call = cls.env.call("register", caller=key, scenario="uac_register_policy.xml",
                                tag="reg-%s" % key)
            if not call.ok:
                raise AssertionError("REGISTER of %s failed:\n%s" % (key, call.describe()))
        cls.text = cls.env.kamailio.kamcmd("e911.readiness", "30", timeout=60).text
        cls.rep = report.parse_kamcmd(cls.text)

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def test_every_registered_caller_is_judged(self):
        rep = self.rep
        self.assertEqual(rep["callers_from"], "usrloc")
        got = {c["key"]: c["verdict"] for c in rep["callers"]}
        self.assertEqual(got, EXPECT, self.text)
        self.assertEqual(rep["checked"], len(EXPECT))
        self.assertEqual(rep["counts"]["ready"], 2)
        for v in set(EXPECT.values()) - {"ready"}:
            self.assertEqual(rep["counts"][v], 1, v)
        moved = [c for c in rep["callers"] if c["key"] == "r-moved"][0]
        self.assertEqual(moved["registered_from"], "127.0.0.1")
        old = [c for c in rep["callers"] if c["key"] == "r-old"][0]
        self.assertGreater(old["age_days"], 30)
        self.assertEqual(old["site"], "Acme Corp, Tower B")

    def test_rate_bound(self):
        # 3 callers at readiness_rate 10/s: at least two gaps of 100 ms
        t0 = time.monotonic()
        out = self.env.kamailio.kamcmd("e911.readiness", "30", "alice", "s:r-old", "s:r-none").text
        took = time.monotonic() - t0
        rep = report.parse_kamcmd(out)
        self.assertEqual(rep["callers_from"], "list")
        self.assertEqual([c["key"] for c in rep["callers"]], ["alice", "r-old", "r-none"])
        self.assertGreaterEqual(took, 0.2)

    def test_bad_input(self):
        k = self.env.kamailio
        r = k.kamcmd("e911.readiness", "30", "s:..", check=False)
        self.assertIn("error: 400", r.text)
        self.assertIn("Invalid key", r.text)
        r = k.kamcmd("e911.readiness", "30", *["s:k%d" % i for i in range(21)], check=False)
        self.assertIn("error: 400", r.text)
        self.assertIn("List too long", r.text)

    def test_html_report(self):
        out = os.path.join(self.env.workdir, "readiness.html")
        r = subprocess.run([PLOT_PYTHON or sys.executable, os.path.join(t.SOURCE_DIR, "scripts",
                                                         "e911-readiness-report.py"),
                            "--kamcmd", t.KAMCMD_BIN, "-s", self.env.kamailio.ctl,
                            "--max-age-days", "30", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout)
        page = open(out, encoding="utf-8").read()
        self.assertIn('id="count-ready" data-count="2"', page)
        for key, v in EXPECT.items():
            if v != "ready":
                self.assertIn('data-key="%s" data-verdict="%s"' % (key, v), page)
        if PLOT_PYTHON:     # the charts are PNGs drawn by matplotlib
            self.assertIn('<img id="chart-age" alt="Age of the location records" '
                          'src="data:image/png;base64,', page)
            self.assertIn('<img id="chart-sites"', page)

    @unittest.skipUnless(CHROMIUM, "chromium is not installed (Debian: apt-get install chromium)")
    def test_report_renders_in_chromium(self):
        html_path = os.path.join(self.env.workdir, "readiness-chromium.html")
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(report.render(self.rep))
        profile = tempfile.mkdtemp(prefix="e911-chromium-")
        shot = os.path.join(self.env.workdir, "readiness.png")
        base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--user-data-dir=" + profile]
        try:
            dom = subprocess.run(base + ["--dump-dom", "file://" + html_path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, timeout=120)
            self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
            shotr = subprocess.run(base + ["--window-size=1200,1600", "--screenshot=" + shot,
                                           "file://" + html_path],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, timeout=120)
            self.assertEqual(shotr.returncode, 0, shotr.stderr[-2000:])
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        text = dom.stdout.decode("utf-8", "replace")
        self.assertIn("<title>E911 readiness report</title>", text)
        # the numbers the browser shows are the RPC's
        shown = {m.group(1): int(m.group(2)) for m in
                 re.finditer(r'id="count-([a-z_]+)" data-count="(\d+)">(\d+)<', text)}
        for k, v in self.rep["counts"].items():
            self.assertEqual(shown.get(k), v, k)
        self.assertEqual(shown["needing"], sum(1 for v in EXPECT.values() if v != "ready"))
        rows = re.findall(r'<tr class="needing" data-key="([^"]+)" data-verdict="([^"]+)"', text)
        self.assertEqual(dict(rows), {k: v for k, v in EXPECT.items() if v != "ready"})
        self.assertIn('id="checked">%d<' % len(EXPECT), text)
        # it drew something: a PNG screenshot of a real page
        with open(shot, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG"))
        self.assertGreater(len(png), 20000)


class WithoutUsrlocTest(t.E911TestCase):
    """The reference cfg without usrloc and registrar: e911.readiness needs
    the keys then, and says so."""

    @classmethod
    def setUpClass(cls):
        with open(t.E911_CFG) as f:
            cfg = f.read()
        for gone in ('loadmodule "usrloc.so"', 'loadmodule "registrar.so"',
                     'modparam("usrloc"'):
            cfg = "\n".join(l for l in cfg.split("\n") if not l.startswith(gone))
        cfg = cfg.replace('save("location")', 'sl_send_reply("200", "OK")')
        cfg = cfg.replace('lookup("location")', '($rU == "no-usrloc")')
        cls.cfg_dir = tempfile.mkdtemp(prefix="e911-nousrloc-")
        path = os.path.join(cls.cfg_dir, "kamailio.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        cls.env = t.E911Env(cls.__name__, cfg=path, timeout_ms=500)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()
        shutil.rmtree(cls.cfg_dir, ignore_errors=True)

    def test_usrloc_not_loaded(self):
        r = self.env.kamailio.kamcmd("e911.readiness", check=False)
        self.assertIn("error: 400", r.text)
        self.assertIn("usrloc is not loaded: give the keys", r.text)
        rep = report.parse_kamcmd(self.env.kamailio.kamcmd("e911.readiness", "30", "alice").text)
        self.assertEqual([(c["key"], c["verdict"]) for c in rep["callers"]], [("alice", "ready")])


if __name__ == "__main__":
    t.main()
