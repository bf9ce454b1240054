"""An independent offline data authentication oracle (EMV 4.x Book 2 §5-§6).

Reads the card in the reader named by argv[1] through pcsc-lite (pyscard,
emv_pcsc), takes the CA public keys from the test-cards.toml named by argv[2]
(today YYYYMMDD in argv[3]; a CA key past its expiry is not used), and runs
the strongest method the card's AIP names (CDA > DDA > SDA) with textbook
RSA recovery, pow(s, e, n): EMV signatures are unpadded. Prints JSON:
{"method", "verdict": "ok" | "failed", "reason", "steps": [...]}.

Written from Book 2's tables, not from smartpos's Rust. The unpredictable
numbers come from the seed in $ODA_ORACLE_SEED (printed in the output).
"""

import hashlib
import json
import os
import random
import sys
import tomllib

import emv_pcsc


class Failed(Exception):
    pass


def recover(signed, modulus, exponent, what):
    n = int.from_bytes(modulus, "big")
    if len(signed) != len(modulus):
        raise Failed(f"{what}: {len(signed)} bytes under a {len(modulus)}-byte key")
    x = int.from_bytes(signed, "big")
    if x >= n:
        raise Failed(f"{what}: not below the modulus")
    rec = pow(x, int.from_bytes(exponent, "big"), n).to_bytes(len(modulus), "big")
    if rec[0] != 0x6A or rec[-1] != 0xBC:
        raise Failed(f"{what}: header {rec[0]:02X} / trailer {rec[-1]:02X}")
    return rec


def check_hash(rec, extra, what):
    # Hash over the recovered data from the format byte up to the hash, then the extra data.
    if hashlib.sha1(rec[1:-21] + extra).digest() != rec[-21:-1]:
        raise Failed(f"{what}: hash mismatch")


def not_expired(mmyy, today):
    mm, yy = mmyy.hex()[:2], mmyy.hex()[2:]
    return (yy, mm) >= (today[2:4], today[4:6])


def key_from(rec, start, length, remainder, exponent):
    field = rec[start:-21]
    return (field[:length] if length <= len(field) else field + remainder), exponent


def digits(b):
    return b.hex().upper().rstrip("F")


def issuer_key(tags, cards_path, pan, today):
    """The issuer's public key from its certificate (Book 2 Table 13) under
    the CA key of test-cards.toml that 8F names."""
    with open(cards_path, "rb") as f:
        cards = tomllib.load(f)
    keys = {k["index"].upper(): k for k in cards["ca_key"]}
    index = tags[0x8F].hex().upper()
    entry = keys.get(index)
    if entry is None:
        raise Failed(f"no CA key {index}")
    if entry["expiry"] < today:
        raise Failed(f"CA key {index} expired on {entry['expiry']}")
    base = keys[entry["same_key_as"].upper()] if "same_key_as" in entry else entry
    ca_n, ca_e = bytes.fromhex(base["modulus"]), bytes.fromhex(base["exponent"])
    rem, exp = tags.get(0x92, b""), tags[0x9F32]
    rec = recover(tags[0x90], ca_n, ca_e, "issuer certificate")
    if rec[1] != 0x02:
        raise Failed("issuer certificate: format")
    check_hash(rec, rem + exp, "issuer certificate")
    issuer_id = digits(rec[2:6])
    if not (3 <= len(issuer_id) <= 8 and pan.startswith(issuer_id)):
        raise Failed("issuer certificate: issuer identifier")
    if not not_expired(rec[6:8], today):
        raise Failed("issuer certificate: expired")
    if rec[11] != 1 or rec[12] != 1:
        raise Failed("issuer certificate: algorithm")
    return key_from(rec, 15, rec[13], rem, exp)


def icc_key(tags, iss_n, iss_e, static, pan, today):
    """The card's public key from its certificate (Book 2 Table 14), whose
    hash covers the static data to authenticate."""
    rem, exp = tags.get(0x9F48, b""), tags[0x9F47]
    rec = recover(tags[0x9F46], iss_n, iss_e, "ICC certificate")
    if rec[1] != 0x04:
        raise Failed("ICC certificate: format")
    check_hash(rec, rem + exp + static, "ICC certificate")
    if digits(rec[2:12]) != pan:
        raise Failed("ICC certificate: PAN")
    if not not_expired(rec[12:14], today):
        raise Failed("ICC certificate: expired")
    return key_from(rec, 21, rec[19], rem, exp)


