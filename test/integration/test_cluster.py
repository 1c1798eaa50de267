#!/usr/bin/env python3
# kamailio-e911: a cluster of proxies shares what it learned, over DMQ.
#
# Two or three real Kamailio nodes on loopback (cfg/kamailio.cfg started with
# -A WITH_DMQ, each with its own SIP, DMQ and HTTP port), one reference
# location service and the test PSAPs: a record fetched on one node serves
# callers on another while the service is down, a restarted node syncs from
# a peer, references and PSAP callbacks work through any node, flushes and
# newer records reach every node, older ones never win, a dead peer costs
# the others nothing, and three nodes do not loop.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import copy
import os
import socket
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e911test as t  # noqa: E402

LUA_CFG = os.path.join(t.SOURCE_DIR, "cfg", "kamailio-lua.cfg")
LUA_SCRIPT = os.path.join(t.SOURCE_DIR, "cfg", "e911.lua")
TOKEN_RE = re.compile(r"/e911/loc/([0-9a-f]{32})")


def dmq_host(i):
    """Node i's DMQ address: a loopback address of its own (127.0.0.1,
    127.0.0.2, ...), as every node of a real cluster has its own host.
    Kamailio 5.8+'s dmq (6.0 too) takes a node it hears of whose URI it does
    not know for the known node with the same IP address (extract_node_list
    -> find_dmq_node_ip), so nodes sharing one address with different ports
    never learn of each other through a third (docs/operations.md)."""
    return "127.0.0.%d" % (i + 1)


class Node:
    """One Kamailio of the cluster: its SIP port, DMQ address and port (the
    peer's it is told of first: notification_address) and HTTP port."""

    def __init__(self, name, dmq, peer_dmq, http_port, peer_dmq2=None):
        self.name = name
        self.dmq_ip, self.dmq_port = dmq
        self.peer_dmq = peer_dmq
        self.peer_dmq2 = peer_dmq2
        self.http_port = http_port
        self.kam = None

    @property
    def dmq_uri(self):
        return "sip:%s:%d" % (self.dmq_ip, self.dmq_port)

    def defines(self):
        return {
            "WITH_DMQ": None,
            "DMQ_LISTEN": "udp:%s:%d" % (self.dmq_ip, self.dmq_port),
            "DMQ_SERVER_ADDRESS": t.q(self.dmq_uri),
            "DMQ_NOTIFICATION_ADDRESS": t.q("sip:%s:%d" % self.peer_dmq),
            **({"DMQ_NOTIFICATION_ADDRESS2": t.q("sip:%s:%d" % self.peer_dmq2)}
               if self.peer_dmq2 else {}),
            "E911_HTTP": "tcp:%s:%d" % (t.HOST, self.http_port),
            "E911_LOCATION_MODE": t.q("both"),
            "E911_REFERENCE_BASE": t.q("http://%s:%d/e911/loc/" % (t.HOST, self.http_port)),
        }

    @property
    def port(self):
        return self.kam.port

    def rpc(self, *args, check=True):
        return self.kam.kamcmd(*args, check=check).text

    def stats(self):
        out = self.rpc("stats.get_statistics", "e911:")
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"e911:(\w+) = (-?\d+)", out)}

    def cached(self, key):
        """The e911.get text of key, or None when not cached."""
        r = self.kam.kamcmd("e911.get", key, check=False)
        return r.text if r.returncode == 0 and "error:" not in r.text else None


def send_kdmq(to, frm, src, body, tag):
    """A KDMQ request of the e911 peer to node `to`, From frm (a Node: its
    dmq URI; or a URI), sent over UDP from address src."""
    if isinstance(frm, Node):
        frm = "sip:e911@%s:%d" % (frm.dmq_ip, frm.dmq_port)
    msg = ("KDMQ sip:e911@%s:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:9;branch=z9hG4bK-%s\r\n"
           "From: <%s>;tag=f\r\nTo: <sip:e911@%s:%d>\r\n"
           "Call-ID: %s@127.0.0.1\r\nCSeq: 1 KDMQ\r\nMax-Forwards: 1\r\n"
           "Content-Type: application/x-e911-dmq\r\nContent-Length: %d\r\n\r\n%s"
           % (to.dmq_ip, to.dmq_port, src, tag, frm, to.dmq_ip, to.dmq_port, tag,
              len(body.encode()), body))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((src, 0))
        s.sendto(msg.encode(), (to.dmq_ip, to.dmq_port))
    finally:
        s.close()


