#!/usr/bin/env python3
# kamailio-e911: the readiness report an operator opens in a browser.
#
# Runs `kamcmd e911.readiness` (every caller registered in usrloc, or the keys
# given) and writes one self-contained HTML file: the counts, the callers that
# need action with the reason, a chart of record age and one of coverage per
# site. Charts need Debian's python3-matplotlib; without it the same numbers
# are drawn as HTML bars.
#
#   scripts/e911-readiness-report.py -s unix:/run/kamailio/kamailio_ctl \
#       [--max-age-days 365] [key ...] -o readiness.html
#   scripts/e911-readiness-report.py --input saved-kamcmd-output.txt -o readiness.html
#
# The RPC asks the location service about each caller at most readiness_rate
# times a second (modparam, default 10): 1000 callers take 100 s.
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import base64
import html
import io
import json
import subprocess
import sys
import time

NEEDS = {
    "service_error": "The location service did not answer",
    "no_record": "No location record",
    "not_validated": "Address not validated",
    "no_street": "No street address",
    "missing_floor": "Floor missing (multi-floor site)",
    "missing_unit": "Unit missing (multi-unit site)",
    "outdated": "Record older than allowed",
    "outside_networks": "Registered from outside its networks",
    "no_updated_at": "Record age unknown",
}
ORDER = ["ready"] + list(NEEDS)


# ---------------------------------------------------------------- kamcmd output

def parse_kamcmd(text):
    """The value kamcmd printed: nested dicts (structs) and lists (arrays).

    kamcmd prints a struct as '{', one 'name: value' or 'name: {' per line,
    one tab deeper, then '}'; an array the same without names. A struct and
    an array both open with '{': a block whose lines have no 'name:' is an
    array."""
    lines = [l.rstrip("\r") for l in text.splitlines()]
    pos = [0]

    def block():
        items = []                       # (name or None, value)
        while pos[0] < len(lines):
            line = lines[pos[0]].strip("\t")
            pos[0] += 1
            if line == "}":
                break
            if line == "{":
                items.append((None, block()))
                continue
            name, sep, rest = line.partition(": ")
            if not sep and line.endswith(":"):
                name, sep, rest = line[:-1], ":", ""
            if sep and rest == "{":
                items.append((name, block()))
            elif sep:
                items.append((name, rest))
            else:
                items.append((None, line))
        if items and all(n is not None for n, _ in items):
            return {n: v for n, v in items}
        return [v for _, v in items]

    while pos[0] < len(lines) and lines[pos[0]].strip() != "{":
        if lines[pos[0]].startswith("error:"):
            raise RuntimeError(lines[pos[0]])
        pos[0] += 1
    if pos[0] == len(lines):
        raise RuntimeError("no e911.readiness answer in: %r" % text[:200])
    pos[0] += 1
    return normalize(block())


def normalize(rep):
    """Numbers as numbers, 'findings' always a list."""
    for k in ("max_age_days", "rate_per_s", "checked", "took_s"):
        if k in rep:
            rep[k] = int(rep[k])
    rep["counts"] = {k: int(v) for k, v in rep.get("counts", {}).items()}
    callers = rep.get("callers") or []
    if isinstance(callers, dict):
        callers = [callers]
    for c in callers:
        f = c.get("findings") or []
        c["findings"] = f if isinstance(f, list) else [f]
        if "age_days" in c:
            c["age_days"] = int(c["age_days"])
    rep["callers"] = callers
    return rep


def run_readiness(kamcmd, socket, max_age_days, keys, timeout):
    cmd = [kamcmd] + (["-s", socket] if socket else []) + ["e911.readiness", str(max_age_days)]
    cmd += ["s:" + k for k in keys]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or text.startswith("error"):
        raise RuntimeError("%s: %s" % (" ".join(cmd), text.strip()))
    return text


# ---------------------------------------------------------------- charts

