"""An independent EMV terminal's card side, for the oracles: pyscard
through pcsc-lite, our own APDUs (nothing here comes from smartpos's code).

connect(pattern) → a connection to the first reader whose name holds
`pattern`; send() resolves 61xx / 6Cxx as EMV Book 1 asks; tlv() walks
BER-TLV; read_application() does PSE, SELECT, GPO and the records of the
AFL and returns the tags, the AIP, the AFL and the records read.
"""

import time

from smartcard.Exceptions import NoCardException
from smartcard.System import readers


def connect(pattern):
    reader = next(r for r in readers() if pattern.lower() in str(r).lower())
    conn = reader.createConnection()
    deadline = time.monotonic() + 10  # the card program may still be connecting
    while True:
        try:
            conn.connect()
            return conn
        except NoCardException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def send(conn, apdu):
    data, sw1, sw2 = conn.transmit(list(apdu))
    if sw1 == 0x6C:
        data, sw1, sw2 = conn.transmit(list(apdu[:-1]) + [sw2])
    out = list(data)
    while sw1 == 0x61:
        data, sw1, sw2 = conn.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
        out += data
    return bytes(out), (sw1 << 8) | sw2


def _header(buf, i):
    """The tag at buf[i] and where its value starts and ends."""
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
    return tag, i, i + length


def tlv(buf, descend=True):
    """BER-TLV walk: yields (tag, value), descending into constructed tags."""
    i = 0
    while i < len(buf):
        tag, start, i = _header(buf, i)
        value = buf[start:i]
        yield tag, value
        first = tag
        while first > 0xFF:
            first >>= 8
        if descend and first & 0x20:
            yield from tlv(value)


def tlv_raw(buf):
    """Top-level BER-TLV objects as (tag, the object's bytes as encoded)."""
    i = 0
    while i < len(buf):
        begin = i
        tag, _start, i = _header(buf, i)
        yield tag, buf[begin:i]


def select(conn, name):
    return send(conn, bytes([0x00, 0xA4, 0x04, 0x00, len(name)]) + name + b"\x00")


def read_application(conn):
    fci, sw = select(conn, b"1PAY.SYS.DDF01")
    aids = []
    if sw == 0x9000:
        sfi = dict(tlv(fci)).get(0x88, b"\x01")[0]
        for rec in range(1, 10):
            data, sw = send(conn, bytes([0x00, 0xB2, rec, (sfi << 3) | 4, 0x00]))
            if sw != 0x9000:
                break
            aids += [v for t, v in tlv(data) if t == 0x4F]
    aid = aids[0] if aids else bytes.fromhex("A000000333010101")
    fci, sw = select(conn, aid)
    assert sw == 0x9000, f"SELECT AID answered {sw:04X}"
    tags = dict(tlv(fci))
    pdol = tags.get(0x9F38)
    pdol_len = 0
    if pdol:
        j = 0
        while j < len(pdol):
            j += 2 if pdol[j] & 0x1F == 0x1F else 1
            pdol_len += pdol[j]
            j += 1
    gpo, sw = send(conn, bytes([0x80, 0xA8, 0x00, 0x00, pdol_len + 2, 0x83, pdol_len]) + bytes(pdol_len) + b"\x00")
    assert sw == 0x9000, f"GPO answered {sw:04X}"
    if gpo[0] == 0x80:
        aip, afl = gpo[2:4], gpo[4:]
    else:
        g = dict(tlv(gpo))
        aip, afl = g[0x82], g[0x94]
    records = []  # (sfi, record number, raw record, counted for ODA)
    for k in range(0, len(afl), 4):
        sfi, first, last, oda = afl[k] >> 3, afl[k + 1], afl[k + 2], afl[k + 3]
        for rec in range(first, last + 1):
            data, sw = send(conn, bytes([0x00, 0xB2, rec, (sfi << 3) | 4, 0x00]))
            assert sw == 0x9000, f"READ RECORD answered {sw:04X}"
            records.append((sfi, rec, data, rec - first < oda))
            for t, v in tlv(data):
                tags.setdefault(t, v)
    return {"aid": aid, "tags": tags, "aip": aip, "afl": afl, "records": records}
