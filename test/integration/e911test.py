# kamailio-e911: integration test harness.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs the real thing on loopback: the reference location service (test/locsvc),
# test PSAPs (psap.py, in this process), Kamailio with a cfg, and SIPp as the caller.
#
#   env = E911Env("name", timeout_ms=500)   # PSAPs, location service, Kamailio
#   env.start()
#   call = env.call("911", caller="alice")  # SIPp INVITE/ACK/BYE through Kamailio
#   where, rx = env.find_invite(call.call_id)
#   env.stop()
#
# Paths come from the environment (set by CTest, see integration.cmake), with
# defaults for running a test file by hand from the source tree:
#   E911_SOURCE_DIR       source tree             (default: ../.. from this file)
#   E911_BUILD_DIR        build tree, has modules/e911.so   (default: <src>/build)
#   KAMAILIO_BIN          kamailio binary         (default: on PATH, /usr/sbin)
#   KAMAILIO_MODULES_DIR  the packaged modules    (default: /usr/lib/<multiarch>/...)
#   SIPP_BIN, KAMCMD_BIN, XMLLINT_BIN              (default: on PATH)
#   E911_VALGRIND=1       run Kamailio under valgrind (timeouts x E911_TIME_SCALE,
#                         default 10); E911_VALGRIND_ERROR_EXITCODE (default 99),
#                         E911_VALGRIND_ARGS (more valgrind options); a valgrind log
#                         with errors fails the environment (E911Env.stop)
#   E911_TIME_SCALE       multiply every harness timeout (slow machines)
#   E911_KEEP_TMP=1       keep the per-test temporary directory even on success
#
# Python 3 standard library only.

import atexit
import base64
import copy
import datetime
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import psap as psapmod  # noqa: E402
from psap import Psap, SipMessage, parse_params  # noqa: E402,F401

HOST = "127.0.0.1"


def _which(name, *extra):
    p = shutil.which(name)
    if p:
        return p
    for d in extra:
        c = os.path.join(d, name)
        if os.access(c, os.X_OK):
            return c
    return name


def _default_modules_dir():
    for d in sorted(glob.glob("/usr/lib/*/kamailio/modules")) + [
            "/usr/lib64/kamailio/modules", "/usr/lib/kamailio/modules",
            "/usr/local/lib64/kamailio/modules", "/usr/local/lib/kamailio/modules"]:
        if os.path.exists(os.path.join(d, "tm.so")):
            return d
    return "/usr/lib/x86_64-linux-gnu/kamailio/modules"


SOURCE_DIR = os.path.abspath(os.environ.get("E911_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("E911_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))
KAMAILIO_BIN = os.environ.get("KAMAILIO_BIN") or _which("kamailio", "/usr/sbin", "/usr/local/sbin")
KAMAILIO_MODULES_DIR = os.environ.get("KAMAILIO_MODULES_DIR") or _default_modules_dir()
SIPP_BIN = os.environ.get("SIPP_BIN") or _which("sipp", "/usr/bin", "/usr/local/bin")
KAMCMD_BIN = os.environ.get("KAMCMD_BIN") or _which("kamcmd", "/usr/sbin", "/usr/local/sbin")
XMLLINT_BIN = os.environ.get("XMLLINT_BIN") or _which("xmllint", "/usr/bin")

VALGRIND = os.environ.get("E911_VALGRIND") == "1"
VALGRIND_ERROR_EXITCODE = int(os.environ.get("E911_VALGRIND_ERROR_EXITCODE") or 99)
TIME_SCALE = float(os.environ.get("E911_TIME_SCALE") or (10 if VALGRIND else 1))
KEEP_TMP = os.environ.get("E911_KEEP_TMP") == "1"

