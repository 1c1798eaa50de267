#!/usr/bin/env python3
# kamailio-e911 benchmark: a small, fast location service (contract v1 subset).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Why not test/locsvc/locsvc.py: the reference service runs one thread per
# connection and BaseHTTPRequestHandler; on a 2-core machine it costs ~1 ms of
# CPU per request and competes with Kamailio for the cores in cold-cache runs
# (see docs/benchmarks.md, "location service capacity"). This one is a single
# asyncio loop, HTTP/1.1 keep-alive, with the same latency / hang / status
# controls the benchmark needs.
#
#   GET /v1/locations/<key>   200 record | 404
#       a key present in --records is served as is; any other key that starts
#       with --synth-prefix (default "b") gets a record made from --template
#       (its "{KEY}" and "{N}" replaced: every benchmark caller a distinct
#       record, no million-entry file needed)
#   POST /_control {"mode": "normal"|"hang"|"status", "status": 503,
#                   "latency_ms": N}
#   GET  /_stats   {"requests": N, "by_status": {...}, "connections": N, "open": N,
#                   "inflight": N, "peak_inflight": N}  (peak_inflight: the most
#                   location requests in hand at once since the last reset)
#   POST /_reset   counters and mode back to the start values
#
# Python 3 standard library only.

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.parse

HANG_MAX_S = 600.0


class State:
    def __init__(self, records, template, prefix, latency_ms):
        self.records = records
        self.template = template
        self.prefix = prefix
        self.default_latency = latency_ms
        self.reset()

    def reset(self):
        self.mode = "normal"
        self.status = 503
        self.latency_ms = self.default_latency
        self.requests = 0
        self.by_status = {}
        self.connections = 0
        self.open = 0
        self.inflight = 0
        self.peak_inflight = 0

    def record(self, key):
        rec = self.records.get(key)
        if rec is not None:
            return rec
        if self.template is not None and key.startswith(self.prefix):
            n = sum(ord(c) for c in key) * 7919 + len(key)
            return (self.template.replace("{KEY}", json.dumps(key)[1:-1])
                    .replace("{N}", "%07d" % (n % 10000000)))
        return None


def response(code, body, ctype="application/json"):
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request", 503: "Service Unavailable"}
    return (("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
        code, reason.get(code, "Status"), ctype, len(body))).encode() + body)


async def handle(state, reader, writer):
    state.connections += 1
    state.open += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                return
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) < 2:
                return
            method, target = parts[0], parts[1]
            clen = 0
            close = False
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                k = k.strip().lower()
                if k == "content-length":
                    clen = int(v.strip() or 0)
                elif k == "connection" and v.strip().lower() == "close":
                    close = True
            body = await reader.readexactly(clen) if clen else b""
            path = urllib.parse.urlsplit(target).path
            if path.startswith("/_"):
                out = control(state, method, path, body)
            elif path.startswith("/v1/locations/"):
                key = urllib.parse.unquote(path[len("/v1/locations/"):])
                state.requests += 1
                state.inflight += 1
                state.peak_inflight = max(state.peak_inflight, state.inflight)
                mode = state.mode
                try:
                    if state.latency_ms > 0:
                        await asyncio.sleep(state.latency_ms / 1000.0)
                finally:
                    state.inflight -= 1
                if mode == "hang":
                    state.by_status["hang"] = state.by_status.get("hang", 0) + 1
                    try:
                        await asyncio.wait_for(reader.read(), HANG_MAX_S)
                    except (asyncio.TimeoutError, ConnectionError):
                        pass
                    return
                if mode == "status":
                    code, payload = state.status, b'{"error":"control mode"}\n'
                else:
                    rec = state.record(key)
                    if rec is None:
                        code, payload = 404, b'{"error":"not found"}\n'
                    else:
                        code = 200
                        payload = (rec if isinstance(rec, str) else json.dumps(rec)).encode()
                state.by_status[str(code)] = state.by_status.get(str(code), 0) + 1
                out = response(code, payload)
            else:
                out = response(404, b'{"error":"not found"}\n')
            writer.write(out)
            await writer.drain()
            if close:
                return
    finally:
        state.open -= 1
        try:
            writer.close()
        except Exception:
            pass


def control(state, method, path, body):
    try:
        if method == "GET" and path == "/_stats":
            return response(200, json.dumps({
                "requests": state.requests, "by_status": state.by_status,
                "connections": state.connections, "open": state.open,
                "inflight": state.inflight, "peak_inflight": state.peak_inflight,
                "mode": {"mode": state.mode, "latency_ms": state.latency_ms}}).encode())
        if method == "POST" and path == "/_reset":
            state.reset()
            return response(200, b'{"ok":true}')
        if method == "POST" and path == "/_control":
            ctl = json.loads(body or b"{}")
            mode = ctl.get("mode", "normal")
            if mode not in ("normal", "hang", "status"):
                raise ValueError("unknown mode %r" % mode)
            state.mode = mode
            state.status = int(ctl.get("status", 503))
            state.latency_ms = int(ctl.get("latency_ms", state.default_latency))
            return response(200, b'{"ok":true}')
    except (ValueError, TypeError) as e:
        return response(400, json.dumps({"error": str(e)}).encode())
    return response(404, b'{"error":"no such control endpoint"}')


async def amain(args):
    records = {}
    if args.records:
        with open(args.records) as f:
            records = json.load(f)
    template = None
    if args.template:
        with open(args.template) as f:
            template = f.read().strip()
    state = State(records, template, args.synth_prefix, args.latency_ms)
    server = await asyncio.start_server(lambda r, w: handle(state, r, w), args.host,
                                        args.port, backlog=1024, limit=65536)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(args.port_file + ".tmp", args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    print("bench-locsvc on http://%s:%d (%d records, template %s)" % (
        args.host, port, len(records), "yes" if template else "no"), flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except asyncio.TimeoutError:
        pass
    server.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--records", help="JSON file {key: record}")
    ap.add_argument("--template", help="record template (JSON text with {KEY} and {N})")
    ap.add_argument("--synth-prefix", default="b")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=3600.0,
                    help="stop by itself after this long (bounded)")
    args = ap.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
