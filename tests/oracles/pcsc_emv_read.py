"""An independent EMV reader: pyscard through pcsc-lite, our own APDUs.

Reads the card in the first reader whose name contains argv[1] the way a
terminal does (PSE, application selection, GPO, records of the AFL,
resolving 61xx / 6Cxx) and prints JSON: application id and label, PAN,
expiry (YYMMDD). Nothing here comes from smartpos's code.
"""

import json
import sys

import emv_pcsc

app = emv_pcsc.read_application(emv_pcsc.connect(sys.argv[1] if len(sys.argv) > 1 else ""))
tags = app["tags"]
out = {"aid": app["aid"].hex().upper(), "label": tags.get(0x50, b"").decode("ascii", "replace")}
if 0x5A in tags:
    out["pan"] = tags[0x5A].hex().upper().rstrip("F")
elif 0x57 in tags:
    out["pan"] = tags[0x57].hex().upper().split("D")[0]
if 0x5F24 in tags:
    out["expiry"] = tags[0x5F24].hex()
json.dump(out, sys.stdout)
