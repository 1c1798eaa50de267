# kamailio-e911: a raw SIP client for the integration tests.
#
# Sends hand-made requests (any header, any body, any Content-Length) to
# Kamailio over UDP or TCP on loopback, collects the responses, ACKs the final
# one and answers a digest challenge (RFC 2617 / RFC 3261 22.4, MD5, qop=auth)
# when given credentials. Nothing here retries forever: every wait is bounded.
#
#   c = RawSip(port, transport="udp")           # or "tcp"
#   r = c.invite("911", from_user="alice", body=sdp, content_type="application/sdp")
#   r.final.status, r.call_id, r.responses
#   c.close()
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import hashlib
import os
import re
import socket
import time

from psap import SipMessage, _tcp_frames, parse_params  # noqa: F401

HOST = "127.0.0.1"

SDP = (b"v=0\r\n"
       b"o=raw 1 1 IN IP4 127.0.0.1\r\n"
       b"s=raw\r\n"
       b"c=IN IP4 127.0.0.1\r\n"
       b"t=0 0\r\n"
       b"m=audio 6000 RTP/AVP 0\r\n"
       b"a=rtpmap:0 PCMU/8000\r\n")


def _rand(n=10):
    return os.urandom(n).hex()


def _md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest_response(challenge, method, uri, user, password, nc=1, cnonce=None):
    """The value of an Authorization / Proxy-Authorization header answering the
    value of a WWW-Authenticate / Proxy-Authenticate header."""
    scheme, _, rest = challenge.partition(" ")
    params = dict((k.lower(), v.strip('"')) for k, v in
                  re.findall(r'(\w+)\s*=\s*("[^"]*"|[^,\s]+)', rest))
    realm, nonce = params["realm"], params["nonce"]
    ha1 = _md5("%s:%s:%s" % (user, realm, password))
    ha2 = _md5("%s:%s" % (method, uri))
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    out = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (
        user, realm, nonce, uri)
    if "auth" in qops:
        cnonce = cnonce or _rand(8)
        ncs = "%08x" % nc
        resp = _md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2))
        out += ', qop=auth, nc=%s, cnonce="%s"' % (ncs, cnonce)
    else:
        resp = _md5("%s:%s:%s" % (ha1, nonce, ha2))
    out += ', response="%s"' % resp
    if "opaque" in params:
        out += ', opaque="%s"' % params["opaque"]
    return out


class Transaction:
    def __init__(self, call_id, request):
        self.call_id = call_id
        self.request = request            # bytes sent
        self.responses = []               # SipMessage, in arrival order
        self.final = None

    @property
    def codes(self):
        return [r.status for r in self.responses]

    def describe(self):
        return "raw INVITE %s, responses %s; sent:\n%s" % (
            self.call_id, self.codes, self.request.decode("utf-8", "replace"))