E911_CFG = os.path.join(SOURCE_DIR, "cfg", "kamailio.cfg")
RELAY_CFG = os.path.join(HERE, "cfg", "relay.cfg")
E911_MODULE = os.path.join(BUILD_DIR, "modules", "e911.so")
LOCSVC_PY = os.path.join(SOURCE_DIR, "test", "locsvc", "locsvc.py")
PSAP_PY = os.path.join(HERE, "psap.py")
SIPP_DIR = os.path.join(HERE, "sipp")
XSD_ALL = os.path.join(SOURCE_DIR, "test", "xsd", "all.xsd")
RECORDS_TEMPLATE = os.path.join(SOURCE_DIR, "test", "data", "locsvc", "records.json")
DEMO_RECORDS = os.path.join(SOURCE_DIR, "test", "data", "locsvc", "demo-records.json")

# The SDP of sipp/uac_invite.xml and uac_invite_uri.xml, exactly as SIPp sends it
# (leading white space stripped, CRLF line ends). SippCall.sent_sdp() reads what
# SIPp really sent; this constant is checked against it.
UAC_SDP = (b"v=0\r\n"
           b"o=e911test 2890844526 2890844526 IN IP4 127.0.0.1\r\n"
           b"s=e911 integration test\r\n"
           b"c=IN IP4 127.0.0.1\r\n"
           b"t=0 0\r\n"
           b"m=audio 6000 RTP/AVP 0 8 101\r\n"
           b"a=rtpmap:0 PCMU/8000\r\n"
           b"a=rtpmap:8 PCMA/8000\r\n"
           b"a=rtpmap:101 telephone-event/8000\r\n"
           b"a=fmtp:101 0-16\r\n"
           b"a=sendrecv\r\n")

NS = {
    "pidf": "urn:ietf:params:xml:ns:pidf",
    "dm": "urn:ietf:params:xml:ns:pidf:data-model",
    "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
    "gbp": "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy",
    "ca": "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr",
    "cae": "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext",
    "gml": "http://www.opengis.net/gml",
    "gs": "http://www.opengis.net/pidflo/1.0",
}

# RFC 5139 civic elements in schema order, then the RFC 6848 extensions
CIVIC_ORDER = ["country", "A1", "A2", "A3", "A4", "A5", "A6", "PRM", "PRD", "RD", "STS",
               "POD", "POM", "RDSEC", "RDBR", "RDSUBBR", "HNO", "HNS", "LMK", "LOC", "FLR",
               "NAM", "PC", "BLD", "UNIT", "ROOM", "SEAT", "PLC", "PCN", "POBOX", "ADDCODE"]
CIVIC_EXT = ["STP", "HNP", "MP", "PN"]


def scaled(seconds):
    return seconds * TIME_SCALE


def start_backup(env):
    """Starts a second location service, with no records, as env's
    location_url_backup; call before env.start(). Its records are the caller's
    to put once env has started (they need the PSAP ports)."""
    backup = LocationService(env.workdir, {}, name="backup")
    backup.start()
    env.extra_defines["E911_LOCATION_URL_BACKUP"] = q(backup.url_template)
    return backup


def parallel(fns, join_s=60):
    """Runs the callables in threads; returns their results in order (None for
    one still running after join_s scaled seconds)."""
    out = [None] * len(fns)

    def run(i, fn):
        out[i] = fn()
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(scaled(join_s))
    return out


# ---------------------------------------------------------------------------
# processes: every process we start is tracked and ended at exit, by its pid
# (and its own process group, which we created), never by name.

_procs = []
_procs_lock = threading.Lock()


def _track(proc):
    with _procs_lock:
        _procs.append(proc)
    return proc


def _untrack(proc):
    with _procs_lock:
        if proc in _procs:
            _procs.remove(proc)


def stop_process(proc, term_timeout=5.0, sig=signal.SIGTERM):
    """Ends a process we started: sig (SIGTERM), a bounded wait, then SIGKILL to its
    process group (it leads its own session: start_new_session=True) if the leader
    or any of its children is still there. Returns the exit status."""
    if proc is None:
        return None
    try:
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(term_timeout)
            except subprocess.TimeoutExpired:
                pass
        pgid = proc.pid
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)          # anything left in our group?
            except (ProcessLookupError, PermissionError):
                break
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            try:
                proc.wait(0.2)              # reap the leader (a zombie stays in the group)
            except subprocess.TimeoutExpired:
                pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        return proc.returncode
    finally:
        _untrack(proc)


