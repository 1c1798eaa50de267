#!/usr/bin/env python3
# kamailio-e911: the location where the PSAP can see it (issue 18, item 4).
#
# Hand-made INVITEs over UDP and TCP (rawsip.py) whose bodies are legal but
# unusual; for each, the PSAP's MIME parser (psap.py: RFC 2046, the close
# delimiter ends the parts, the epilogue is ignored) must find the PIDF-LO that
# Geolocation: <cid:...> points to, with the caller's SDP byte-identical:
#
#   - a multipart body with a second close delimiter in its epilogue;
#   - a folded Content-Type (application/sdp;CRLF SP charset=utf-8);
#   - Content-Length: 0 with an SDP after the headers (UDP: Kamailio forwards
#     those bytes as the body and corrects Content-Length, so they are the body
#     our part goes around; TCP: the stream ends the message at Content-Length).
#
#   E911_BUILD_DIR=build python3 test/integration/test_body_edges.py
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e911test as t  # noqa: E402
from rawsip import SDP, RawSip  # noqa: E402

B = "outer42"


class BodyEdges(t.E911TestCase):

    @classmethod
    def setUpClass(cls):
        cls.env = t.E911Env("body-edges", tcp=True)
        cls.env.start()

    @classmethod
    def tearDownClass(cls):
        cls.env.stop()

    def send(self, transport, body, content_type, content_length=None, caller="alice"):
        c = RawSip(self.env.kamailio.port, transport)
        try:
            tx = c.invite("911", from_user=caller, body=body, content_type=content_type,
                          content_length=content_length)
        finally:
            c.close()
        self.assertIsNotNone(tx.final, "no final response to the INVITE (%s)" % tx.codes)
        self.assertEqual(tx.final.status, 200, "the emergency call was answered %s" % tx.codes)
        rx = self.assertInviteAt(tx, "psap")
        return rx

    def location_part(self, rx):
        """The PIDF-LO part Geolocation: <cid:...> points to, as a PSAP finds it."""
        m = rx.msg
        self.assertTrue(m.content_length_ok(), "Content-Length does not match the body")
        self.assertEqual(m.content_type, "multipart/mixed", m.header("Content-Type"))
        geo = m.header_all("Geolocation")
        cids = [v.strip()[5:-1] for g in geo for v in g.split(",")
                if v.strip().startswith("<cid:")]
        self.assertEqual(len(cids), 1, "Geolocation: %r" % geo)
        mp = m.multipart()
        self.assertTrue(mp.closed, "no close delimiter")
        part = mp.by_cid(cids[0])
        self.assertIsNotNone(part, "Geolocation: <cid:%s> points to no body part: the parts "
                             "are %r, the epilogue %r" % (cids[0], mp.parts, mp.epilogue))
        self.assertEqual(part.content_type, "application/pidf+xml")
        self.assertIn(b"Main", part.body)
        return mp

    def check_epilogue(self, transport):
        body = ("--%s\r\nContent-Type: application/sdp\r\n\r\n" % B).encode() + SDP + \
            ("\r\n--%s--\r\n--%s--\r\n" % (B, B)).encode()
        rx = self.send(transport, body, "multipart/mixed;boundary=%s" % B)
        mp = self.location_part(rx)
        self.assertEqual(mp.parts[0].body, SDP, "SDP not byte-identical")
        self.assertEqual(mp.epilogue, ("\r\n--%s--\r\n" % B).encode(),
                         "the caller's epilogue changed")

    def check_folded(self, transport):
        rx = self.send(transport, SDP, "application/sdp;\r\n charset=utf-8")
        mp = self.location_part(rx)
        self.assertEqual(mp.parts[0].content_type, "application/sdp")
        self.assertEqual(mp.parts[0].body, SDP, "SDP not byte-identical")
        self.assertNotIn(b"\r\n ", mp.parts[0].header_bytes)

    def check_folded_multipart(self, transport):
        body = ("--%s\r\nContent-Type: application/sdp\r\n\r\n" % B).encode() + SDP + \
            ("\r\n--%s--\r\n" % B).encode()
        rx = self.send(transport, body, "multipart/mixed;\r\n\tboundary=%s" % B)
        mp = self.location_part(rx)
        self.assertEqual(mp.boundary, B, "the caller's multipart was wrapped, not extended")
        self.assertEqual(mp.parts[0].body, SDP, "SDP not byte-identical")

    def test_epilogue_udp(self):
        self.check_epilogue("udp")

    def test_epilogue_tcp(self):
        self.check_epilogue("tcp")

    def test_folded_content_type_udp(self):
        self.check_folded("udp")

    def test_folded_content_type_tcp(self):
        self.check_folded("tcp")

    def test_folded_multipart_content_type_udp(self):
        self.check_folded_multipart("udp")

    def test_folded_multipart_content_type_tcp(self):
        self.check_folded_multipart("tcp")

    def test_content_length_zero_with_body_udp(self):
        rx = self.send("udp", SDP, "application/sdp", content_length=0)
        mp = self.location_part(rx)
        self.assertEqual([p.content_type for p in mp.parts],
                         ["application/sdp", "application/pidf+xml"])
        self.assertEqual(mp.parts[0].body, SDP, "SDP not byte-identical")
        self.assertEqual(mp.epilogue.strip(), b"", "bytes after the close delimiter")

    def test_content_length_zero_with_body_tcp(self):
        # the stream ends the INVITE at its Content-Length: it has no body, and
        # the SDP bytes are not part of it (they are never put after our parts)
        rx = self.send("tcp", SDP, "application/sdp", content_length=0)
        mp = self.location_part(rx)
        self.assertEqual([p.content_type for p in mp.parts], ["application/pidf+xml"])
        self.assertEqual(mp.epilogue.strip(), b"", "bytes after the close delimiter")


if __name__ == "__main__":
    unittest.main(verbosity=2)
