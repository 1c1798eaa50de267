#!/usr/bin/env python3
# kamailio-e911: a test PSAP (SIP UAS) and SIP message parsing helpers.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# As a module:
#     with Psap(port=0) as psap:            # UDP and TCP on 127.0.0.1:<psap.port>
#         ...
#         rx = psap.wait_request("INVITE", timeout=10)
#         rx.raw                      # exact bytes received
#         rx.msg.ruri, rx.msg.header("Geolocation"), rx.msg.multipart().parts
#
# As a CLI (the demo):
#     psap.py --port 5070 [--final-code 503] [--dump-dir DIR] [--max-seconds 3600]
#
# The PSAP answers INVITE with 100 then (optionally 180 and after --ring-ms) the final
# code: 200 OK with an SDP answer by default, or e.g. 503 to exercise a proxy's failure
# route; BYE, CANCEL, OPTIONS and everything else but ACK get 200; ACK is absorbed.
# A CANCEL of a still-ringing INVITE gets 200 and the INVITE 487. Retransmitted
# requests get the last response again. Responses copy Via (all, in order), From,
# To (+ a To-tag), Call-ID, CSeq and, for INVITE 1xx/2xx, Record-Route; they carry a
# Contact. Every request is recorded byte-exact with its arrival time.
#
# Python 3 standard library only.

import argparse
import heapq
import os
import random
import re
import selectors
import signal
import socket
import sys
import threading
import time

# RFC 3261 §7.3.3 and later RFCs: compact header forms
COMPACT = {
    "a": "accept-contact", "b": "referred-by", "c": "content-type",
    "d": "request-disposition", "e": "content-encoding", "f": "from",
    "i": "call-id", "j": "reject-contact", "k": "supported",
    "l": "content-length", "m": "contact", "n": "identity-info", "o": "event",
    "r": "refer-to", "s": "subject", "t": "to", "u": "allow-events", "v": "via",
    "x": "session-expires", "y": "identity",
}

REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
    202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 415: "Unsupported Media Type", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
    504: "Server Time-out", 600: "Busy Everywhere", 603: "Decline",
}

PSAP_SDP = (b"v=0\r\n"
            b"o=psap 1000 1000 IN IP4 127.0.0.1\r\n"
            b"s=PSAP\r\n"
            b"c=IN IP4 127.0.0.1\r\n"
            b"t=0 0\r\n"
            b"m=audio 40000 RTP/AVP 0 101\r\n"
            b"a=rtpmap:0 PCMU/8000\r\n"
            b"a=rtpmap:101 telephone-event/8000\r\n"
            b"a=sendrecv\r\n")


def canon(name):
    """Canonical (lower-case, long-form) header name."""
    n = name.strip().lower()
    return COMPACT.get(n, n)


def split_top_level(value, sep=","):
    """Splits a header value on sep outside quotes and <...>."""
    out, cur, depth, quote, esc = [], [], 0, False, False
    for ch in value:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if quote:
            cur.append(ch)
            if ch == "\\":
                esc = True
            elif ch == '"':
                quote = False
            continue
        if ch == '"':
            quote = True
        elif ch == "<":
            depth += 1
        elif ch == ">" and depth > 0:
            depth -= 1
        elif ch == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    last = "".join(cur).strip()
    if last or out:
        out.append(last)
    return out


def parse_params(value):
    """'type/sub; a=1; b="x;y"' -> ('type/sub', {'a': '1', 'b': 'x;y'}); names lower-cased."""
    items = split_top_level(value, ";")
    main = items[0].strip() if items else ""
    params = {}
    for it in items[1:]:
        name, eq, v = it.partition("=")
        v = v.strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        params[name.strip().lower()] = v if eq else None
    return main, params


