#!/usr/bin/env python3
# kamailio-e911 demo: prints, for an operator, what the PSAPs received for one call.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   report.py --title "911 from alice" --call-id ID --sipp-log FILE \
#             --psap "PSAP Cook County=DIR" --psap "National ECC (fallback)=DIR" ... \
#             [--kamailio-log FILE] [--xsd test/xsd/all.xsd] [--expect emergency|normal]
#   report.py --summary FILE      (prints the summary table the runs appended to FILE)
#
# DIR holds the requests a psap.py --dump-dir wrote (NNNN-METHOD.sip, exact bytes).

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from psap import SipMessage  # noqa: E402

NS_CA = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
NS_GML = "http://www.opengis.net/gml"
NS_GS = "http://www.opengis.net/pidflo/1.0"
NS_GP = "urn:ietf:params:xml:ns:pidf:geopriv10"
NS_PIDF = "urn:ietf:params:xml:ns:pidf"

CIVIC_LABELS = [
    ("country", "Country"), ("A1", "State"), ("A2", "County"), ("A3", "City"),
    ("A4", "City division"), ("A5", "Neighborhood"), ("A6", "Street group"),
    ("PRM", "Road pre-modifier"), ("PRD", "Leading direction"), ("RD", "Street"),
    ("STS", "Street suffix"), ("POD", "Trailing direction"), ("POM", "Road post-modifier"),
    ("RDSEC", "Road section"), ("RDBR", "Road branch"), ("RDSUBBR", "Road sub-branch"),
    ("HNO", "House number"), ("HNS", "House number suffix"), ("LMK", "Landmark"),
    ("LOC", "Additional location"), ("FLR", "Floor"), ("NAM", "Name"), ("PC", "Postal code"),
    ("BLD", "Building"), ("UNIT", "Unit"), ("ROOM", "Room"), ("SEAT", "Seat"),
    ("PLC", "Place type"), ("PCN", "Postal community"), ("POBOX", "PO box"),
    ("ADDCODE", "Additional code"), ("STP", "Street type prefix"),
    ("HNP", "House number prefix"), ("MP", "Milepost"), ("PN", "Post number"),
]
LABEL = dict(CIVIC_LABELS)
EMERGENCY_HEADERS = ["Geolocation", "Geolocation-Routing", "P-Asserted-Identity", "Priority"]

TTY = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def c(code, text):
    return "\033[%sm%s\033[0m" % (code, text) if TTY else text


def bold(t):
    return c("1", t)


def green(t):
    return c("32", t)


def red(t):
    return c("31", t)


def yellow(t):
    return c("33", t)


def dim(t):
    return c("2", t)


def sipp_sent_invite(path):
    """The INVITE SIPp sent, from its -trace_msg log."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return None
    m = re.search(rb"message sent \((\d+) bytes\):\n\n", data)
    while m:
        raw = data[m.end():m.end() + int(m.group(1))]
        if raw.startswith(b"INVITE "):
            return SipMessage(raw)
        m = re.compile(rb"message sent \((\d+) bytes\):\n\n").search(data, m.end())
    return None


def kamailio_lines(path, call_id):
    """The script's e911 lines of this call, by its Call-ID (never by caller:
    the same caller's earlier emergency call is another call)."""
    tag = "(Call-ID %s)" % call_id
    out = []
    for line in open(path, errors="replace"):
        if "e911:" in line and "<script>" in line and tag in line:
            out.append(line.split("<script>: ", 1)[-1].replace(" " + tag, "").strip())
    return out


def find_invites(call_id, psaps):
    hits = []
    for name, d in psaps:
        name = name.replace("|", " at sip:", 1)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if not fn.endswith("-INVITE.sip"):
                continue
            p = os.path.join(d, fn)
            raw = open(p, "rb").read()
            try:
                msg = SipMessage(raw)
            except ValueError:
                continue
            if msg.call_id == call_id:
                hits.append((os.stat(p).st_mtime_ns, name, msg))
    hits.sort(key=lambda h: h[0])
    # one entry per PSAP (retransmissions)
    seen, out = set(), []
    for _, name, msg in hits:
        if name not in seen:
            seen.add(name)
            out.append((name, msg))
    return out


