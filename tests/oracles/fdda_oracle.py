"""An independent fDDA oracle for a tap (acquirer-protocol.md §10, EMV Book 2).

Taps the card in the reader named by argv[1] through pcsc-lite (pyscard):
SELECT 2PAY.SYS.DDF01, the first application of its BF0C directory, the
PDOL filled by this script (TTQ 26 00 00 80: online capable, no online
cryptogram asked; amount argv[4] fen, currency 156, today argv[3]
YYYYMMDD, its own unpredictable number from $ODA_ORACLE_SEED), GET
PROCESSING OPTIONS, the records of the AFL. Then, with the card gone, the
certificates under the CA keys of the test-cards.toml in argv[2], and the
fDDA signature 9F4B as DDA's signed dynamic data whose hash covers
9F37 || 9F02 || 5F2A || 9F69. Prints JSON {"cid", "verdict", "reason", "steps"}.

Written from §10 and Book 2, not from smartpos's Rust; the RSA and the
certificate checks are the ODA oracle's (oda_oracle.py).
"""

import json
import os
import random
import sys

import emv_pcsc
from oda_oracle import Failed, check_hash, digits, icc_key, issuer_key, recover


def main():
    pattern, cards_path, today, amount = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seed = int(os.environ.get("ODA_ORACLE_SEED", "1"))
    rng = random.Random(seed)
    out = {"seed": seed, "steps": []}
    conn = emv_pcsc.connect(pattern)
    fci, sw = emv_pcsc.select(conn, b"2PAY.SYS.DDF01")
    assert sw == 0x9000, f"SELECT PPSE answered {sw:04X}"
    aid = dict(emv_pcsc.tlv(fci))[0x4F]
    fci, sw = emv_pcsc.select(conn, aid)
    assert sw == 0x9000, f"SELECT AID answered {sw:04X}"
    tags = dict(emv_pcsc.tlv(fci))
    un = bytes(rng.randrange(256) for _ in range(4))
    amount_bcd = bytes.fromhex(f"{amount:012d}")
    values = {
        0x9F66: bytes.fromhex("26000080"),
        0x9F02: amount_bcd,
        0x9F03: bytes(6),
        0x9F1A: bytes.fromhex("0156"),
        0x95: bytes(5),
        0x5F2A: bytes.fromhex("0156"),
        0x9A: bytes.fromhex(today[2:]),
        0x9C: b"\x00",
        0x9F37: un,
    }
    pdol, data, j = tags[0x9F38], b"", 0
    while j < len(pdol):
        tag_len = 2 if pdol[j] & 0x1F == 0x1F else 1
        tag, length = int.from_bytes(pdol[j:j + tag_len], "big"), pdol[j + tag_len]
        data += values.get(tag, bytes(length)).rjust(length, b"\x00")[-length:]
        j += tag_len + 1
    gpo, sw = emv_pcsc.send(conn, bytes([0x80, 0xA8, 0x00, 0x00, len(data) + 2, 0x83, len(data)]) + data + b"\x00")
    assert sw == 0x9000 and gpo[0] == 0x77, f"GPO answered {sw:04X}"
    g = dict(emv_pcsc.tlv(gpo))
    tags.update(g)
    aip, afl = g[0x82], g[0x94]
    static = b""
    for k in range(0, len(afl), 4):
        sfi, first, last, oda = afl[k] >> 3, afl[k + 1], afl[k + 2], afl[k + 3]
        for rec in range(first, last + 1):
            raw, sw = emv_pcsc.send(conn, bytes([0x00, 0xB2, rec, (sfi << 3) | 4, 0x00]))
            assert sw == 0x9000, f"READ RECORD answered {sw:04X}"
            for t, v in emv_pcsc.tlv(raw):
                tags.setdefault(t, v)
            if rec - first < oda:
                items = list(emv_pcsc.tlv(raw, descend=False))
                static += items[0][1]
    out["steps"].append("tap read: PPSE, AID, GPO, records")
    if tags.get(0x9F4A) == b"\x82":
        static += aip
    out["cid"] = f"{g[0x9F27][0]:02X}"
    try:
        if 0x9F4B not in g:
            raise Failed("no fDDA signature (9F4B) in the GPO answer")
        pan = digits(tags[0x5A])
        iss_n, iss_e = issuer_key(tags, cards_path, pan, today)
        icc_n, icc_e = icc_key(tags, iss_n, iss_e, static, pan, today)
        out["steps"].append("certificates recovered")
        rec = recover(g[0x9F4B], icc_n, icc_e, "fDDA signed dynamic data")
        if rec[1] != 0x05:
            raise Failed("fDDA signed dynamic data: format")
        check_hash(rec, un + amount_bcd + bytes.fromhex("0156") + g[0x9F69], "fDDA signed dynamic data")
        out["steps"].append("fDDA signature over 9F37 9F02 5F2A 9F69 verified")
        out["verdict"] = "ok"
    except Failed as e:
        out["verdict"] = "failed"
        out["reason"] = str(e)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