@atexit.register
def _cleanup_all():
    with _procs_lock:
        left = list(_procs)
    for p in left:
        stop_process(p, term_timeout=2.0)


def _on_signal(signum, frame):
    _cleanup_all()
    sys.exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGHUP):
    try:
        signal.signal(_s, _on_signal)
    except (ValueError, OSError):
        pass


# ---------------------------------------------------------------------------
# ports

_given_ports = set()
_port_lock = threading.Lock()


def free_port(udp=True, tcp=True, host=HOST):
    """A port free on host (127.0.0.1, or another loopback address) for UDP
    and TCP, never returned twice by this process."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
            if udp and tcp:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    u.bind((host, port))
                except OSError:
                    continue
                finally:
                    u.close()
        finally:
            s.close()
        with _port_lock:
            if port in _given_ports:
                continue
            _given_ports.add(port)
        return port
    raise RuntimeError("no free port found on %s" % host)


def wait_tcp(port, timeout, host=HOST, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), 0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(%s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def render_template(text, mapping):
    """Replaces {NAME} placeholders (upper-case names) from mapping; JSON braces are
    left alone. An unknown upper-case placeholder is an error."""
    def sub(m):
        name = m.group(1)
        if name not in mapping:
            raise KeyError("template placeholder {%s} has no value" % name)
        return str(mapping[name])
    return re.sub(r"\{([A-Z][A-Z0-9_]*)\}", sub, text)


def q(s):
    """A Kamailio cfg string literal for -A NAME=VALUE."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


# ---------------------------------------------------------------------------
# location service

