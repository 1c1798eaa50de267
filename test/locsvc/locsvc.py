#!/usr/bin/env python3
# kamailio-e911: reference location service (contract v1) for tests and the demo.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Serves location records from a JSON file {"<key>": {record}, ...}:
#
#   GET /v1/locations/<percent-encoded key>     200 record | 404 {"error":"not found"}
#   GET /v1/locations?key=<percent-encoded key> (same, for a query-string template)
#
# Control API (loopback clients only), used by the integration tests:
#
#   POST /_control  {"mode": "normal"|"status"|"hang"|"malformed"|"oversize"|
#                            "slowbytes"|"close"|"raw",
#                    "status": 503, "latency_ms": 20, "keys": ["alice", ...],
#                    "body_b64": "<base64>"}
#       mode       how location requests are answered (default "normal"):
#                  status    the "status" code with a small JSON error body
#                  hang      accept and never answer; the connection is held until
#                            the client gives up (or the service stops)
#                  malformed 200 with broken JSON
#                  oversize  200 with a 10 MB (valid JSON) body, streamed
#                  slowbytes the normal answer, one byte per second
#                  close     close the connection without answering
#                  raw       the "status" code (default 200 in this mode) with exactly
#                            the bytes of "body_b64" (invalid UTF-8, deep nesting, ...)
#       latency_ms delay before every answer (any mode)
#       keys       restrict the mode to these keys (others are answered normally)
#   GET  /_stats    {"requests": N, "by_key": {...}, "by_status": {...},
#                    "connections": N, "inflight": N, "peak_inflight": N,
#                    "mode": {...}, "recent": [...]}
#                   peak_inflight: the most location requests it had in hand
#                   at once (received, not yet answered) since the last reset
#   POST /_reset    clear the counters and the mode (latency back to --latency-ms)
#   PUT  /_records  replace the record set (JSON object body)
#   GET  /_records  the current record set
#
# Every location request is logged to stdout (line-buffered):
#   <time> GET <path> key=<key> status=<status> mode=<mode>
#
# Python 3 standard library only.

import argparse
import base64
import binascii
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("normal", "status", "hang", "malformed", "oversize", "slowbytes", "close", "raw")
LOC_PREFIX = "/v1/locations"
OVERSIZE_BYTES = 10 * 1024 * 1024
HANG_MAX_S = 600.0          # a hung answer never outlives this (bounded loops)
SLOWBYTES_MAX_S = 600.0
RECENT_MAX = 200


class State:
    """Records, mode and counters, shared by the handler threads."""

    def __init__(self, records, latency_ms):
        self.lock = threading.Lock()
        self.records = records
        self.default_latency_ms = latency_ms
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.mode = "normal"
            self.status = 503
            self.raw_body = b""
            self.latency_ms = self.default_latency_ms
            self.keys = None
            self.requests = 0
            self.by_key = {}
            self.by_status = {}
            self.connections = 0
            self.inflight = 0
            self.peak_inflight = 0
            self.recent = []

    def mode_for(self, key):
        with self.lock:
            if self.keys is not None and key not in self.keys:
                return "normal", self.status, self.latency_ms
            return self.mode, self.status, self.latency_ms

    def enter(self):
        with self.lock:
            self.inflight += 1
            self.peak_inflight = max(self.peak_inflight, self.inflight)

    def leave(self):
        with self.lock:
            self.inflight = max(0, self.inflight - 1)

    def raw(self):
        with self.lock:
            return self.raw_body

    def count(self, key, path, headers, status, mode):
        with self.lock:
            self.requests += 1
            self.by_key[key] = self.by_key.get(key, 0) + 1
            st = str(status)
            self.by_status[st] = self.by_status.get(st, 0) + 1
            self.recent.append({
                "t": time.time(), "key": key, "path": path, "status": status,
                "mode": mode, "headers": [[k, v] for k, v in headers.items()]})
            del self.recent[:-RECENT_MAX]

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "by_key": dict(self.by_key),
                "by_status": dict(self.by_status),
                "connections": self.connections,
                "inflight": self.inflight,
                "peak_inflight": self.peak_inflight,
                "mode": {"mode": self.mode, "status": self.status,
                         "latency_ms": self.latency_ms, "keys": self.keys},
                "recent": list(self.recent),
            }