class ClusterCase(t.E911TestCase):
    """A cluster of NODES nodes; node 0 is the E911Env's own Kamailio."""

    NODES = 2
    CFG = t.E911_CFG
    # every node's DMQ socket on 127.0.0.1, each told of all the others
    # (notification_address twice) instead of chained through node0
    ONE_ADDRESS = False

    @classmethod
    def setUpClass(cls):
        host = (lambda i: t.HOST) if cls.ONE_ADDRESS else dmq_host
        dmq = [(host(i), t.free_port(host=host(i))) for i in range(cls.NODES)]
        http = [t.free_port(udp=False, tcp=True) for _ in range(cls.NODES)]
        if cls.ONE_ADDRESS:
            others = [[dmq[j] for j in range(cls.NODES) if j != i] for i in range(cls.NODES)]
            cls.nodes = [Node("node%d" % i, dmq[i], others[i][0], http[i], others[i][1])
                         for i in range(cls.NODES)]
        else:
            # chained: node0 is told of node1, every other node of node0 (a
            # third node is learned through node0)
            cls.nodes = [Node("node%d" % i, dmq[i], dmq[1] if i == 0 else dmq[0], http[i])
                         for i in range(cls.NODES)]
        cls.lua = {"E911_LUA": t.q(LUA_SCRIPT)} if cls.CFG == LUA_CFG else {}
        cls.env = t.E911Env(cls.__name__, cfg=cls.CFG,
                            defines=dict(cls.nodes[0].defines(), **cls.lua))
        cls.env.start()
        cls.nodes[0].kam = cls.env.kamailio
        cls.common = {
            "E911_LOCATION_URL": t.q(cls.env.locsvc.url_template),
            "E911_DEFAULT_ROUTE": t.q(cls.env.default_route),
            "E911_FALLBACK_ROUTE": t.q(cls.env.fallback_route),
            "E911_TIMEOUT_MS": str(int(cls.env.timeout_ms)),
            "E911_CACHE_TTL": str(int(cls.env.cache_ttl)),
        }
        cls.common.update(cls.lua)
        try:
            for n in cls.nodes[1:]:
                cls.start_node(n)
            for n in cls.nodes:
                cls.wait_joined(n)
        except BaseException:
            cls.env.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def start_node(cls, n):
        defines = dict(cls.common)
        defines.update(n.defines())
        n.kam = t.Kamailio(cls.env.workdir, cfg=cls.env.cfg, defines=defines,
                           name=n.name)
        n.kam.start()

    @classmethod
    def wait_joined(cls, n, timeout=45):
        """Until the node sees every other node (dmq.list_nodes) and its own join
        sync has ended. A node learns of a third one when node0 passes the
        news on, or at the latest at dmq's next ping (ping_interval 15 s in
        the cfg), hence up to three intervals."""
        deadline = time.monotonic() + t.scaled(timeout)
        out = ""
        while time.monotonic() < deadline:
            out = n.rpc("e911.cluster", check=False)
            nodes = n.rpc("dmq.list_nodes", check=False)
            if ("state: done" in out
                    and nodes.count("status: active") >= len(cls.nodes)):
                return out
            time.sleep(0.2)
        raise AssertionError("%s did not join: %s" % (n.name, out))

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes[1:]:
            if n.kam is not None:
                n.kam.stop()
        if cls.env is not None:
            cls.env.stop()

    # -- helpers ------------------------------------------------------------
    def call_via(self, node, caller, service="911", **kw):
        c = t.run_sipp(self.env.workdir, node.port, service=service, caller=caller,
                       tag="%s-%s-%s" % (node.name, service, caller), **kw)
        self.env.calls.append(c)
        self.assertCallOk(c)
        return c

    def assertLocated(self, call, rec):
        rx = self.assertInviteAt(call, "psap")
        pidf = rx.msg.multipart().by_type("application/pidf+xml")
        self.assertEqual(len(pidf), 1, "no PIDF-LO in the INVITE")
        civic = dict(t.pidf_civic(pidf[0].body)[0])
        for k in ("country", "A3", "RD", "HNO"):
            self.assertEqual(civic.get(k), rec["civic"][k], "civic %s" % k)
        return rx

    def wait_for(self, what, cond, timeout=5):
        deadline = time.monotonic() + t.scaled(timeout)
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for %s" % what)

    def set_record(self, key, rec):
        self.env.records[key] = rec
        self.env.locsvc.put_records(self.env.records)

    def service_down(self):
        self.env.locsvc.control("status", status=503)
        self.addCleanup(self.env.locsvc.control, "normal")


