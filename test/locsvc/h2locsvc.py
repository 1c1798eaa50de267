#!/usr/bin/env python3
# kamailio-e911: a location service that speaks HTTP/2 (tests of the fetcher's
# multiplexing, issue 19).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One asyncio loop, python3-h2. On one port:
#   - HTTP/2 with prior knowledge (h2c: the connection starts with the HTTP/2
#     preface), or over TLS when --tls-cert/--tls-key are given and the client
#     offers "h2" in ALPN;
#   - HTTP/1.1 otherwise (the control API below, and location requests too).
#
#   GET  /v1/locations/<key>   200 record | 404, after latency_ms
#   POST /_control {"mode": "normal", "latency_ms": N}
#   GET  /_stats   {"requests": N, "by_key": {...}, "by_status": {...},
#                   "connections": N, "h2_connections": N, "h2_requests": N,
#                   "inflight": N, "peak_inflight": N}
#                  peak_inflight: the most location requests in hand at once
#   POST /_reset   counters back to 0, latency back to --latency-ms
#   PUT  /_records replace the record set
#
# Bounded: stops by itself after --max-seconds.

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
LOC_PREFIX = "/v1/locations/"


class State:
    def __init__(self, records, latency_ms):
        self.records = records
        self.default_latency = latency_ms
        self.reset()

    def reset(self):
        self.latency_ms = self.default_latency
        self.requests = 0
        self.by_key = {}
        self.by_status = {}
        self.connections = 0
        self.h2_connections = 0
        self.h2_requests = 0
        self.inflight = 0
        self.peak_inflight = 0

    def stats(self):
        return {"requests": self.requests, "by_key": self.by_key, "by_status": self.by_status,
                "connections": self.connections, "h2_connections": self.h2_connections,
                "h2_requests": self.h2_requests, "inflight": self.inflight,
                "peak_inflight": self.peak_inflight,
                "mode": {"mode": "normal", "latency_ms": self.latency_ms}}

    async def location(self, key):
        """(status, body) of a location request, after the latency."""
        self.requests += 1
        self.by_key[key] = self.by_key.get(key, 0) + 1
        self.inflight += 1
        self.peak_inflight = max(self.peak_inflight, self.inflight)
        try:
            if self.latency_ms > 0:
                await asyncio.sleep(self.latency_ms / 1000.0)
        finally:
            self.inflight -= 1
        rec = self.records.get(key)
        code = 200 if rec is not None else 404
        self.by_status[str(code)] = self.by_status.get(str(code), 0) + 1
        body = json.dumps(rec if rec is not None else {"error": "not found"}).encode()
        return code, body

    def control(self, method, path, body):
        if method == "GET" and path == "/_stats":
            return 200, json.dumps(self.stats()).encode()
        if method == "POST" and path == "/_reset":
            self.reset()
            return 200, b'{"ok":true}'
        if method == "PUT" and path == "/_records":
            recs = json.loads(body or b"{}")
            if not isinstance(recs, dict):
                return 400, b'{"error":"records must be a JSON object"}'
            self.records = recs
            return 200, json.dumps({"ok": True, "records": len(recs)}).encode()
        if method == "POST" and path == "/_control":
            ctl = json.loads(body or b"{}")
            if ctl.get("mode", "normal") != "normal":
                return 400, b'{"error":"only mode normal"}'
            self.latency_ms = int(ctl.get("latency_ms", self.default_latency))
            return 200, b'{"ok":true}'
        return 404, b'{"error":"not found"}'


def key_of(path):
    path = urllib.parse.urlsplit(path).path
    if path.startswith(LOC_PREFIX) and len(path) > len(LOC_PREFIX):
        return urllib.parse.unquote(path[len(LOC_PREFIX):])
    return None


async def serve_h2(state, reader, writer, first):
    state.h2_connections += 1
    cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=cfg)
    conn.local_settings = h2.settings.Settings(
        client=False, initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                                      state.max_streams})
    conn.initiate_connection()
    writer.write(conn.data_to_send())
    tasks = set()

    async def answer(stream_id, key):
        code, body = await state.location(key)
        try:
            conn.send_headers(stream_id, [(":status", str(code)),
                                          ("content-type", "application/json"),
                                          ("content-length", str(len(body)))])
            conn.send_data(stream_id, body, end_stream=True)
            writer.write(conn.data_to_send())
        except Exception:   # noqa: BLE001  (stream reset by the client)
            pass

    data = first
    while True:
        if data:
            try:
                events = conn.receive_data(data)
            except Exception:   # noqa: BLE001  (protocol error: drop the connection)
                break
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    hdrs = dict(ev.headers)
                    state.h2_requests += 1
                    key = key_of(hdrs.get(":path", ""))
                    if key is None:
                        conn.send_headers(ev.stream_id, [(":status", "404"),
                                                         ("content-length", "0")],
                                          end_stream=True)
                    else:
                        t = asyncio.ensure_future(answer(ev.stream_id, key))
                        tasks.add(t)
                        t.add_done_callback(tasks.discard)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    writer.write(conn.data_to_send())
                    return
            writer.write(conn.data_to_send())
        try:
            data = await reader.read(65536)
        except ConnectionError:
            break
        if not data:
            break
    for t in list(tasks):
        t.cancel()


async def serve_h1(state, reader, writer, first):
    buf = first
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return
        method, target = parts[0], parts[1]
        clen = 0
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip() or 0)
        while len(buf) < clen:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += chunk
        body, buf = buf[:clen], buf[clen:]
        path = urllib.parse.urlsplit(target).path
        key = key_of(target)
        if path.startswith("/_"):
            code, out = state.control(method, path, body)
        elif key is not None:
            code, out = await state.location(key)
        else:
            code, out = 404, b'{"error":"not found"}'
        writer.write(("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n" % (code, len(out))).encode() + out)
        await writer.drain()


async def handle(state, reader, writer):
    state.connections += 1
    try:
        sslobj = writer.get_extra_info("ssl_object")
        if sslobj is not None and sslobj.selected_alpn_protocol() == "h2":
            await serve_h2(state, reader, writer, b"")
            return
        first = b""
        while len(first) < len(PREFACE):
            chunk = await reader.read(len(PREFACE) - len(first))
            if not chunk:
                return
            first += chunk
            if not PREFACE.startswith(first):
                break
        if first == PREFACE:
            await serve_h2(state, reader, writer, first)
        else:
            await serve_h1(state, reader, writer, first)
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:   # noqa: BLE001
            pass


async def amain(args):
    records = {}
    if args.records:
        with open(args.records) as f:
            records = json.load(f)
    state = State(records, args.latency_ms)
    state.max_streams = args.max_streams
    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
    server = await asyncio.start_server(lambda r, w: handle(state, r, w), args.host, args.port,
                                        ssl=ctx, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(args.port_file + ".tmp", args.port_file)
    print("h2locsvc on %s://%s:%d (%d records)" % ("https" if ctx else "http", args.host, port,
                                                   len(records)), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except asyncio.TimeoutError:
        pass
    server.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description="HTTP/2 location service for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--records", help="JSON file {key: record}")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--max-streams", type=int, default=100,
                    help="SETTINGS_MAX_CONCURRENT_STREAMS announced to clients")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    args = ap.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
