#!/usr/bin/env python3
"""An independent ESC/POS decoder: reads the byte stream a printer received
(stdin or a file) and prints what the paper shows, as JSON.

Written from Epson's ESC/POS command reference, not from posd's encoder:
ESC @ (initialise), FS & / FS . (Chinese character mode on/off: text is
GB18030, decoded with Python's own codec), ESC a n (justification), ESC E n
(emphasis), GS ! n (character size), LF, GS V m [n] (cut), GS ( k (2D code:
the QR functions 165 167 169 180 181), DLE EOT n (a status request, which
prints nothing). Any other control byte is an error, so an encoder that
sends something unexpected fails the test instead of being skipped.

Output: {"copies": [{"lines": [{"text", "align", "bold", "width", "height"}],
"qr": [payload...], "cut": "partial"|"full"}], "status_requests": [n...],
"chinese": bool, "init": count}
"""
import json
import sys

ALIGN = {0: "left", 1: "centre", 2: "right", 48: "left", 49: "centre", 50: "right"}


class Decoder:
    def __init__(self, data):
        self.d = data
        self.i = 0
        self.out = {"copies": [], "status_requests": [], "chinese": False, "init": 0}
        self.reset_modes()
        self.copy = {"lines": [], "qr": [], "cut": None}
        self.text = bytearray()
        self.qr_store = None

    def reset_modes(self):
        self.align, self.bold, self.width, self.height = "left", False, 1, 1

    def take(self, n):
        if self.i + n > len(self.d):
            raise ValueError(f"command cut short at byte {self.i}")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def flush_line(self):
        codec = "gb18030" if self.out["chinese"] else "ascii"
        text = bytes(self.text).decode(codec)
        self.copy["lines"].append({"text": text, "align": self.align, "bold": self.bold, "width": self.width, "height": self.height})
        self.text = bytearray()

    def run(self):
        while self.i < len(self.d):
            b = self.take(1)[0]
            if b == 0x0A:
                self.flush_line()
            elif b == 0x1B:
                self.esc()
            elif b == 0x1C:
                self.fs()
            elif b == 0x1D:
                self.gs()
            elif b == 0x10:
                if self.take(1)[0] != 0x04:
                    raise ValueError(f"DLE other than DLE EOT at byte {self.i - 1}")
                self.out["status_requests"].append(self.take(1)[0])
            elif b < 0x20:
                raise ValueError(f"unexpected control byte {b:#04x} at {self.i - 1}")
            else:
                self.text.append(b)
        if self.text:
            raise ValueError(f"text not ended by LF: {bytes(self.text)!r}")
        if self.copy["lines"] or self.copy["qr"]:
            self.out["copies"].append(self.copy)  # an uncut tail
        return self.out

    def esc(self):
        c = self.take(1)[0]
        if c == 0x40:
            self.out["init"] += 1
            self.reset_modes()
            self.out["chinese"] = False
        elif c == 0x61:
            self.align = ALIGN[self.take(1)[0]]
        elif c == 0x45:
            self.bold = self.take(1)[0] & 1 == 1
        else:
            raise ValueError(f"unknown ESC {c:#04x}")

    def fs(self):
        c = self.take(1)[0]
        if c == 0x26:
            self.out["chinese"] = True
        elif c == 0x2E:
            self.out["chinese"] = False
        else:
            raise ValueError(f"unknown FS {c:#04x}")

    def gs(self):
        c = self.take(1)[0]
        if c == 0x21:
            n = self.take(1)[0]
            self.width, self.height = (n >> 4) + 1, (n & 0x0F) + 1
        elif c == 0x56:
            m = self.take(1)[0]
            if m in (65, 66, 97, 98, 103, 104):
                self.take(1)  # the feed before the cut
            self.copy["cut"] = "full" if m in (0, 48, 65, 97, 103) else "partial"
            self.out["copies"].append(self.copy)
            self.copy = {"lines": [], "qr": [], "cut": None}
        elif c == 0x28:
            if self.take(1)[0] != 0x6B:
                raise ValueError("GS ( other than GS ( k")
            pl, ph = self.take(2)
            body = self.take(pl + 256 * ph)
            cn, fn = body[0], body[1]
            if cn != 0x31:
                raise ValueError(f"GS ( k for symbol {cn:#04x}, not QR")
            if fn == 0x50:  # 180: store
                self.qr_store = bytes(body[3:]).decode("utf-8")
            elif fn == 0x51:  # 181: print
                if self.qr_store is None:
                    raise ValueError("QR printed before anything was stored")
                self.copy["qr"].append(self.qr_store)
            elif fn not in (0x41, 0x43, 0x45):  # 165 model, 167 size, 169 level
                raise ValueError(f"QR function {fn:#04x} unknown")
        else:
            raise ValueError(f"unknown GS {c:#04x}")


def main():
    data = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else sys.stdin.buffer.read()
    try:
        print(json.dumps(Decoder(data).run(), ensure_ascii=False))
    except (ValueError, KeyError, UnicodeDecodeError, IndexError) as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