class LocationService:
    """The reference location service (test/locsvc/locsvc.py) as a subprocess."""

    def __init__(self, workdir, records, port=None, latency_ms=0, name="locsvc"):
        self.workdir = workdir
        self.records = records            # dict
        self.port = port or free_port(udp=False, tcp=True)
        self.latency_ms = latency_ms
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.records_path = os.path.join(workdir, name + "-records.json")
        self.proc = None

    @property
    def base(self):
        return "http://%s:%d" % (HOST, self.port)

    @property
    def url_template(self):
        return self.base + "/v1/locations/{key}"

    def start(self):
        with open(self.records_path, "w") as f:
            json.dump(self.records, f, indent=1)
        port_file = os.path.join(self.workdir, self.name + ".port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        log = open(self.log_path, "ab")
        try:
            self.proc = _track(subprocess.Popen(
                [sys.executable, LOCSVC_PY, "--host", HOST, "--port", str(self.port),
                 "--records", self.records_path, "--latency-ms", str(self.latency_ms),
                 "--port-file", port_file],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.workdir))
        finally:
            log.close()
        # the service listens first and writes its port file just after
        ok = wait_tcp(self.port, scaled(10), proc=self.proc)
        deadline = time.monotonic() + scaled(5)
        while ok and not os.path.exists(port_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not ok or not os.path.exists(port_file):
            raise RuntimeError("location service did not start:\n" + tail(self.log_path))
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, term_timeout=5.0)
            self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _req(self, method, path, obj=None, timeout=10):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def control(self, mode="normal", status=None, latency_ms=None, keys=None, body=None):
        """body (bytes): what mode "raw" answers with."""
        body_obj = {"mode": mode}
        if body is not None:
            body_obj["body_b64"] = base64.b64encode(body).decode("ascii")
        body = body_obj
        if status is not None:
            body["status"] = status
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if keys is not None:
            body["keys"] = list(keys)
        return self._req("POST", "/_control", body)

    def reset(self):
        return self._req("POST", "/_reset", {})

    def fresh(self):
        """Running again (a test may have stopped it) and reset."""
        if not self.running():
            self.start()
        return self.reset()

    def stats(self):
        return self._req("GET", "/_stats")

    def requests_for(self, key):
        return self.stats()["by_key"].get(key, 0)

    def put_records(self, records):
        self.records = records
        return self._req("PUT", "/_records", records)

    def set_record(self, key, record):
        recs = dict(self.records)
        if record is None:
            recs.pop(key, None)
        else:
            recs[key] = record
        return self.put_records(recs)

    def log_tail(self, lines=40):
        return tail(self.log_path, lines)


# ---------------------------------------------------------------------------
# Kamailio

class KamailioError(RuntimeError):
    pass


class Kamailio:
    """Kamailio in the foreground (-DD -E), its log in <workdir>/kamailio.log."""

    def __init__(self, workdir, cfg=E911_CFG, port=None, defines=None, tcp=False,
                 children=2, extra_args=None, mpath=None, name="kamailio"):
        self.workdir = workdir
        self.cfg = cfg
        self.port = port or free_port()
        self.defines = dict(defines or {})
        self.tcp = tcp
        self.children = children
        self.extra_args = list(extra_args or [])
        self.mpath = mpath or "%s:%s" % (os.path.join(BUILD_DIR, "modules"), KAMAILIO_MODULES_DIR)
        self.name = name
        self.ctl = "unix:" + os.path.join(workdir, name + "-ctl.sock")
        self.log_path = os.path.join(workdir, name + ".log")
        self.pid_file = os.path.join(workdir, name + ".pid")
        self.proc = None
        self.returncode = None

    def command(self):
        # LISTEN is a bare socket spec: `listen="udp:..."` (quoted) does not parse.
        cmd = [KAMAILIO_BIN, "-f", self.cfg, "-DD", "-E", "-n", str(self.children),
               "-w", self.workdir, "-Y", self.workdir, "-P", self.pid_file,
               "-L", self.mpath,
               "-A", "LISTEN=udp:%s:%d" % (HOST, self.port),
               "-A", "CTL_SOCKET=%s" % q(self.ctl)]
        if self.tcp:
            cmd += ["-l", "tcp:%s:%d" % (HOST, self.port)]
        for k, v in self.defines.items():
            cmd += ["-A", "%s=%s" % (k, v) if v is not None else k]
        cmd += self.extra_args
        if VALGRIND:
            cmd = (["valgrind", "--trace-children=yes", "--leak-check=full",
                    "--error-exitcode=%d" % VALGRIND_ERROR_EXITCODE,
                    "--log-file=" + os.path.join(self.workdir, "valgrind.%p.log")] +
                   os.environ.get("E911_VALGRIND_ARGS", "").split() + cmd)
        return cmd

    def start(self):
        cmdline = self.command()
        with open(self.log_path, "ab") as log:
            log.write(("# " + " ".join(cmdline) + "\n").encode())
            log.flush()
            self.proc = _track(subprocess.Popen(
                cmdline, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.workdir))
        deadline = time.monotonic() + scaled(20)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                _untrack(self.proc)
                self.proc = None
                raise KamailioError("kamailio exited with %s during start-up (log: %s):\n%s"
                                    % (rc, self.log_path, tail(self.log_path, 12)))
            if os.path.exists(self.ctl[5:]):
                r = self.kamcmd("core.uptime", timeout=2, check=False)
                if r.returncode == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise KamailioError("kamailio not ready after %.0f s (log: %s):\n%s" % (
            scaled(20), self.log_path, tail(self.log_path, 12)))

    def stop(self):
        if self.proc is not None:
            self.returncode = stop_process(self.proc, term_timeout=scaled(10))
            self.proc = None
        return self.returncode

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kamcmd(self, *args, timeout=10, check=True):
        r = subprocess.run([KAMCMD_BIN, "-s", self.ctl] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=scaled(timeout))
        r.text = r.stdout.decode("utf-8", "replace")
        if check and r.returncode != 0:
            raise KamailioError("kamcmd %s failed (%d): %s" % (" ".join(map(str, args)),
                                                               r.returncode, r.text))
        return r

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=80):
        return tail(self.log_path, lines)

    def valgrind_errors(self):
        """Valgrind logs reporting errors (E911_VALGRIND=1), as {path: summary line}."""
        bad = {}
        for p in glob.glob(os.path.join(self.workdir, "valgrind.*.log")):
            with open(p, "rb") as f:
                t = f.read().decode("utf-8", "replace")
            m = re.search(r"ERROR SUMMARY: (\d+) errors", t)
            if m and int(m.group(1)) > 0:
                bad[p] = m.group(0)
        return bad


