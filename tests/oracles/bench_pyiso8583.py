#!/usr/bin/env python3
"""Times pyiso8583 packing and unpacking the spec's sale request (the golden
values), the same work as the criterion bench `sale_request_pack_unpack`.
Prints one JSON line: nanoseconds per pack+unpack."""
import json
import sys
import time
import tomllib
from pathlib import Path

import iso8583

sys.path.insert(0, str(Path(__file__).parent))
from golden_frames import SPEC  # noqa: E402  (the oracle's own table)

frames = tomllib.load(open(sys.argv[1], "rb"))["frame"]
sale = next(f for f in frames if f["name"] == "sale-request")
doc = {"h": sale["tpdu"] + sale["header"], "t": sale["mti"], **{str(k): v for k, v in sale["fields"].items()}, "64": "3030303030303030"}


def once():
    raw, _ = iso8583.encode(dict(doc), SPEC)
    iso8583.decode(bytearray(raw), SPEC)


for _ in range(2000):
    once()
best = None
for _ in range(5):
    n = 20000
    start = time.perf_counter_ns()
    for _ in range(n):
        once()
    per = (time.perf_counter_ns() - start) / n
    best = per if best is None else min(best, per)
print(json.dumps({"pack_unpack_ns": best}))
