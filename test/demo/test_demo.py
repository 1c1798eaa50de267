#!/usr/bin/env python3
# kamailio-e911: the demo says what happened. Runs test/demo/run-demo.sh and
# checks that each call's report shows Kamailio's log line of that call (the
# ordinary call 3 its own "not an emergency call" line, not alice's earlier
# 911 call), and that the demo ends with e911.explain alice 911.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class DemoTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, NO_COLOR="1")
        r = subprocess.run(["bash", os.path.join(HERE, "run-demo.sh")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=600)
        cls.out = r.stdout.decode("utf-8", "replace")
        cls.rc = r.returncode
        sys.stderr.write(cls.out)

    def section(self, n):
        m = re.search(r"(?ms)^==> call %d: .*?(?=^==> |\Z)" % n, self.out)
        self.assertIsNotNone(m, "no section for call %d" % n)
        return m.group(0)

    def log_line(self, n):
        m = re.search(r"(?m)^  Kamailio log +(.*)$", self.section(n))
        self.assertIsNotNone(m, "call %d shows no Kamailio log line" % n)
        return m.group(1)

    def test_demo_passes(self):
        self.assertEqual(self.rc, 0)
        self.assertIn("All calls handled as expected.", self.out)

    def test_each_call_shows_its_own_log_line(self):
        self.assertRegex(self.log_line(1), r"^e911: class 1 call from 'alice' .* routed \(1\)")
        self.assertRegex(self.log_line(2), r"^e911: class 2 call from 'bob' ")
        line3 = self.log_line(3)
        self.assertNotIn("class 1", line3)
        self.assertRegex(line3, r"call from 'alice' to '1000' is not an emergency call")
        self.assertRegex(self.log_line(4), r"^e911: class 1 call from 'zed' .* routed \(2\)")

    def test_ends_with_explain(self):
        i = self.out.find("==> kamcmd e911.explain alice 911")
        self.assertGreater(i, 0, "the demo does not show e911.explain alice 911")
        tail = self.out[i:]
        for want in ("class: emergency", "dispatchable: yes", "reason: record",
                     "Priority: emergency", "<presence"):
            self.assertIn(want, tail)


if __name__ == "__main__":
    unittest.main(verbosity=2)
