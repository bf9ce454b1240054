"""Compares a live D-Bus introspection (stdin) with shipped interface XML
files (arguments): every interface of a shipped file must be live with the
same methods (argument names, types, directions, in order), signals and
properties (type, access), and every org.smartpos.Pos1.* interface live
must be shipped. Prints a JSON list of differences (empty: they agree).
Annotations and comments are ignored."""

import json
import sys
import xml.etree.ElementTree as ET


def members(iface):
    out = {}
    for m in iface:
        if m.tag in ("method", "signal"):
            out[(m.tag, m.get("name"))] = [(a.get("name"), a.get("type"), a.get("direction", "out" if m.tag == "signal" else "in")) for a in m.findall("arg")]
        elif m.tag == "property":
            out[("property", m.get("name"))] = (m.get("type"), m.get("access"))
    return out


live = {i.get("name"): members(i) for i in ET.fromstring(sys.stdin.read()).findall("interface")}
diffs = []
shipped_names = set()
for path in sys.argv[1:]:
    for iface in ET.parse(path).getroot().findall("interface"):
        name = iface.get("name")
        shipped_names.add(name)
        want = members(iface)
        got = live.get(name)
        if got is None:
            diffs.append(f"{name}: shipped but not served")
            continue
        for key in sorted(set(want) | set(got)):
            if want.get(key) != got.get(key):
                diffs.append(f"{name} {key[0]} {key[1]}: shipped {want.get(key)} live {got.get(key)}")
for name in live:
    if name.startswith("org.smartpos.Pos1.") and name not in shipped_names:
        diffs.append(f"{name}: served but no XML shipped")
json.dump(diffs, sys.stdout)