class TestTwoNodes(ClusterCase):

    def test_record_from_a_served_by_b_while_service_down(self):
        a, b = self.nodes
        rec = self.env.records["alice"]
        self.assertLocated(self.call_via(a, "alice"), rec)
        self.wait_for("alice on node1", lambda: b.cached("alice"))
        self.service_down()
        self.assertLocated(self.call_via(b, "alice"), rec)
        self.assertLocated(self.call_via(a, "alice"), rec)

    def test_reference_issued_on_a_dereferenced_through_b(self):
        a, b = self.nodes
        call = self.call_via(a, "carol")
        rx = self.assertInviteAt(call, "psap")
        geo = " ".join(rx.msg.values("Geolocation"))
        m = TOKEN_RE.search(geo)
        self.assertIsNotNone(m, "no location reference in %r" % geo)
        url = "http://%s:%d/e911/loc/%s" % (t.HOST, b.http_port, m.group(1))

        def deref():
            r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url],
                               stdout=subprocess.PIPE, timeout=10)
            body, _, code = r.stdout.decode("utf-8", "replace").rpartition("\n")
            return body if code == "200" else None
        body = self.wait_for("the reference on node1", deref)
        self.assertIn(self.env.records["carol"]["civic"]["RD"], body)
        self.assertIn("geopriv", body)

    def test_psap_callback_via_b_recognised(self):
        a, b = self.nodes
        self.call_via(a, "dave")                       # callback +13125550102
        ruri = "sip:+13125550102@127.0.0.1:%d" % self.env.psaps["normal"].port

        def callback():
            c = t.run_sipp(self.env.workdir, b.port, scenario="uac_invite_uri.xml",
                           service="cb", caller="psap-operator",
                           variables={"ruri": ruri}, tag="cb-dave")
            self.assertCallOk(c)
            rx = self.assertInviteAt(c, "normal")
            return rx.msg.header_all("Priority") == ["psap-callback"]
        self.wait_for("the callback recognised on node1", callback, timeout=8)

    def test_flush_on_b_removes_on_a(self):
        a, b = self.nodes
        self.call_via(a, "erin")
        self.wait_for("erin on node1", lambda: b.cached("erin"))
        self.assertIsNotNone(a.cached("erin"))
        flushed = int(time.time())
        b.rpc("e911.flush", "erin")
        self.assertIsNone(b.cached("erin"))
        self.wait_for("erin gone from node0", lambda: a.cached("erin") is None)
        # a record fetched before the flush, arriving after it (a late
        # message from node1): node0 remembers the removal and refuses it
        before = a.stats().get("dmq_ignored", 0)
        late = ('{"e911_dmq":1,"op":"put"}\n'
                '{"key":"erin","fetched_at":%d,"record":{"civic":{"country":"US",'
                '"A3":"Nowhere","RD":"Resurrected","HNO":"1"}}}\n' % (flushed - 5))
        send_kdmq(a, b, b.dmq_ip, late, "late-erin")
        self.wait_for("node0 ignoring the late record",
                      lambda: a.stats().get("dmq_ignored", 0) > before)
        self.assertIsNone(a.cached("erin"))
        self.assertRegex(a.rpc("e911.cluster"), r"tombstones: [1-9]")

    def test_newer_record_wins_older_never_does(self):
        a, b = self.nodes
        old = copy.deepcopy(self.env.records["frank"])
        self.call_via(a, "frank")
        self.wait_for("frank on node1", lambda: b.cached("frank"))
        new = copy.deepcopy(old)
        new["civic"]["RD"] = "Newer"
        new["updated_at"] = "2026-11-21T10:00:00Z"
        self.set_record("frank", new)
        self.addCleanup(self.set_record, "frank", old)
        b.rpc("e911.refresh", "frank")
        self.wait_for("the newer record on node0",
                      lambda: "Newer" in (a.cached("frank") or ""))
        # an older version fetched later (a lagging replica of the service)
        # and arriving after the newer one does not replace it on node0
        self.set_record("frank", old)
        before = a.stats().get("dmq_ignored", 0)
        b.rpc("e911.refresh", "frank")
        self.wait_for("node0 ignoring the older record",
                      lambda: a.stats().get("dmq_ignored", 0) > before)
        self.assertIn("Newer", a.cached("frank"))


    def test_message_from_outside_the_cluster_is_not_applied(self):
        a, b = self.nodes
        body = ('{"e911_dmq":1,"op":"put"}\n'
                '{"key":"forged","fetched_at":%d,"record":{"civic":{"country":"US",'
                '"A3":"Nowhere","RD":"Forged","HNO":"1"}}}\n' % int(time.time()))
        bad = '{"e911_dmq":1,"op":"put"}\n{"key":"x"}\n'
        before = a.stats().get("dmq_rejected", 0)
        # (From, the address it is sent from, body)
        for i, (frm, src, body_) in enumerate((
                ("sip:e911@127.0.0.1:9", t.HOST, body),  # not a node
                (b, t.HOST, body),                       # node1's name, not its address
                (b, b.dmq_ip, bad))):                    # node1, a bad body
            send_kdmq(a, frm, src, body_, "forged%d-%d" % (i, os.getpid()))
        self.wait_for("three rejections on node0",
                      lambda: a.stats().get("dmq_rejected", 0) >= before + 3)
        time.sleep(t.scaled(0.3))
        self.assertEqual(a.stats().get("dmq_rejected", 0), before + 3)
        # the second one, a valid put under node1's name from another
        # address, was not applied either
        self.assertIsNone(a.cached("forged"))
        # (two dmq workers may log at once: their lines can interleave, so
        # the log is searched for the one line only the third gives)
        log = a.kam.log_text()
        self.assertIn("rejected: line 2", log)
        self.assertNotIn("Forged", log)


