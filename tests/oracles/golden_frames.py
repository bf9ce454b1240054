#!/usr/bin/env python3
"""Golden-frame oracle: pyiso8583 with a spec dict for the smartpos-1 dialect.

usage: golden_frames.py MESSAGES_TOML FRAMES_TXT

For every frame of MESSAGES_TOML it
  1. encodes the values with pyiso8583 (plus the 2-byte length and, when a MAK
     is given, the CUP ECB MAC computed from psec's DES) and requires the
     exact bytes of FRAMES_TXT;
  2. decodes the bytes of FRAMES_TXT with pyiso8583 and requires the values;
  3. verifies field 64.
The field table below is written from acquirer-protocol.md section 2, not
read from the Rust code, so a bug shared by the Rust encoder and decoder
shows up here. Exit status 0 when everything agrees; a report otherwise.
"""
import warnings
warnings.filterwarnings("ignore", message=".*TripleDES.*")
import sys
import tomllib
from pathlib import Path

import iso8583

sys.path.insert(0, str(Path(__file__).parent))
from crypto_oracle import cup_ecb_mac  # noqa: E402  (one spec-text MAC for both oracles)


def n_fixed(length, align="right"):
    pad = {"left_pad": "0"} if align == "right" else {"right_pad": "0"}
    return {"data_enc": "b", "len_enc": "bcd", "len_type": 0, "max_len": length, "len_count": "nibbles", **pad}


def n_var(max_len, prefix_bytes):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": prefix_bytes, "max_len": max_len, "len_count": "nibbles", "right_pad": "0"}


def text(max_len, prefix_bytes=0):
    return {"data_enc": "ascii", "len_enc": "bcd", "len_type": prefix_bytes, "max_len": max_len}


def binary(max_len, prefix_bytes=0):
    return {"data_enc": "b", "len_enc": "bcd", "len_type": prefix_bytes, "max_len": max_len}


SPEC = {
    # TPDU (5) + CUP header (6) as one binary header.
    "h": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 11},
    "t": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 2},
    "p": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8},
    "2": n_var(19, 1),
    "3": n_fixed(6),
    "4": n_fixed(12),
    "11": n_fixed(6),
    "12": n_fixed(6),
    "13": n_fixed(4),
    "14": n_fixed(4),
    "15": n_fixed(4),
    "22": n_fixed(3, align="left"),
    "23": n_fixed(3),
    "25": n_fixed(2),
    "26": n_fixed(2),
    "32": n_var(11, 1),
    "35": n_var(37, 1),  # z: hex nibbles, '=' as D
    "37": text(12),
    "38": text(6),
    "39": text(2),
    "41": text(8),
    "42": text(15),
    "44": text(25, 1),
    "48": n_var(322, 2),
    "49": text(3),
    "52": binary(8),
    "53": n_fixed(16),
    "54": text(20, 2),
    "55": binary(255, 2),
    "59": text(600, 2),
    "60": n_var(17, 2),
    "61": n_var(29, 2),
    "62": binary(512, 2),
    "63": text(163, 2),
    "64": binary(8),
}


def encode(frame) -> bytes:
    doc = {"h": frame["tpdu"] + frame["header"], "t": frame["mti"]}
    doc.update({str(k): v for k, v in frame["fields"].items()})
    mak = bytes.fromhex(frame["mak"]) if "mak" in frame else None
    if mak:
        doc["64"] = "00" * 8
    raw, _ = iso8583.encode(doc, SPEC)
    raw = bytes(raw)
    if mak:
        raw = raw[:-8] + cup_ecb_mac(mak, raw[11:-8])
    return len(raw).to_bytes(2, "big") + raw


def main():
    messages = tomllib.load(open(sys.argv[1], "rb"))["frame"]
    golden = {}
    for line in open(sys.argv[2]):
        line = line.strip()
        if line and not line.startswith("#"):
            name, hexbytes = line.split()
            golden[name] = bytes.fromhex(hexbytes)
    problems = []
    for frame in messages:
        name = frame["name"]
        want = golden.get(name)
        if want is None:
            problems.append(f"{name}: not in {sys.argv[2]}")
            continue
        ours = encode(frame)
        if ours != want:
            problems.append(f"{name}: pyiso8583 encodes\n  {ours.hex().upper()}\n  golden is\n  {want.hex().upper()}")
        if int.from_bytes(want[:2], "big") != len(want) - 2:
            problems.append(f"{name}: length prefix does not count the rest")
        decoded, _ = iso8583.decode(bytearray(want[2:]), SPEC)
        if decoded["h"].upper() != (frame["tpdu"] + frame["header"]).upper() or decoded["t"] != frame["mti"]:
            problems.append(f"{name}: header or MTI decode differently")
        fields = {k: v for k, v in decoded.items() if k not in ("h", "t", "p", "64")}
        expected = {str(k): v for k, v in frame["fields"].items()}
        for k in sorted(set(fields) | set(expected), key=int):
            got, exp = fields.get(k), expected.get(k)
            if got is None or exp is None:
                mismatch = True
            elif SPEC[k]["data_enc"] == "b":
                mismatch = got.upper() != exp.upper()
            else:
                mismatch = got != exp
            if mismatch:
                problems.append(f"{name}: field {k} decodes to {got!r}, expected {exp!r}")
        if "mak" in frame:
            mac = bytes.fromhex(decoded.get("64", ""))
            if mac != cup_ecb_mac(bytes.fromhex(frame["mak"]), want[13:-8]):
                problems.append(f"{name}: field 64 does not verify")
        elif "64" in decoded:
            problems.append(f"{name}: unexpected field 64")
    for p in problems:
        print(p)
    print(f"golden frames: {len(messages)} checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