# ---------------------------------------------------------------------------
# SIPp

def parse_sipp_messages(path):
    """[(time, 'sent'|'received', transport, raw bytes)] from a SIPp -trace_msg log."""
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return out
    # "UDP message sent (664 bytes):" / "UDP message received [306] bytes :"
    pat = re.compile(rb"-{10,} (\d{4}-\d\d-\d\d[ \t]+\d\d:\d\d:\d\d\.\d+)\n"
                     rb"(\w+) message (sent|received) [(\[](\d+)(?: bytes\)|\] bytes) ?:\n\n")
    for m in pat.finditer(data):
        ts = datetime.datetime.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S.%f")
        n = int(m.group(4))
        out.append((ts.timestamp(), m.group(3).decode(), m.group(2).decode(),
                    data[m.end():m.end() + n]))
    return out


class SippCall:
    """One finished SIPp run."""

    def __init__(self, cmd, rc, stdout, t_start, msg_file, err_file, call_id, timed_out):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.t_start = t_start
        self.msg_file = msg_file
        self.err_file = err_file
        self.call_id = call_id
        self.timed_out = timed_out
        self._sent = None

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def messages(self):
        """[(time, 'sent'|'received', transport, raw bytes)] from SIPp's -trace_msg log."""
        if self._sent is None:
            self._sent = parse_sipp_messages(self.msg_file)
        return self._sent

    def sent(self, method=None):
        out = []
        for t, d, _, raw in self.messages():
            if d != "sent":
                continue
            try:
                m = SipMessage(raw)
            except ValueError:
                continue
            if method is None or m.method == method:
                out.append((t, m))
        return out

    def sent_invite(self):
        s = self.sent("INVITE")
        return s[0] if s else (None, None)

    def invite_sent_time(self):
        """When SIPp sent the (first) INVITE, wall clock; launch time if unknown."""
        t, _ = self.sent_invite()
        return t if t is not None else self.t_start

    def sent_sdp(self):
        _, m = self.sent_invite()
        return m.body if m is not None else None

    def received_codes(self):
        out = []
        for _, d, _, raw in self.messages():
            if d == "received":
                try:
                    m = SipMessage(raw)
                except ValueError:
                    continue
                if not m.is_request:
                    out.append(m.status)
        return out

    def errors(self):
        return tail(self.err_file, 60) if os.path.exists(self.err_file) else ""

    def describe(self):
        return ("sipp rc=%s%s codes=%s\n  cmd: %s\n--- sipp output (tail) ---\n%s\n"
                "--- sipp errors ---\n%s" % (
                    self.rc, " (timed out)" if self.timed_out else "",
                    self.received_codes(), " ".join(self.cmd),
                    "\n".join(self.stdout.splitlines()[-25:]), self.errors()))


_sipp_seq = [0]