class TestTwoNodesLua(TestTwoNodes):
    """The same from cfg/kamailio-lua.cfg + cfg/e911.lua."""

    CFG = LUA_CFG


class TestJoinSync(ClusterCase):

    def test_restarted_node_syncs_and_serves_with_service_down(self):
        a, b = self.nodes
        rec = self.env.records["grace"]
        for key in ("grace", "heidi", "ivan"):
            self.call_via(a, key)
        self.wait_for("the records on node1", lambda: b.cached("ivan"))
        self.service_down()
        b.kam.stop()
        self.start_node(b)
        out = self.wait_joined(b)
        self.assertRegex(out, r"records: [3-9]")
        self.assertIsNotNone(b.cached("grace"))
        self.assertLocated(self.call_via(b, "grace"), rec)
        st = b.stats()
        self.assertGreaterEqual(st["dmq_sync_records"], 3)


# Chained: node2 is told of node0 only and learns of node1 through it, node1
# of node2 through node0's news (each node on its own loopback address;
# on one address Kamailio 5.8+'s dmq never adds the third: dmq_host above).
class TestThreeNodes(ClusterCase):

    NODES = 3

    def test_a_no_loop(self):
        time.sleep(t.scaled(1))
        before = [n.stats() for n in self.nodes]
        self.call_via(self.nodes[0], "judy")
        for n in self.nodes[1:]:
            self.wait_for("judy on %s" % n.name, lambda n=n: n.cached("judy"))
        time.sleep(t.scaled(2))
        after = [n.stats() for n in self.nodes]
        d = [{k: after[i][k] - before[i].get(k, 0) for k in after[i]}
             for i in range(len(self.nodes))]
        # one broadcast from the node that fetched, one message received by
        # each of the others, and nothing sent on by them
        # (in location_mode both: the record, the reference, the callback
        # number: three bodies)
        self.assertEqual(d[0]["dmq_sent"], 3, d)
        for i in (1, 2):
            self.assertEqual(d[i]["dmq_received"], 3, d)
            self.assertEqual(d[i]["dmq_applied"], 3, d)
            self.assertEqual(d[i]["dmq_sent"], 0, d)
        self.assertEqual(d[0]["dmq_received"], 0, d)

    def test_b_killed_peer_costs_others_nothing(self):
        a, b, c = self.nodes
        pid = b.kam.proc.pid
        os.killpg(pid, signal.SIGKILL)
        b.kam.proc.wait()
        t._untrack(b.kam.proc)
        b.kam.proc = None
        for i, key in enumerate(("oscar", "walter", "victor", "xavier")):
            node = a if i % 2 == 0 else c
            t0 = time.monotonic()
            self.assertLocated(self.call_via(node, key), self.env.records[key])
            self.assertLess(time.monotonic() - t0, t.scaled(3), "call via %s" % node.name)
        self.assertEqual(a.stats().get("dmq_dropped", 0), 0)


class TestThreeNodesOneAddress(TestThreeNodes):
    """Three nodes sharing one IP address (one host, three ports), each told
    of both others: the set-up docs/operations.md gives for Kamailio 5.8+,
    whose dmq does not add a node it hears of on an address it knows."""

    ONE_ADDRESS = True


if __name__ == "__main__":
    t.main()
