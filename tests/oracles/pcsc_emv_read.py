"""An independent EMV reader: pyscard through pcsc-lite, our own APDUs.

Reads the card in the first reader whose name contains argv[1] the way a
terminal does (PSE, application selection, GPO, records of the AFL,
resolving 61xx / 6Cxx) and prints JSON: application id and label, PAN,
expiry (YYMMDD). Nothing here comes from smartpos's code.
"""

import json
import sys
import time

from smartcard.Exceptions import NoCardException
from smartcard.System import readers

pattern = sys.argv[1] if len(sys.argv) > 1 else ""
reader = next(r for r in readers() if pattern.lower() in str(r).lower())
conn = reader.createConnection()
deadline = time.monotonic() + 10  # the card program may still be connecting
while True:
    try:
        conn.connect()
        break
    except NoCardException:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)


def send(apdu):
    data, sw1, sw2 = conn.transmit(list(apdu))
    if sw1 == 0x6C:
        data, sw1, sw2 = conn.transmit(list(apdu[:-1]) + [sw2])
    out = list(data)
    while sw1 == 0x61:
        data, sw1, sw2 = conn.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
        out += data
    return bytes(out), (sw1 << 8) | sw2


def tlv(buf):
    """BER-TLV walk: yields (tag, value), descending into constructed tags."""
    i = 0
    while i < len(buf):
        tag = buf[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while True:
                tag = (tag << 8) | buf[i]
                i += 1
                if not buf[i - 1] & 0x80:
                    break
        length = buf[i]
        i += 1
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(buf[i:i + n], "big")
            i += n
        value = buf[i:i + length]
        i += length
        yield tag, value
        first = tag
        while first > 0xFF:
            first >>= 8
        if first & 0x20:
            yield from tlv(value)


def select(name):
    return send(bytes([0x00, 0xA4, 0x04, 0x00, len(name)]) + name + b"\x00")


fci, sw = select(b"1PAY.SYS.DDF01")
aids = []
if sw == 0x9000:
    sfi = dict(tlv(fci)).get(0x88, b"\x01")[0]
    for rec in range(1, 10):
        data, sw = send(bytes([0x00, 0xB2, rec, (sfi << 3) | 4, 0x00]))
        if sw != 0x9000:
            break
        aids += [v for t, v in tlv(data) if t == 0x4F]
out = {}
aid = aids[0] if aids else bytes.fromhex("A000000333010101")
fci, sw = select(aid)
assert sw == 0x9000, f"SELECT AID answered {sw:04X}"
tags = dict(tlv(fci))
out["aid"] = aid.hex().upper()
out["label"] = tags.get(0x50, b"").decode("ascii", "replace")
pdol = tags.get(0x9F38)
pdol_len = 0
if pdol:
    j = 0
    while j < len(pdol):
        j += 2 if pdol[j] & 0x1F == 0x1F else 1
        pdol_len += pdol[j]
        j += 1
gpo, sw = send(bytes([0x80, 0xA8, 0x00, 0x00, pdol_len + 2, 0x83, pdol_len]) + bytes(pdol_len) + b"\x00")
assert sw == 0x9000, f"GPO answered {sw:04X}"
if gpo[0] == 0x80:
    afl = gpo[4:]
else:
    afl = dict(tlv(gpo))[0x94]
for k in range(0, len(afl), 4):
    sfi, first, last = afl[k] >> 3, afl[k + 1], afl[k + 2]
    for rec in range(first, last + 1):
        data, sw = send(bytes([0x00, 0xB2, rec, (sfi << 3) | 4, 0x00]))
        assert sw == 0x9000, f"READ RECORD answered {sw:04X}"
        for t, v in tlv(data):
            if t == 0x5A:
                out["pan"] = v.hex().upper().rstrip("F")
            elif t == 0x5F24:
                out["expiry"] = v.hex()
            elif t == 0x57 and "pan" not in out:
                out["pan"] = v.hex().upper().split("D")[0]
json.dump(out, sys.stdout)