class RawSip:
    """One socket toward Kamailio (UDP, or one TCP connection)."""

    def __init__(self, port, transport="udp", host=HOST, local_port=0, timeout=5.0):
        self.host, self.port = host, port
        self.transport = transport.lower()
        self.timeout = timeout
        if self.transport == "tcp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((HOST, local_port))
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((HOST, local_port))
        self.local_port = self.sock.getsockname()[1]
        self._buf = b""
        self.cseq = 0
        self.last_challenge = None      # the last WWW-/Proxy-Authenticate value

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- wire ---------------------------------------------------------------
    def send(self, data):
        if self.transport == "tcp":
            self.sock.sendall(data)
        else:
            self.sock.sendto(data, (self.host, self.port))

    def recv(self, deadline):
        """The next SIP message, or None at the deadline."""
        while True:
            if self.transport == "tcp":
                msgs, self._buf = _tcp_frames(self._buf)
                if msgs:
                    first = msgs[0]
                    self._buf = b"".join(msgs[1:]) + self._buf
                    return SipMessage(first)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                if self.transport == "tcp":
                    data = self.sock.recv(65536)
                    if not data:
                        return None
                    self._buf += data
                    continue
                data, _ = self.sock.recvfrom(65536)
            except (socket.timeout, BlockingIOError):
                return None
            try:
                return SipMessage(data)
            except ValueError:
                continue

    # -- requests -----------------------------------------------------------
    def _via(self, branch):
        return "Via: SIP/2.0/%s %s:%d;branch=%s;rport\r\n" % (
            self.transport.upper(), HOST, self.local_port, branch)

    def build(self, method, ruri, from_user, call_id, cseq, branch, from_tag,
              body=b"", content_type=None, content_length=None, headers=(),
              from_host=HOST, to_tag=None, from_value=None, to_value=None):
        """from_value / to_value: the whole From / To value, as given (a
        malformed one included)."""
        h = ("%s %s SIP/2.0\r\n" % (method, ruri) + self._via(branch) +
             "Max-Forwards: 70\r\n"
             "From: %s\r\n" % (from_value or "<sip:%s@%s>;tag=%s" % (
                 from_user, from_host, from_tag)) +
             "To: %s\r\n" % (to_value or "<%s>%s" % (
                 ruri, ";tag=" + to_tag if to_tag else "")) +
             "Call-ID: %s\r\n" % call_id +
             "CSeq: %d %s\r\n" % (cseq, method) +
             "Contact: <sip:%s@%s:%d;transport=%s>\r\n" % (
                 from_user, HOST, self.local_port, self.transport))
        for line in headers:
            h += line + "\r\n"
        if content_type is not None:
            h += "Content-Type: %s\r\n" % content_type
        h += "Content-Length: %d\r\n\r\n" % (len(body) if content_length is None
                                             else content_length)
        return h.encode() + body

    def invite(self, service="911", from_user="alice", body=SDP,
               content_type="application/sdp", content_length=None, headers=(),
               credentials=None, wait=None, ruri=None, from_host=HOST,
               from_value=None, to_value=None):
        """Sends an INVITE to service@Kamailio, waits for the final response
        and ACKs it. credentials=(user, password) answers one 401/407 with a new
        INVITE (same Call-ID, next CSeq); the Transaction returned is the last.
        from_value / to_value replace the whole From / To value of the INVITE
        (its ACK keeps the usual From)."""
        ruri = ruri or "sip:%s@%s:%d" % (service, self.host, self.port)
        call_id = "raw-%s@%s" % (_rand(), HOST)
        from_tag = _rand(4)
        extra = list(headers)
        tx = None
        for attempt in range(2):
            self.cseq += 1
            branch = "z9hG4bK" + _rand()
            req = self.build("INVITE", ruri, from_user, call_id, self.cseq, branch,
                             from_tag, body=body, content_type=content_type,
                             content_length=content_length, headers=extra,
                             from_host=from_host, from_value=from_value,
                             to_value=to_value)
            tx = Transaction(call_id, req)
            self.send(req)
            deadline = time.monotonic() + (wait or self.timeout)
            while time.monotonic() < deadline:
                m = self.recv(deadline)
                if m is None:
                    break
                if m.is_request or m.call_id != call_id or m.cseq[0] != self.cseq:
                    continue
                tx.responses.append(m)
                if m.status >= 200:
                    tx.final = m
                    break
            if tx.final is None:
                return tx
            self.ack(tx, ruri, from_user, from_tag, branch, from_host)
            if tx.final.status in (401, 407):
                name = ("WWW-Authenticate" if tx.final.status == 401
                        else "Proxy-Authenticate")
                self.last_challenge = tx.final.header(name)
            if tx.final.status in (401, 407) and credentials and attempt == 0:
                auth = ("Authorization" if tx.final.status == 401
                        else "Proxy-Authorization")
                value = digest_response(self.last_challenge, "INVITE", ruri,
                                        credentials[0], credentials[1])
                extra = list(headers) + ["%s: %s" % (auth, value)]
                continue
            return tx
        return tx

    def ack(self, tx, ruri, from_user, from_tag, branch, from_host=HOST):
        """ACK of a final response: hop by hop (same branch) for an error, else
        a new transaction along the Record-Route set to the Contact."""
        final = tx.final
        to = final.header("To") or ""
        m = re.search(r";\s*tag=([^;>\s]+)", to)
        to_tag = m.group(1) if m else None
        route = []
        target = ruri
        if final.status < 300:
            branch = "z9hG4bK" + _rand()
            rr = final.header_all("Record-Route")
            route = ["Route: %s" % v for v in rr]
            cm = re.search(r"<([^>]+)>", final.header("Contact") or "")
            if cm:
                target = cm.group(1)
        h = self.build("ACK", target, from_user, tx.call_id, self.cseq, branch,
                       from_tag, headers=route, from_host=from_host, to_tag=to_tag)
        # the To header of an ACK is the response's
        h = re.sub(rb"(?m)^To: [^\r\n]*", ("To: " + to).encode(), h, count=1)
        self.send(h)