def is_loopback(addr):
    return addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "e911-locsvc/1"
    sys_version = ""

    # -- plumbing ---------------------------------------------------------
    @property
    def state(self):
        return self.server.state

    def setup(self):
        super().setup()
        # headers and body go out in separate small writes: without this,
        # Nagle holds the body for the client's delayed ACK (~40 ms)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.state.lock:
            self.state.connections += 1

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # silence the default stderr access log
        pass

    def log_line(self, method, path, key, status, mode):
        print("%s %s %s key=%s status=%s mode=%s" % (
            time.strftime("%H:%M:%S"), method, path, json.dumps(key), status, mode),
            flush=True)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, code, body, ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, code, obj):
        self.send_bytes(code, (json.dumps(obj) + "\n").encode())

    def client_gone(self, timeout):
        """Waits up to timeout seconds; True when the client closed the connection."""
        sock = self.connection
        try:
            r, _, _ = select.select([sock], [], [], timeout)
            if not r:
                return False
            data = sock.recv(4096, socket.MSG_PEEK)
            if not data:
                return True
            sock.recv(len(data))  # drain a pipelined request; we never answer it
            return False
        except OSError:
            return True

    # -- control API ------------------------------------------------------
    def control(self):
        if not is_loopback(self.client_address[0]):
            self.send_json(403, {"error": "control API is loopback-only"})
            return
        path = urllib.parse.urlsplit(self.path).path
        try:
            if self.command == "GET" and path == "/_stats":
                self.send_json(200, self.state.snapshot())
            elif self.command == "GET" and path == "/_records":
                with self.state.lock:
                    recs = self.state.records
                self.send_json(200, recs)
            elif self.command == "POST" and path == "/_reset":
                self.read_body()
                self.state.reset()
                self.send_json(200, {"ok": True})
            elif self.command == "PUT" and path == "/_records":
                recs = json.loads(self.read_body() or b"{}")
                if not isinstance(recs, dict):
                    raise ValueError("records must be a JSON object")
                with self.state.lock:
                    self.state.records = recs
                self.send_json(200, {"ok": True, "records": len(recs)})
            elif self.command == "POST" and path == "/_control":
                ctl = json.loads(self.read_body() or b"{}")
                mode = ctl.get("mode", "normal")
                if mode not in MODES:
                    raise ValueError("unknown mode %r" % mode)
                keys = ctl.get("keys")
                if keys is not None and not isinstance(keys, list):
                    raise ValueError("keys must be a list")
                try:
                    raw_body = base64.b64decode(ctl.get("body_b64", ""), validate=True)
                except (binascii.Error, TypeError) as e:
                    raise ValueError("body_b64: %s" % e)
                with self.state.lock:
                    self.state.mode = mode
                    self.state.raw_body = raw_body
                    self.state.status = int(ctl.get("status", 200 if mode == "raw" else 503))
                    self.state.latency_ms = int(ctl.get("latency_ms",
                                                        self.state.default_latency_ms))
                    self.state.keys = set(keys) if keys is not None else None
                print("%s control mode=%s status=%s latency_ms=%s keys=%s" % (
                    time.strftime("%H:%M:%S"), mode, self.state.status,
                    self.state.latency_ms, keys), flush=True)
                self.send_json(200, {"ok": True})
            else:
                self.send_json(404, {"error": "no such control endpoint"})
        except (ValueError, TypeError) as e:
            self.send_json(400, {"error": str(e)})

    # -- location requests ------------------------------------------------
    def location_key(self):
        parts = urllib.parse.urlsplit(self.path)
        if parts.path.startswith(LOC_PREFIX + "/") and len(parts.path) > len(LOC_PREFIX) + 1:
            # decode once, exactly as sent; no '+' to space, no second pass
            return urllib.parse.unquote(parts.path[len(LOC_PREFIX) + 1:],
                                        errors="surrogateescape")
        if parts.path == LOC_PREFIX and parts.query:
            for item in parts.query.split("&"):
                name, _, value = item.partition("=")
                if name == "key":
                    return urllib.parse.unquote(value, errors="surrogateescape")
        return None

    def location(self):
        self.state.enter()
        try:
            self.answer_location()
        finally:
            self.state.leave()

    def answer_location(self):
        key = self.location_key()
        path = self.path
        if key is None:
            self.state.count(None, path, self.headers, 404, "normal")
            self.log_line(self.command, path, None, 404, "normal")
            self.send_json(404, {"error": "not found"})
            return
        mode, status, latency_ms = self.state.mode_for(key)
        if latency_ms > 0:
            time.sleep(latency_ms / 1000.0)
        with self.state.lock:
            rec = self.state.records.get(key)
        code = 200 if rec is not None else 404

        if mode == "normal":
            self.state.count(key, path, self.headers, code, mode)
            self.log_line(self.command, path, key, code, mode)
            self.send_json(code, rec if rec is not None else {"error": "not found"})
        elif mode == "status":
            self.state.count(key, path, self.headers, status, mode)
            self.log_line(self.command, path, key, status, mode)
            self.send_json(status, {"error": "status %d (control mode)" % status})
        elif mode == "malformed":
            self.state.count(key, path, self.headers, 200, mode)
            self.log_line(self.command, path, key, 200, mode)
            body = b'{"key": "' + key.encode("utf-8", "surrogateescape") + \
                b'", "civic": {"country": "US", "A1": "IL", "RD": "Main'
            self.send_bytes(200, body)
        elif mode == "raw":
            self.state.count(key, path, self.headers, status, mode)
            self.log_line(self.command, path, key, status, mode)
            self.send_bytes(status, self.state.raw())
        elif mode == "oversize":
            self.state.count(key, path, self.headers, 200, mode)
            self.log_line(self.command, path, key, 200, mode)
            self.stream_oversize()
        elif mode == "slowbytes":
            self.state.count(key, path, self.headers, code, mode)
            self.log_line(self.command, path, key, code, mode)
            self.slow_answer(code, rec if rec is not None else {"error": "not found"})
        elif mode == "close":
            self.state.count(key, path, self.headers, 0, mode)
            self.log_line(self.command, path, key, "closed", mode)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif mode == "hang":
            self.state.count(key, path, self.headers, 0, mode)
            self.log_line(self.command, path, key, "hang", mode)
            self.close_connection = True
            deadline = time.monotonic() + HANG_MAX_S
            while time.monotonic() < deadline and not self.state.stopping.is_set():
                if self.client_gone(0.2):
                    break
            self.log_line(self.command, path, key, "hang-ended", mode)

    def stream_oversize(self):
        # A syntactically valid record padded to 10 MB: only its size is wrong.
        head = b'{"civic":{"country":"US","A1":"IL","A3":"Chicago","RD":"Main"},"pad":"'
        tail = b'"}\n'
        pad_len = OVERSIZE_BYTES - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(OVERSIZE_BYTES))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            self.wfile.write(head)
            left = pad_len
            while left > 0 and not self.state.stopping.is_set():
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n])
                left -= n
            self.wfile.write(tail)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def slow_answer(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n" % (
                    code, self.responses.get(code, ("",))[0], len(body))).encode()
        data = head + body
        self.close_connection = True
        deadline = time.monotonic() + SLOWBYTES_MAX_S
        try:
            for i in range(len(data)):
                if self.state.stopping.is_set() or time.monotonic() > deadline:
                    break
                self.connection.sendall(data[i:i + 1])
                if i + 1 < len(data) and self.client_gone(1.0):
                    break
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------
    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_"):
            self.control()
        elif self.command in ("GET", "HEAD") and (path == LOC_PREFIX or
                                                 path.startswith(LOC_PREFIX + "/")):
            self.location()
        else:
            self.read_body()
            self.send_json(404 if self.command in ("GET", "HEAD") else 405,
                           {"error": "not found"})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = dispatch


class Server(ThreadingHTTPServer):
    # a storm of concurrent lookups must not overflow the accept queue (the
    # default of 5 makes connects wait for SYN retransmits)
    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state):
        self.state = state
        super().__init__(addr, Handler)


def load_records(path):
    with open(path, "rb") as f:
        recs = json.load(f)
    if not isinstance(recs, dict):
        raise SystemExit("%s: the records file must be a JSON object" % path)
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description="e911 reference location service")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 = any free port")
    ap.add_argument("--records", required=True, help="JSON file {key: record}")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    args = ap.parse_args(argv)

    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    state = State(load_records(args.records), args.latency_ms)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    Server.address_family = family
    srv = Server((args.host, args.port), state)
    port = srv.server_address[1]

    def stop(signum, frame):
        state.stopping.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("locsvc listening on http://%s:%d%s/{key} (%d records)" % (
        args.host, port, LOC_PREFIX, len(state.records)), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        state.stopping.set()
        srv.server_close()
    print("locsvc stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