def run_sipp(workdir, target_port, scenario="uac_invite.xml", service="911", caller="alice",
             ruri_host=None, from_host="e911.test", transport="u1", local_port=None,
             keys=None, variables=None, timeout=20, recv_timeout=10, extra_args=None,
             tag=None, local_ip=None):
    """Runs one SIPp call (-m 1) against 127.0.0.1:target_port; returns a SippCall.
    local_ip: the loopback address SIPp sends from (127.0.0.5, ...; default HOST)."""
    _sipp_seq[0] += 1
    n = _sipp_seq[0]
    tag = tag or "call%d" % n
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", tag)
    local_port = local_port or free_port()
    msg_file = os.path.join(workdir, "sipp-%03d-%s-msg.log" % (n, safe))
    err_file = os.path.join(workdir, "sipp-%03d-%s-err.log" % (n, safe))
    call_id = "%s-%d-%d@%s" % (safe, n, os.getpid(), HOST)
    keys = dict(keys or {})
    keys.setdefault("caller", caller)
    keys.setdefault("from_host", from_host)
    keys.setdefault("ruri_host", ruri_host or "%s:%d" % (HOST, target_port))
    keys.setdefault("expires", "3600")
    scen = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
    src = local_ip or HOST
    cmd = [SIPP_BIN, "%s:%d" % (HOST, target_port), "-sf", scen,
           "-i", src, "-mi", src, "-bind_local", "-p", str(local_port),
           "-t", transport, "-m", "1", "-l", "1", "-s", service,
           "-cid_str", call_id.replace("%", "%%"),
           "-timeout", "%ds" % int(scaled(timeout)), "-timeout_error",
           "-recv_timeout", str(int(scaled(recv_timeout) * 1000)),
           "-nostdin", "-trace_msg", "-message_file", msg_file,
           "-trace_err", "-error_file", err_file]
    for k, v in keys.items():
        cmd += ["-key", k, str(v)]
    for k, v in (variables or {}).items():
        cmd += ["-set", k, str(v)]
    cmd += list(extra_args or [])
    t0 = time.time()
    timed_out = False
    proc = _track(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=workdir,
                                   start_new_session=True))
    try:
        out, _ = proc.communicate(timeout=scaled(timeout) + 15)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop_process(proc, term_timeout=2.0)
        out, _ = proc.communicate()
    finally:
        _untrack(proc)
    return SippCall(cmd, proc.returncode, (out or b"").decode("utf-8", "replace"), t0,
                    msg_file, err_file, call_id, timed_out)


# ---------------------------------------------------------------------------
# PIDF-LO helpers

