#!/usr/bin/env python3
# kamailio-e911: summary of the valgrind memcheck logs of an integration run
# (E911_VALGRIND=1 E911_KEEP_TMP=1, logs in the kept test directories):
#
#   python3 test/data/faults/valgrind-summary.py /tmp [more directories]
#
# Prints the logs with errors, the kinds of memory errors (invalid read/write/free,
# uninitialised values), every lost block (definitely/indirectly/possibly) with an
# e911 frame anywhere in its stack, and the still-reachable blocks the module
# allocated itself (first frame after the allocator in e911 code) with the most
# blocks any one process held at exit (a per-call leak would show as a large max).
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
"""Summarises valgrind memcheck logs of the e911 integration tests."""
import collections
import glob
import re
import sys

files = []
for r in sys.argv[1:] or ["."]:
    files += glob.glob(r + "/**/valgrind.*.log", recursive=True)
with_errors = []
kinds = collections.Counter()
lost = collections.defaultdict(lambda: [0, 0, set()])
reach = collections.defaultdict(lambda: [0, 0, 0, set()])
ALLOC = ("malloc", "calloc", "realloc", "strdup", "memalign", "posix_memalign")
for f in sorted(files):
    text = open(f, errors="replace").read()
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if m and int(m.group(1)):
        with_errors.append((f, int(m.group(1))))
    for k in re.findall(r"^==\d+== (Invalid (?:read|write|free)|Conditional jump|Use of "
                        r"uninitialised|Syscall param|Mismatched free|Source and destination "
                        r"overlap)", text, re.M):
        kinds[k] += 1
    for blk in re.split(r"\n==\d+== \n", text):
        m = re.search(r"([\d,]+)(?: \([^)]*\))? bytes in ([\d,]+) blocks are (definitely lost|"
                      r"indirectly lost|possibly lost|still reachable)", blk)
        if not m:
            continue
        frames = re.findall(r"(?:at|by) 0x[0-9A-F]+: (\S+) \(([^)]*)\)", blk)
        nbytes, nblocks = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
        calls = [(fn, loc) for fn, loc in frames if fn not in ALLOC]
        if m.group(3) != "still reachable":
            if any("e911" in loc for _, loc in frames):
                key = (m.group(3), " <- ".join("%s (%s)" % (fn, loc.split("/")[-1])
                                               for fn, loc in frames[:8]))
                e = lost[key]
                e[0] += nbytes
                e[1] += nblocks
                e[2].add(f)
        elif calls and "e911" in calls[0][1]:
            key = " <- ".join("%s (%s)" % (fn, loc.split("/")[-1]) for fn, loc in calls[:3])
            e = reach[key]
            e[0] += nbytes
            e[1] += nblocks
            e[2] = max(e[2], nblocks)
            e[3].add(f)
print("valgrind logs (processes): %d; with errors: %d" % (len(files), len(with_errors)))
for f, n in with_errors:
    print("  %s: %d errors" % (f, n))
print("invalid reads/writes/frees, uninitialised values: %s" % (dict(kinds) or "none"))
print("lost blocks (definitely/indirectly/possibly) with an e911 frame: %s" % (
    "none" if not lost else ""))
for (kind, stack), (b, n, fs) in sorted(lost.items()):
    print("  %s: %d bytes in %d blocks, %d logs: %s" % (kind, b, n, len(fs), stack))
print("still reachable at exit, allocated by the module itself (most blocks in one process):")
for stack, (b, n, mx, fs) in sorted(reach.items(), key=lambda kv: -kv[1][0]):
    print("  %7d bytes %4d blocks in %3d logs (max %d per process): %s" % (b, n, len(fs), mx,
                                                                         stack))