def age_buckets(callers, max_age_days):
    edges = [(0, 30, "< 30 d"), (30, 90, "30-89 d"), (90, 180, "90-179 d"),
             (180, 365, "180-364 d"), (365, 730, "1-2 y"), (730, None, "> 2 y")]
    out = []
    for lo, hi, label in edges:
        n = sum(1 for c in callers if c.get("age_days", -1) >= lo and
                (hi is None or c["age_days"] < hi))
        out.append((label, n))
    unknown = sum(1 for c in callers if c.get("age_days", -1) < 0 and c["verdict"] not in
                  ("no_record", "service_error"))
    if unknown:
        out.append(("unknown", unknown))
    return out


def site_coverage(callers):
    sites = {}
    for c in callers:
        s = c.get("site") or "(no record)"
        ready, needs = sites.get(s, (0, 0))
        sites[s] = (ready + 1, needs) if c["verdict"] == "ready" else (ready, needs + 1)
    return sorted(sites.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))


def png_charts(ages, sites, max_age_days):
    """Two PNGs (data: URIs) with matplotlib, or None when it is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    out = []
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar([a for a, _ in ages], [n for _, n in ages], color="#4472c4")
    ax.set_title("Age of the location records (updated_at)")
    ax.set_ylabel("callers")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if max_age_days:
        ax.set_xlabel("allowed age: %d days" % max_age_days)
    fig.tight_layout()
    out.append(fig)
    fig, ax = plt.subplots(figsize=(7, max(2.4, 0.5 * len(sites) + 1.2)))
    names = [s for s, _ in sites][::-1]
    ready = [r for _, (r, _) in sites][::-1]
    needs = [n for _, (_, n) in sites][::-1]
    ax.barh(names, ready, color="#2e7d32", label="ready")
    ax.barh(names, needs, left=ready, color="#c62828", label="needs action")
    ax.set_title("Coverage per site")
    ax.set_xlabel("callers")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right")
    fig.tight_layout()
    out.append(fig)
    uris = []
    for fig in out:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=96)
        plt.close(fig)
        uris.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return uris


def html_bars(rows, colors):
    """Bars drawn with HTML when matplotlib is missing."""
    total = max([sum(v) for _, v in rows] + [1])
    out = ['<table class="bars">']
    for label, values in rows:
        cells = "".join('<span style="display:inline-block;height:1em;width:%.1f%%;'
                        'background:%s"></span>' % (100.0 * v / total, colors[i])
                        for i, v in enumerate(values))
        out.append("<tr><th>%s</th><td>%s</td><td>%s</td></tr>" % (
            html.escape(label), cells, " / ".join(str(v) for v in values)))
    out.append("</table>")
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

CSS = """
body{font-family:sans-serif;margin:2em;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.5em}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.ok{color:#2e7d32} .bad{color:#c62828} .num{text-align:right}
.bars th{border:none} .bars td{border:none;min-width:20em}
"""


def render(rep, now=None):
    callers = sorted(rep["callers"], key=lambda c: (ORDER.index(c["verdict"])
                                                    if c["verdict"] in ORDER else 99, c["key"]))
    counts = rep["counts"]
    needing = [c for c in callers if c["verdict"] != "ready"]
    ages = age_buckets(callers, rep.get("max_age_days", 0))
    sites = site_coverage(callers)
    charts = png_charts(ages, sites, rep.get("max_age_days", 0))
    h = []
    h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>E911 readiness report</title><style>%s</style></head><body>" % CSS)
    h.append("<h1>E911 readiness report</h1>")
    h.append("<p>Checked <strong id=\"checked\">%d</strong> callers (%s) against the location "
             "service at %s; records older than %d days count as outdated. Generated %s.</p>" % (
                 rep["checked"], "every AoR registered in usrloc"
                 if rep.get("callers_from") == "usrloc" else "a list of keys",
                 html.escape(rep.get("started_at", "")), rep.get("max_age_days", 0),
                 html.escape(now or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))))
    h.append("<h2>Summary</h2><table id=\"counts\"><tr><th>Result</th><th>Callers</th></tr>")
    ready = counts.get("ready", 0)
    h.append("<tr><td class=\"ok\">Ready: dispatchable and up to date</td>"
             "<td class=\"num\" id=\"count-ready\" data-count=\"%d\">%d</td></tr>" % (ready, ready))
    h.append("<tr><td class=\"bad\">Need action</td><td class=\"num\" id=\"count-needing\" "
             "data-count=\"%d\">%d</td></tr>" % (len(needing), len(needing)))
    for k, text in NEEDS.items():
        n = counts.get(k, 0)
        h.append("<tr><td>&nbsp;&nbsp;%s</td><td class=\"num\" id=\"count-%s\" data-count=\"%d\">"
                 "%d</td></tr>" % (html.escape(text), k, n, n))
    h.append("</table><p>A caller can need action for several reasons: the lines under "
             "<em>Need action</em> may add up to more.</p>")
    h.append("<h2>Callers needing action</h2>")
    if needing:
        h.append("<table id=\"needing\"><tr><th>Caller</th><th>Reason</th><th>Also</th>"
                 "<th>Site</th><th>Address</th><th>Updated</th><th>Registered from</th></tr>")
        for c in needing:
            also = ", ".join(NEEDS.get(f, f) for f in c["findings"][1:])
            h.append("<tr class=\"needing\" data-key=\"%s\" data-verdict=\"%s\"><td>%s</td>"
                     "<td class=\"bad\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                     "<td>%s</td></tr>" % tuple(html.escape(str(x)) for x in (
                         c["key"], c["verdict"], c["key"],
                         c.get("reason", NEEDS.get(c["verdict"], c["verdict"])), also,
                         c.get("site", ""), c.get("address", c.get("error", "")),
                         c.get("updated_at", ""), c.get("registered_from", ""))))
        h.append("</table>")
    else:
        h.append("<p class=\"ok\" id=\"needing-none\">None: every caller is ready.</p>")
    h.append("<h2>Record age</h2>")
    if charts:
        h.append("<img id=\"chart-age\" alt=\"Age of the location records\" src=\"%s\">" % charts[0])
    else:
        h.append(html_bars([(a, [n]) for a, n in ages], ["#4472c4"]))
    h.append("<h2>Coverage per site</h2>")
    if charts:
        h.append("<img id=\"chart-sites\" alt=\"Coverage per site\" src=\"%s\">" % charts[1])
    h.append("<table id=\"sites\"><tr><th>Site</th><th>Ready</th><th>Need action</th></tr>")
    for s, (r, n) in sites:
        h.append("<tr><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td></tr>" % (
            html.escape(s), r, n))
    h.append("</table>")
    if not charts:
        h.append(html_bars([(s, [r, n]) for s, (r, n) in sites], ["#2e7d32", "#c62828"]))
    h.append("<script type=\"application/json\" id=\"readiness-data\">%s</script>" %
             json.dumps(rep).replace("</", "<\\/"))
    h.append("</body></html>")
    return "\n".join(h) + "\n"


def main():
    ap = argparse.ArgumentParser(description="The E911 readiness report as HTML.")
    ap.add_argument("keys", nargs="*", help="callers to check (default: usrloc)")
    ap.add_argument("-s", "--socket", help="Kamailio's ctl socket (kamcmd -s)")
    ap.add_argument("--kamcmd", default="kamcmd")
    ap.add_argument("--max-age-days", type=int, default=365)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the RPC")
    ap.add_argument("--input", help="kamcmd e911.readiness output saved in a file")
    ap.add_argument("-o", "--output", required=True, help="HTML file to write")
    args = ap.parse_args()
    try:
        if args.input:
            with open(args.input, encoding="utf-8") as f:
                text = f.read()
        else:
            text = run_readiness(args.kamcmd, args.socket, args.max_age_days, args.keys,
                                 args.timeout)
        rep = parse_kamcmd(text)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        sys.stderr.write("e911-readiness-report: %s\n" % e)
        return 1
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(render(rep))
    needing = sum(1 for c in rep["callers"] if c["verdict"] != "ready")
    print("%s: %d callers, %d ready, %d need action" % (
        args.output, rep["checked"], rep["counts"].get("ready", 0), needing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