class Headers:
    """An ordered, multi-valued, case-insensitive header list (compact forms folded)."""

    def __init__(self, items=None):
        self.items = list(items or [])   # [(name as sent, value)]

    def add(self, name, value):
        self.items.append((name, value))

    def get(self, name, default=None):
        c = canon(name)
        for n, v in self.items:
            if canon(n) == c:
                return v
        return default

    def get_all(self, name):
        """Every occurrence (one entry per header line), in order."""
        c = canon(name)
        return [v for n, v in self.items if canon(n) == c]

    def values(self, name):
        """Every comma-separated value of every occurrence, in order."""
        out = []
        for v in self.get_all(name):
            out.extend(x for x in split_top_level(v) if x != "")
        return out

    def count(self, name):
        return len(self.get_all(name))

    def names(self):
        return [n for n, _ in self.items]

    def __contains__(self, name):
        return self.count(name) > 0

    def __iter__(self):
        return iter(self.items)


def _parse_header_block(text):
    """Header lines (str, CRLF or LF separated, folded lines joined) -> Headers."""
    hdrs = Headers()
    lines = re.split(r"\r?\n", text)
    for line in lines:
        if line == "":
            continue
        if line[0] in " \t" and hdrs.items:
            n, v = hdrs.items[-1]
            hdrs.items[-1] = (n, v + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError("malformed header line: %r" % line)
        hdrs.add(name.strip(), value.strip())
    return hdrs


class BodyPart:
    """One part of a multipart body: its headers and its exact bytes."""

    def __init__(self, raw):
        self.raw = raw                       # headers + CRLF CRLF + body, exact
        if raw.startswith(b"\r\n"):
            self.header_bytes, self.body = b"", raw[2:]
        else:
            i = raw.find(b"\r\n\r\n")
            if i < 0:
                raise ValueError("multipart part without an empty line after its headers")
            self.header_bytes, self.body = raw[:i], raw[i + 4:]
        self.headers = _parse_header_block(self.header_bytes.decode("utf-8", "surrogateescape"))

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def content_type(self):
        """Media type, lower-case, without parameters ('' when absent)."""
        ct = self.headers.get("Content-Type")
        return parse_params(ct)[0].lower() if ct else ""

    @property
    def content_id(self):
        """Content-ID without the angle brackets, or None."""
        cid = self.headers.get("Content-ID")
        if cid is None:
            return None
        cid = cid.strip()
        if cid.startswith("<") and cid.endswith(">"):
            cid = cid[1:-1]
        return cid

    def __repr__(self):
        return "<BodyPart %s %d bytes>" % (self.content_type or "?", len(self.body))


class Multipart:
    """RFC 2046 multipart body. The CRLF before each delimiter belongs to the
    delimiter, so each part's body keeps its own last CRLF."""

    def __init__(self, body, boundary):
        if not boundary:
            raise ValueError("multipart without a boundary parameter")
        self.boundary = boundary
        delim = b"--" + boundary.encode("utf-8", "surrogateescape")
        self.parts = []
        if body.startswith(delim):
            pos, self.preamble = 0, b""
        else:
            i = body.find(b"\r\n" + delim)
            if i < 0:
                raise ValueError("multipart body without its first delimiter --%s" % boundary)
            self.preamble, pos = body[:i], i + 2
        self.closed = False
        self.epilogue = b""
        while True:
            after = pos + len(delim)
            if body[after:after + 2] == b"--":
                self.closed = True
                self.epilogue = body[after + 2:]
                break
            eol = body.find(b"\r\n", after)
            if eol < 0 or body[after:eol].strip(b" \t") != b"":
                raise ValueError("bad delimiter line at offset %d" % pos)
            start = eol + 2
            nxt = body.find(b"\r\n" + delim, start)
            if nxt < 0:
                raise ValueError("multipart body without its close delimiter --%s--" % boundary)
            self.parts.append(BodyPart(body[start:nxt]))
            pos = nxt + 2

    def by_type(self, ctype):
        return [p for p in self.parts if p.content_type == ctype.lower()]

    def by_cid(self, cid):
        for p in self.parts:
            if p.content_id == cid:
                return p
        return None


class SipMessage:
    """A parsed SIP request or response. All bytes are kept."""

    def __init__(self, raw):
        self.raw = bytes(raw)
        i = self.raw.find(b"\r\n\r\n")
        if i >= 0:
            head, body = self.raw[:i], self.raw[i + 4:]
        else:
            j = self.raw.find(b"\n\n")
            head, body = (self.raw[:j], self.raw[j + 2:]) if j >= 0 else (self.raw, b"")
        self.head_bytes = head
        text = head.decode("utf-8", "surrogateescape")
        first, _, rest = text.partition("\n")
        self.start_line = first.rstrip("\r")
        self.headers = _parse_header_block(rest)
        parts = self.start_line.split(" ", 2)
        if len(parts) < 3:
            raise ValueError("bad start line: %r" % self.start_line)
        if parts[0].startswith("SIP/"):
            self.is_request = False
            self.version, self.status, self.reason = parts[0], int(parts[1]), parts[2]
            self.method, self.ruri = None, None
        else:
            self.is_request = True
            self.method, self.ruri, self.version = parts
            self.status, self.reason = None, None
        cl = self.headers.get("Content-Length")
        self.declared_length = int(cl) if cl is not None and cl.strip().isdigit() else None
        self.full_body = body
        self.body = body[:self.declared_length] if self.declared_length is not None else body

    # -- headers ----------------------------------------------------------
    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_all(self, name):
        return self.headers.get_all(name)

    def values(self, name):
        return self.headers.values(name)

    def count(self, name):
        return self.headers.count(name)

    @property
    def call_id(self):
        return self.header("Call-ID")

    @property
    def cseq(self):
        v = self.header("CSeq") or "0 ?"
        n, _, m = v.partition(" ")
        return int(n), m.strip()

    @property
    def branch(self):
        vias = self.values("Via")
        if not vias:
            return None
        return parse_params(vias[0])[1].get("branch")

    @property
    def content_type(self):
        ct = self.header("Content-Type")
        return parse_params(ct)[0].lower() if ct else ""

    @property
    def ruri_user(self):
        m = re.match(r"^(?:sips?|tel):([^@;>]*)", self.ruri or "")
        return m.group(1) if m else None

    def content_length_ok(self):
        return self.declared_length is not None and self.declared_length == len(self.full_body)

    def multipart(self):
        ct = self.header("Content-Type")
        if not ct:
            raise ValueError("no Content-Type")
        mtype, params = parse_params(ct)
        if not mtype.lower().startswith("multipart/"):
            raise ValueError("not multipart: %s" % ct)
        return Multipart(self.body, params.get("boundary"))

    def __repr__(self):
        return "<SipMessage %s>" % self.start_line


def parse_sip(raw):
    return SipMessage(raw)


class Received:
    """A request as the PSAP received it."""

    def __init__(self, raw, transport, addr):
        self.raw = raw
        self.transport = transport
        self.addr = addr
        self.time = time.time()
        self.mono = time.monotonic()
        self.msg = SipMessage(raw)

    def __repr__(self):
        return "<Received %s %s via %s from %s:%d>" % (
            self.msg.method, self.msg.ruri, self.transport, self.addr[0], self.addr[1])


def _tcp_frames(buf):
    """Splits complete SIP messages off a TCP stream buffer; returns (msgs, rest)."""
    msgs = []
    while True:
        while buf.startswith(b"\r\n"):       # keep-alive CRLFs
            buf = buf[2:]
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return msgs, buf
        m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", buf[:i])
        n = int(m.group(1)) if m else 0
        end = i + 4 + n
        if len(buf) < end:
            return msgs, buf
        msgs.append(buf[:end])
        buf = buf[end:]


class Psap:
    """A SIP UAS on UDP and TCP 127.0.0.1:port that records every request."""

    def __init__(self, host="127.0.0.1", port=0, final_code=200, ring_ms=0,
                 name="psap", tcp=True, log=None):
        self.host = host
        self.final_code = final_code
        self.ring_ms = ring_ms
        self.name = name
        self.log = log
        self.received = []
        self.others = []                    # responses and unparsable datagrams
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = None
        self._txns = {}                     # (call-id, cseq, method, branch) -> state
        self._timers = []                   # heap of (due, seq, fn)
        self._seq = 0
        self._tcp_bufs = {}
        self.sel = selectors.DefaultSelector()
        self.udp, self.tcp = self._bind(host, port, tcp)
        self.port = self.udp.getsockname()[1]
        if self.tcp is not None:
            self.tcp.listen(16)
            self.tcp.setblocking(False)
            self.sel.register(self.tcp, selectors.EVENT_READ, "accept")
        self.udp.setblocking(False)
        self.sel.register(self.udp, selectors.EVENT_READ, "udp")

    @staticmethod
    def _bind(host, port, tcp):
        """UDP (and TCP) sockets on the same port; port 0 = a port free for both."""
        for _ in range(100 if port == 0 else 1):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((host, port))
            if not tcp:
                return u, None
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                t.bind((host, u.getsockname()[1]))
                return u, t
            except OSError:
                u.close()
                t.close()
                if port != 0:
                    raise
        raise OSError("no port free for both UDP and TCP on %s" % host)

    @property
    def uri(self):
        return "sip:%s:%d" % (self.host, self.port)

    # -- lifecycle --------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="psap-%s" % self.name,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        for key in list(self.sel.get_map().values()):
            try:
                key.fileobj.close()
            except OSError:
                pass
        self.sel.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- queries ----------------------------------------------------------
    def requests(self, method=None):
        with self._cond:
            return [r for r in self.received if method is None or r.msg.method == method]

    def invites(self):
        """INVITEs without retransmissions (first of each Call-ID/CSeq/branch)."""
        seen, out = set(), []
        for r in self.requests("INVITE"):
            k = (r.msg.call_id, r.msg.cseq, r.msg.branch)
            if k not in seen:
                seen.add(k)
                out.append(r)
        return out

    def wait_for(self, pred, timeout):
        """Waits until pred() (called under the lock) is true; returns its value or None."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def wait_request(self, method="INVITE", index=0, timeout=10.0, call_id=None):
        """The index-th request (retransmissions of INVITE not counted) with that method."""
        def pred():
            if method == "INVITE":
                lst = self.invites()
            else:
                lst = [r for r in self.received if r.msg.method == method]
            if call_id is not None:
                lst = [r for r in lst if r.msg.call_id == call_id]
            return lst[index] if len(lst) > index else None
        return self.wait_for(pred, timeout)

    def clear(self):
        with self._cond:
            self.received.clear()
            self.others.clear()

    def summary(self):
        lines = []
        for r in self.requests():
            lines.append("  %.3f %s %s %s from %s:%d" % (
                r.time, r.transport, r.msg.method, r.msg.ruri, r.addr[0], r.addr[1]))
        return "\n".join(lines) or "  (nothing received)"

    # -- protocol ---------------------------------------------------------
    def _say(self, text):
        if self.log:
            self.log(text)

    def _timer(self, delay, fn):
        self._seq += 1
        heapq.heappush(self._timers, (time.monotonic() + delay, self._seq, fn))

    def _loop(self):
        while not self._stop.is_set():
            timeout = 0.1
            if self._timers:
                timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            for key, _ in self.sel.select(timeout):
                try:
                    self._event(key)
                except Exception as e:  # keep serving; note it
                    self._say("%s: error: %r" % (self.name, e))
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, fn = heapq.heappop(self._timers)
                try:
                    fn()
                except Exception as e:
                    self._say("%s: timer error: %r" % (self.name, e))

    def _event(self, key):
        if key.data == "udp":
            for _ in range(64):
                try:
                    data, addr = self.udp.recvfrom(65535)
                except BlockingIOError:
                    return
                self._incoming(data, "udp", addr, lambda b, a=addr: self.udp.sendto(b, a))
        elif key.data == "accept":
            try:
                conn, addr = self.tcp.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self._tcp_bufs[conn] = (b"", addr)
            self.sel.register(conn, selectors.EVENT_READ, "tcp")
        else:
            conn = key.fileobj
            buf, addr = self._tcp_bufs.get(conn, (b"", ("?", 0)))
            try:
                data = conn.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.sel.unregister(conn)
                self._tcp_bufs.pop(conn, None)
                conn.close()
                return
            msgs, rest = _tcp_frames(buf + data)
            self._tcp_bufs[conn] = (rest, addr)

            def send(b, c=conn):
                c.setblocking(True)
                try:
                    c.sendall(b)
                finally:
                    c.setblocking(False)
            for m in msgs:
                self._incoming(m, "tcp", addr, send)

    def _incoming(self, data, transport, addr, send):
        try:
            rx = Received(data, transport, addr)
        except Exception:
            with self._cond:
                self.others.append((data, transport, addr))
                self._cond.notify_all()
            return
        if not rx.msg.is_request:
            with self._cond:
                self.others.append((data, transport, addr))
                self._cond.notify_all()
            return
        with self._cond:
            self.received.append(rx)
            self._cond.notify_all()
        m = rx.msg
        self._say("%s: %s %s %s from %s:%d" % (self.name, transport.upper(), m.method,
                                               m.ruri, addr[0], addr[1]))
        if m.method == "ACK":
            return
        tkey = (m.call_id, m.cseq, m.branch)
        st = self._txns.get(tkey)
        if st is not None:                  # retransmission: repeat the last answer
            if st.get("last"):
                send(st["last"])
            return
        st = {"send": send, "last": None, "final": False, "msg": m, "transport": transport,
              "tag": "%016x" % random.getrandbits(64)}
        self._txns[tkey] = st
        if m.method == "INVITE":
            self._reply(st, 100)
            if self.ring_ms > 0:
                self._reply(st, 180)
                self._timer(self.ring_ms / 1000.0, lambda: self._final(st))
            else:
                self._final(st)
        elif m.method == "CANCEL":
            self._reply(st, 200)
            for ik, ist in self._txns.items():
                if (ik[0] == m.call_id and ik[2] == m.branch and ik[1][1] == "INVITE"
                        and not ist["final"]):
                    self._reply(ist, 487)
                    ist["final"] = True
        else:
            self._reply(st, 200)

    def _final(self, st):
        if st["final"]:
            return
        st["final"] = True
        code = self.final_code
        self._reply(st, code, PSAP_SDP if code // 100 == 2 else b"")

    def _reply(self, st, code, body=b""):
        m = st["msg"]
        lines = ["SIP/2.0 %d %s" % (code, REASONS.get(code, "Unknown"))]
        for n, v in m.headers:
            if canon(n) == "via":
                lines.append("Via: " + v)
        if m.method == "INVITE" and code > 100 and code < 300:
            for v in m.header_all("Record-Route"):
                lines.append("Record-Route: " + v)
        lines.append("From: " + (m.header("From") or ""))
        to = m.header("To") or ""
        if code > 100 and "tag" not in parse_params(to)[1]:
            to += ";tag=" + st["tag"]
        lines.append("To: " + to)
        lines.append("Call-ID: " + (m.call_id or ""))
        lines.append("CSeq: " + (m.header("CSeq") or ""))
        if 100 < code < 300:
            tp = ";transport=tcp" if st["transport"] == "tcp" else ""
            lines.append("Contact: <sip:%s@%s:%d%s>" % (self.name, self.host, self.port, tp))
        lines.append("Server: e911-test-psap")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
        st["last"] = out
        st["send"](out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="test PSAP: a SIP UAS that records requests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5070)
    ap.add_argument("--name", default="psap")
    ap.add_argument("--final-code", type=int, default=200)
    ap.add_argument("--ring-ms", type=int, default=0)
    ap.add_argument("--dump-dir", help="write each received request to DIR/NNNN-METHOD.sip")
    ap.add_argument("--max-seconds", type=float, default=3600.0,
                    help="exit after this long (default 3600)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda s, f: stop.set())
    signal.signal(signal.SIGINT, lambda s, f: stop.set())
    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
    psap = Psap(args.host, args.port, final_code=args.final_code, ring_ms=args.ring_ms,
                name=args.name, log=None if args.quiet else
                (lambda t: print(time.strftime("%H:%M:%S ") + t, flush=True)))
    psap.start()
    print("%s listening on udp+tcp %s:%d (final %d)" % (args.name, args.host, psap.port,
                                                       args.final_code), flush=True)
    written = 0
    deadline = time.monotonic() + args.max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            stop.wait(0.1)
            if args.dump_dir:
                reqs = psap.requests()
                while written < len(reqs):
                    r = reqs[written]
                    written += 1
                    fn = os.path.join(args.dump_dir, "%04d-%s.sip" % (written, r.msg.method))
                    with open(fn + ".tmp", "wb") as f:
                        f.write(r.raw)
                    os.replace(fn + ".tmp", fn)
    finally:
        psap.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