def xmllint_validate(xml_bytes, schema=XSD_ALL, workdir=None):
    """(ok, output) of xmllint --noout --schema <schema> on the document."""
    if not os.path.exists(schema):
        return False, "schema %s does not exist" % schema
    fd, path = tempfile.mkstemp(suffix=".xml", dir=workdir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(xml_bytes)
        r = subprocess.run([XMLLINT_BIN, "--noout", "--nonet", "--schema", schema, path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return r.returncode == 0, r.stdout.decode("utf-8", "replace")
    finally:
        os.unlink(path)


def pidf_civic(xml_bytes):
    """[(element, text)] of every ca:civicAddress (and cae: extensions) in document
    order, one list per civicAddress: [[(name, text), ...], ...]."""
    root = ET.fromstring(xml_bytes)
    out = []
    for ca in root.iter("{%s}civicAddress" % NS["ca"]):
        items = []
        for el in ca:
            name = el.tag.split("}", 1)[-1]
            items.append((name, (el.text or "").strip()))
        out.append(items)
    return out


def pidf_positions(xml_bytes):
    """[(shape, lat, lon, radius or None)] of every gml:Point / gs:Circle."""
    root = ET.fromstring(xml_bytes)
    out = []
    for tag, shape in (("{%s}Point" % NS["gml"], "Point"), ("{%s}Circle" % NS["gs"], "Circle")):
        for el in root.iter(tag):
            pos = el.find("gml:pos", NS)
            rad = el.find("gs:radius", NS)
            lat = lon = None
            if pos is not None and pos.text:
                parts = pos.text.split()
                if len(parts) >= 2:
                    lat, lon = float(parts[0]), float(parts[1])
            out.append((shape, lat, lon, float(rad.text) if rad is not None else None))
    return out


# ---------------------------------------------------------------------------
# the whole set-up

PSAP_ROLES = {
    # role: (placeholder, final code)
    "psap": ("PSAP_PORT", 200),           # the records' route.uri
    "psap2": ("PSAP2_PORT", 200),         # a second PSAP for records that need one
    "default": ("DEFAULT_PORT", 200),     # E911_DEFAULT_ROUTE
    "fallback": ("FALLBACK_PORT", 200),   # E911_FALLBACK_ROUTE
    "normal": ("NORMAL_PORT", 200),       # destination of non-emergency calls
    "busy": ("BUSY_PORT", 503),           # a PSAP that answers 503
}


class E911Env:
    """PSAPs + location service + Kamailio in a temporary directory."""

    def __init__(self, name, cfg=E911_CFG, records_template=RECORDS_TEMPLATE,
                 timeout_ms=1000, cache_ttl=300, defines=None, tcp=False,
                 start_locsvc=True, children=2, psap_roles=PSAP_ROLES,
                 kamailio_args=None, locsvc_class=None):
        self.name = name
        self.cfg = cfg
        self.records_template = records_template
        self.timeout_ms = timeout_ms
        self.cache_ttl = cache_ttl
        self.extra_defines = dict(defines or {})
        self.tcp = tcp
        self.start_locsvc = start_locsvc
        self.children = children
        self.psap_roles = psap_roles
        self.kamailio_args = list(kamailio_args or [])   # more kamailio options (-m 16)
        self.locsvc_class = locsvc_class or LocationService   # another service (HTTP/2)
        self.workdir = tempfile.mkdtemp(prefix="e911-%s-" % re.sub(r"\W", "_", name))
        self.psaps = {}
        self.locsvc = None
        self.kamailio = None
        self.records = {}
        self.calls = []
        self.failed = False
        self.psap_log_path = os.path.join(self.workdir, "psap.log")
        self._psap_log_lock = threading.Lock()

    # -- routes -----------------------------------------------------------
    def psap_uri(self, role, user="911"):
        return "sip:%s@%s:%d" % (user, HOST, self.psaps[role].port)

    @property
    def default_route(self):
        return self.psap_uri("default")

    @property
    def fallback_route(self):
        return self.psap_uri("fallback")

    def mapping(self):
        m = {"HOST": HOST}
        for role, (ph, _) in self.psap_roles.items():
            if role in self.psaps:
                m[ph] = self.psaps[role].port
        if self.kamailio:
            m["KAMAILIO_PORT"] = self.kamailio.port
        if self.locsvc:
            m["LOCSVC_PORT"] = self.locsvc.port
        return m

    def copies_of(self, template, keys):
        """A copy of records[template] under each of keys: {key: record}."""
        out = {}
        for k in keys:
            rec = copy.deepcopy(self.records[template])
            rec["key"] = k
            out[k] = rec
        return out

    def add_records(self, extra):
        """Adds (or replaces) extra {key: record} in what the location service
        serves and in self.records."""
        recs = dict(self.records)
        recs.update(extra)
        self.records = recs
        self.locsvc.put_records(recs)

    def _psap_log(self, text):
        with self._psap_log_lock:
            with open(self.psap_log_path, "a") as f:
                f.write("%.3f %s\n" % (time.time(), text))

    # -- lifecycle --------------------------------------------------------
    def start(self):
        if os.path.abspath(self.cfg) == os.path.abspath(E911_CFG) and not os.path.exists(E911_MODULE):
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise RuntimeError("%s does not exist: build the module first (cmake -S %s -B %s "
                               "&& cmake --build %s) or set E911_BUILD_DIR" % (
                                   E911_MODULE, SOURCE_DIR, BUILD_DIR, BUILD_DIR))
        try:
            for role, (_, code) in self.psap_roles.items():
                self.psaps[role] = Psap(HOST, 0, final_code=code, name=role,
                                        log=self._psap_log).start()
            with open(self.records_template) as f:
                self.records = json.loads(render_template(f.read(), self.mapping()))
            self.locsvc = self.locsvc_class(self.workdir, self.records)
            if self.start_locsvc:
                self.locsvc.start()
            defines = {
                "E911_LOCATION_URL": q(self.locsvc.url_template),
                "E911_DEFAULT_ROUTE": q(self.default_route),
                "E911_FALLBACK_ROUTE": q(self.fallback_route),
                "E911_TIMEOUT_MS": str(int(self.timeout_ms)),
                "E911_CACHE_TTL": str(int(self.cache_ttl)),
            }
            defines.update(self.extra_defines)
            self.kamailio = Kamailio(self.workdir, cfg=self.cfg, defines=defines,
                                     tcp=self.tcp, children=self.children,
                                     extra_args=self.kamailio_args)
            self.kamailio.start()
        except BaseException:
            self.failed = True
            sys.stderr.write(self.diagnostics("start-up failed"))
            self.stop(check_valgrind=False)
            raise
        return self

    def stop(self, check_valgrind=True):
        """Stops everything; under E911_VALGRIND=1 then raises if valgrind found errors."""
        if self.kamailio is not None:
            self.kamailio.stop()
        if self.locsvc is not None:
            self.locsvc.stop()
        for p in self.psaps.values():
            p.stop()
        bad = self.kamailio.valgrind_errors() if VALGRIND and self.kamailio else {}
        if bad:
            self.failed = True
        if self.failed or KEEP_TMP:
            sys.stderr.write("[%s] test files kept in %s\n" % (self.name, self.workdir))
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if bad and check_valgrind:
            raise AssertionError("valgrind reported errors:\n%s" % "\n".join(
                "  %s: %s" % kv for kv in sorted(bad.items())))

    # -- calls ------------------------------------------------------------
    def call(self, service="911", caller="alice", scenario="uac_invite.xml", **kw):
        kw.setdefault("tag", "%s-%s" % (service, caller))
        if kw.get("transport", "u1").startswith("t") and not self.tcp:
            raise ValueError("this environment has no TCP listener (tcp=True)")
        c = run_sipp(self.workdir, self.kamailio.port, scenario=scenario, service=service,
                     caller=caller, **kw)
        self.calls.append(c)
        return c

    def find_invite(self, call_id, timeout=5.0, roles=None):
        """(role, Received) of the first INVITE with that Call-ID at any PSAP."""
        hit = self.find_invites(call_id, timeout=timeout, roles=roles)
        return hit[0] if hit else (None, None)

    def find_invites(self, call_id, timeout=5.0, roles=None, count=1):
        """[(role, Received)] of INVITEs with that Call-ID at all PSAPs, by arrival."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            hits = []
            for role, p in self.psaps.items():
                if roles and role not in roles:
                    continue
                for r in p.invites():
                    if r.msg.call_id == call_id:
                        hits.append((role, r))
            hits.sort(key=lambda h: h[1].mono)
            if len(hits) >= count or time.monotonic() >= deadline:
                return hits
            time.sleep(0.05)

    # -- diagnostics ------------------------------------------------------
    def diagnostics(self, title="diagnostics"):
        out = ["", "=" * 30 + " %s: %s " % (self.name, title) + "=" * 30,
               "workdir: %s" % self.workdir]
        if self.kamailio is not None:
            out += ["--- kamailio log (tail) ---", self.kamailio.log_tail(80)]
        if self.locsvc is not None:
            out += ["--- location service log (tail) ---", self.locsvc.log_tail(30)]
        for role, p in self.psaps.items():
            out += ["--- PSAP %s (port %d) received ---" % (role, p.port), p.summary()]
        for c in self.calls[-3:]:
            out += ["--- %s ---" % c.call_id, c.describe()]
        out.append("=" * 80)
        return "\n".join(out) + "\n"


class E911TestCase(unittest.TestCase):
    """Prints the environment's logs when a test fails."""

    env = None          # set by setUpClass of subclasses
    maxDiff = None

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        r = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.env is not None:
            self.env.failed = True
            sys.stderr.write(self.env.diagnostics("%s failed" % self.id()))
            sys.stderr.flush()
        return r

    # -- helpers ----------------------------------------------------------
    def assertCallOk(self, call):
        self.assertTrue(call.ok, "the call did not complete:\n" + call.describe())

    def assertInviteAt(self, call, role, timeout=5.0):
        """The INVITE of this call at the PSAP of that role; fails showing where it went."""
        hits = self.env.find_invites(call.call_id, timeout=timeout)
        where = [(r, rx.msg.ruri) for r, rx in hits]
        for r, rx in hits:
            if r == role:
                return rx
        self.fail("the INVITE of %s did not reach the %s PSAP (%s); it reached: %s\n%s" % (
            call.call_id, role, self.env.psap_uri(role), where or "no PSAP",
            call.describe()))


def main():
    unittest.main(verbosity=2)