def main():
    pattern, cards_path, today = sys.argv[1], sys.argv[2], sys.argv[3]
    seed = int(os.environ.get("ODA_ORACLE_SEED", "1"))
    rng = random.Random(seed)
    conn = emv_pcsc.connect(pattern)
    app = emv_pcsc.read_application(conn)
    tags, aip = app["tags"], app["aip"]
    out = {"seed": seed, "steps": []}
    method = "cda" if aip[0] & 0x01 else "dda" if aip[0] & 0x20 else "sda" if aip[0] & 0x40 else "none"
    out["method"] = method
    try:
        if method == "none":
            raise Failed("the card supports no method")
        # Static data: the ODA records (SFI 1-10: the value of the 70 template), then 9F4A's list.
        static = b""
        for sfi, _rec, raw, counted in app["records"]:
            if counted:
                if sfi <= 10:
                    items = list(emv_pcsc.tlv(raw, descend=False))
                    if len(items) != 1 or items[0][0] != 0x70:
                        raise Failed("an ODA record is not one 70 template")
                    static += items[0][1]
                else:
                    static += raw
        if 0x9F4A in tags:
            if tags[0x9F4A] != b"\x82":
                raise Failed("9F4A lists more than the AIP")
            static += aip
        pan = digits(tags[0x5A])
        iss_n, iss_e = issuer_key(tags, cards_path, pan, today)
        out["steps"].append("issuer certificate recovered")

        if method == "sda":
            rec = recover(tags[0x93], iss_n, iss_e, "signed static data")
            if rec[1] != 0x03 or rec[2] != 1:
                raise Failed("signed static data: format")
            check_hash(rec, static, "signed static data")
            out["steps"].append("signed static data verified")
        else:
            icc_n, icc_e = icc_key(tags, iss_n, iss_e, static, pan, today)
            out["steps"].append("ICC certificate recovered")
            un = bytes(rng.randrange(256) for _ in range(4))
            if method == "dda":
                ddol_data = un  # DDOL 9F37 04 (the card's 9F49 or the default)
                resp, sw = emv_pcsc.send(conn, bytes([0x00, 0x88, 0x00, 0x00, len(ddol_data)]) + ddol_data + b"\x00")
                if sw != 0x9000:
                    raise Failed(f"INTERNAL AUTHENTICATE {sw:04X}")
                sdad = dict(emv_pcsc.tlv(resp)).get(0x80) or dict(emv_pcsc.tlv(resp))[0x9F4B]
                rec = recover(sdad, icc_n, icc_e, "signed dynamic data")
                if rec[1] != 0x05:
                    raise Failed("signed dynamic data: format")
                check_hash(rec, ddol_data, "signed dynamic data")
                out["steps"].append("INTERNAL AUTHENTICATE signature verified")
            else:
                # CDOL1 of §7: amount, other amount, country, TVR, currency, date, type, UN.
                cdol1 = bytes.fromhex("000000001000" "000000000000" "0156" "0000000000" "0156") + bytes.fromhex(today[2:]) + b"\x00" + un
                resp, sw = emv_pcsc.send(conn, bytes([0x80, 0xAE, 0x50, 0x00, len(cdol1)]) + cdol1 + b"\x00")
                if sw != 0x9000 or resp[0] != 0x77:
                    raise Failed(f"GENERATE AC with CDA: {sw:04X}, template {resp[:1].hex()}")
                objects = list(emv_pcsc.tlv(resp))[1:]
                sdad = dict(objects)[0x9F4B]
                rec = recover(sdad, icc_n, icc_e, "CDA signed dynamic data")
                if rec[1] != 0x05:
                    raise Failed("CDA signed dynamic data: format")
                check_hash(rec, un, "CDA signed dynamic data")
                dyn = rec[4:4 + rec[3]]
                n = dyn[0]
                cid, hash_code = dyn[1 + n], dyn[10 + n:30 + n]
                if cid != dict(objects)[0x9F27][0]:
                    raise Failed("CDA: the signed CID differs")
                # Transaction data hash: CDOL1 data, then the answer's objects but 9F4B, as sent.
                template = dict(emv_pcsc.tlv(resp, descend=False))[0x77]
                others = b"".join(raw for tag, raw in emv_pcsc.tlv_raw(template) if tag != 0x9F4B)
                if hashlib.sha1(cdol1 + others).digest() != hash_code:
                    raise Failed("CDA: transaction data hash")
                out["steps"].append(f"CDA signature over GENERATE AC verified (CID {cid:02X})")
        out["verdict"] = "ok"
    except Failed as e:
        out["verdict"] = "failed"
        out["reason"] = str(e)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