def validate(xml, xsd):
    if not xsd or not os.path.exists(xsd):
        return None, "schema %s not found" % xsd
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        f.write(xml)
        path = f.name
    try:
        r = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", xsd, path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return r.returncode == 0, r.stdout.decode("utf-8", "replace").replace(path, "PIDF-LO")
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    finally:
        os.unlink(path)


def one_line_address(civ):
    g = civ.get
    street = " ".join(x for x in (g("HNO"), g("HNS"), g("PRD"), g("RD"), g("STS"), g("POD"))
                      if x)
    inside = ", ".join(x for x in (
        g("NAM"), g("BLD"), ("Floor " + g("FLR")) if g("FLR") else None, g("UNIT"),
        ("Room " + g("ROOM")) if g("ROOM") else None, g("LOC")) if x)
    city = " ".join(x for x in (g("A3") and g("A3") + ",", g("A1"), g("PC")) if x)
    return "; ".join(x for x in (street, inside, city, g("country")) if x)


def show_pidf(xml, xsd, width):
    out = []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        return ["  " + red("PIDF-LO is not well-formed XML: %s" % e)], False
    out.append("  " + bold("Dispatchable location (PIDF-LO)") + dim("  entity %s" %
                                                                    root.get("entity")))
    civ = {}
    for ca in root.iter("{%s}civicAddress" % NS_CA):
        for el in ca:
            name = el.tag.split("}", 1)[-1]
            civ[name] = (el.text or "").strip()
            out.append("    %-28s %s" % ("%s (%s)" % (LABEL.get(name, name), name),
                                         civ[name]))
    if civ:
        out.append("    %-28s %s" % ("=> address", bold(one_line_address(civ))))
    for el in root.iter("{%s}Circle" % NS_GS):
        pos = el.findtext("{%s}pos" % NS_GML) or ""
        rad = el.findtext("{%s}radius" % NS_GS) or "?"
        lat, _, lon = pos.strip().partition(" ")
        out.append("    %-28s %s, %s  +/- %s m (circle, WGS84)" % ("Coordinates", lat, lon, rad))
    for el in root.iter("{%s}Point" % NS_GML):
        pos = el.findtext("{%s}pos" % NS_GML) or ""
        lat, _, lon = pos.strip().partition(" ")
        out.append("    %-28s %s, %s  (point, WGS84)" % ("Coordinates", lat, lon))
    methods = sorted({(m.text or "").strip() for m in root.iter("{%s}method" % NS_GP)})
    stamps = sorted({(s.text or "").strip() for s in root.iter("{%s}timestamp" % NS_PIDF)})
    if methods or stamps:
        out.append("    %-28s %s" % ("Method", ", ".join(methods)))
        out.append("    %-28s %s" % ("Timestamp", ", ".join(stamps)))
    ok, msg = validate(xml, xsd)
    if ok:
        out.append("  %-24s %s" % ("PIDF-LO schema check", green("VALID") +
                                   dim("  (xmllint --schema %s)" % os.path.relpath(xsd))))
    elif ok is None:
        out.append("  %-24s %s" % ("PIDF-LO schema check", yellow("not run: " + msg)))
    else:
        out.append("  %-24s %s" % ("PIDF-LO schema check", red("INVALID")))
        out.extend("      " + l for l in msg.strip().splitlines()[:8])
    return out, ok


