#!/usr/bin/env python3
"""Writes the rejection cases of test/unit/test_snapshot.c:
invalid/<case>/snapshot (the file to reject) and invalid/<case>/reason (a
substring of the loader's error). Each case breaks exactly one thing; every
other line and the checksum are right, so the case tests what it says.
Values hide the word SECRET: no error message may quote it.

Run from anywhere: python3 test/data/snapshot/make_invalid.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = '{"e911_snapshot":1,"written_at":1790000000}\n'


def line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def entry(key, rec, fetched_at=1790000000):
    return line({"key": key, "fetched_at": fetched_at, "record": rec})


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def snapshot(lines, count=None, checksum_of=None):
    """lines (header first) plus a trailer; count and the checksummed text
    can be overridden to break them."""
    body = "".join(lines)
    summed = body if checksum_of is None else checksum_of
    n = len(lines) - 1 if count is None else count
    return body + line({"end": True, "count": n,
                        "checksum": fnv1a(summed.encode())})


GOOD = [
    entry("alice", {"civic": {"country": "US", "A3": "SECRET City",
                              "RD": "SECRET Main", "HNO": "100"},
                    "geo": {"lat": 41.8819, "lon": -87.6278}}),
    entry("bob", {"civic": {"country": "US", "RD": "SECRET Elm"}}),
    entry("carol", {"geo": {"lat": 1.5, "lon": 2.5}}),
]
VALID = snapshot([HEADER] + GOOD)
TRAILER_LEN = len(VALID) - len(HEADER) - len("".join(GOOD))

rng = random.Random(911)
garbage = bytes(rng.randrange(256) for _ in range(2048))

CASES = {
    "empty": (b"", "empty file"),
    "truncated_last_line": (VALID[:-TRAILER_LEN - 20],
                            "line 4: no newline at the end (truncated"),
    "truncated_trailer": (VALID[:-10], "line 5: no newline at the end"),
    "missing_trailer": (HEADER + "".join(GOOD), "no trailer after line 4"),
    "wrong_count": (snapshot([HEADER] + GOOD, count=2),
                    "line 5: trailer count 2 does not match the 3 entries"),
    "wrong_checksum": (snapshot([HEADER] + GOOD).replace(
        "SECRET Elm", "SECRET Oak"), "line 5: checksum mismatch"),
    "bad_version": (snapshot(['{"e911_snapshot":2,"written_at":1790000000}\n']
                             + GOOD),
                    "line 1: unsupported snapshot version 2"),
    "no_header": (snapshot(GOOD[:1] + GOOD[1:]),
                  "line 1: not an e911 snapshot header"),
    "not_json": (snapshot([HEADER, GOOD[0], GOOD[1][:-3] + "\n", GOOD[2]]),
                 "line 3: not valid JSON"),
    "not_object": (snapshot([HEADER, GOOD[0], '["SECRET"]\n']),
                   "line 3: not a JSON object"),
    "invalid_record": (snapshot([HEADER, GOOD[0], entry(
        "bob", {"civic": {"RD": "SECRET Elm"},
                "geo": {"lat": 200, "lon": 1}}), GOOD[2]]),
        "line 3: invalid record"),
    "entry_extra_member": (snapshot([HEADER, GOOD[0], line(
        {"key": "bob", "fetched_at": 1, "record": {"civic": {"RD": "x"}},
         "note": "SECRET"})]), "line 3: entry has unexpected members"),
    "negative_fetched_at": (snapshot([HEADER, entry(
        "bob", {"civic": {"RD": "SECRET"}}, fetched_at=-5)]),
        "line 2: entry has no valid \"fetched_at\""),
    "key_too_long": (snapshot([HEADER, entry("k" * 256, {"civic": {
        "RD": "SECRET"}})]), "line 2: key longer than 255 bytes"),
    "line_too_long": (snapshot([HEADER, GOOD[0], entry("SECRET" + "x" * 131072,
                                                       {"civic": {"RD": "y"}})]),
                      "line 3: longer than 131072 bytes"),
    "data_after_trailer": (VALID + GOOD[0], "line 6: data after the trailer"),
    "duplicate_member": (snapshot([HEADER, '{"key":"a","key":"SECRET",'
                                   '"fetched_at":1,"record":{}}\n']),
                         "line 2: duplicate member"),
    "binary_garbage": (garbage, "line 1: not valid JSON"),
}

for name, (data, reason) in CASES.items():
    d = os.path.join(HERE, "invalid", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "snapshot"), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    with open(os.path.join(d, "reason"), "w") as f:
        f.write(reason + "\n")