def report(args):
    psaps = []
    for spec in args.psap:
        name, _, d = spec.partition("=")
        psaps.append((name, d))
    sent = sipp_sent_invite(args.sipp_log) if args.sipp_log else None
    hits = find_invites(args.call_id, psaps)
    width = 78
    print()
    print(bold("=" * width))
    print(bold(" " + args.title))
    print(bold("=" * width))
    if sent is not None:
        print("  %-24s %s" % ("Caller sent", "INVITE %s  (From %s)" % (sent.ruri, sent.header("From"))))
    summary = {"title": args.short or args.title, "delivered": "-", "location": "-",
               "pidf": "-", "ok": False}
    if args.kamailio_log and os.path.exists(args.kamailio_log):
        said = kamailio_lines(args.kamailio_log, args.call_id)
        print("  %-24s %s" % ("Kamailio log", dim(said[-1]) if said
                              else yellow("no e911 line for this call")))
    if not hits:
        print("  " + red("No PSAP received this call."))
        return summary
    for i, (name, m) in enumerate(hits):
        label = "Delivered to" if i == len(hits) - 1 else "Tried first"
        print("  %-24s %s" % (label, bold(name)))
        print("  %-24s %s" % ("Request-URI", m.ruri))
        if i < len(hits) - 1:
            continue
        summary["delivered"] = name.split(" at sip:", 1)[0]
        print("  " + bold("Emergency headers"))
        for h in EMERGENCY_HEADERS:
            vals = m.header_all(h)
            print("    %-22s %s" % (h, ", ".join(vals) if vals else dim("(absent)")))
        ct = m.content_type
        parts = []
        if ct.startswith("multipart/"):
            try:
                parts = m.multipart().parts
            except ValueError as e:
                print("  " + red("broken multipart body: %s" % e))
        sdp = None
        if parts:
            desc = []
            for p in parts:
                d = "%s (%d bytes" % (p.content_type, len(p.body))
                if p.content_id:
                    d += ", Content-ID <%s>" % p.content_id
                desc.append(d + ")")
            print("  %-24s %s" % ("Body", "multipart/mixed: " + "; ".join(desc)))
            sdps = [p for p in parts if p.content_type == "application/sdp"]
            sdp = sdps[0].body if sdps else None
        else:
            print("  %-24s %s (%d bytes)" % ("Body", ct or "(none)", len(m.body)))
            sdp = m.body if ct == "application/sdp" else None
        if sent is not None and sent.body:
            same = sdp == sent.body
            print("  %-24s %s" % ("Caller's SDP", green("delivered byte-identical") if same
                                  else red("CHANGED or missing")))
        pidfs = [p for p in parts if p.content_type == "application/pidf+xml"]
        if args.expect == "normal":
            added = [h for h in EMERGENCY_HEADERS if m.header_all(h) and
                     (sent is None or not sent.header_all(h))]
            unchanged = sent is not None and m.ruri == sent.ruri and m.body == sent.body
            verdict = not added and not pidfs and unchanged
            print("  %-24s %s" % ("Untouched?", green("yes: same Request-URI, same body, no "
                                                      "emergency headers added") if verdict
                                  else red("NO: %s" % (added or "Request-URI/body changed"))))
            summary.update(location="n/a", pidf="n/a", ok=verdict)
            continue
        if not pidfs:
            geo = m.header_all("Geolocation")
            print("  %-24s %s" % ("Location", yellow("none conveyed") +
                                  ("" if not geo else red("  (but a Geolocation header!)"))))
            summary.update(location="none", pidf="-",
                           ok=args.expect == "fallback" and not geo and
                           m.header("Priority") == "emergency")
            continue
        lines, ok = show_pidf(pidfs[0].body, args.xsd, width)
        print("\n".join(lines))
        geo_ok = m.header_all("Geolocation") == ["<cid:%s>" % pidfs[0].content_id]
        if not geo_ok:
            print("  " + red("Geolocation does not reference the PIDF-LO part"))
        summary.update(location="by value", pidf="valid" if ok else "INVALID",
                       ok=bool(ok) and geo_ok and args.expect == "emergency")
    return summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="call")
    ap.add_argument("--short", help="short title for the summary table")
    ap.add_argument("--call-id")
    ap.add_argument("--sipp-log")
    ap.add_argument("--psap", action="append", default=[], help="NAME=DUMPDIR")
    ap.add_argument("--kamailio-log")
    ap.add_argument("--xsd")
    ap.add_argument("--expect", default="emergency", choices=["emergency", "normal", "fallback"])
    ap.add_argument("--summary-file", help="append a JSON line with the outcome")
    ap.add_argument("--summary", help="print the summary table of FILE and exit")
    args = ap.parse_args()
    if args.summary:
        rows = [json.loads(l) for l in open(args.summary) if l.strip()]
        print()
        print(bold("Summary"))
        print(bold("  %-2s %-18s %-38s %-9s %-8s %s" % ("#", "Call", "Delivered to", "Location",
                                                        "PIDF-LO", "")))
        for i, r in enumerate(rows, 1):
            print("  %-2d %-18s %-38s %-9s %-8s %s" % (i, r["title"][:18], r["delivered"][:38],
                                                       r["location"], r["pidf"],
                                                       green("as expected") if r["ok"]
                                                       else red("NOT as expected")))
        return 0 if all(r["ok"] for r in rows) else 1
    s = report(args)
    if args.summary_file:
        with open(args.summary_file, "a") as f:
            f.write(json.dumps(s) + "\n")
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
