"""An independent ModemManager stand-in: python-dbusmock's `modemmanager`
template, extended with what it lacks — 3GPP registration, the Location
interface, Modem.Simple Connect/Disconnect and a bearer — with every name
and type checked against ModemManager's own introspection XML (Debian's
modemmanager-dev, /usr/share/dbus-1/interfaces).

Runs on the bus in DBUS_SYSTEM_BUS_ADDRESS. Reads commands on stdin, one
per line, answers one line each ("ok" or JSON):
  signal N | register home|roaming|searching|denied|idle | operator CODE NAME
  location MCC MNC LAC_HEX CI_HEX | disconnect | bearer | remove | quit
"""

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import dbus

XML_DIR = "/usr/share/dbus-1/interfaces"
MM = "org.freedesktop.ModemManager1"
MAIN = "/org/freedesktop/ModemManager1"
MODEM_IF = MM + ".Modem"
GPP_IF = MM + ".Modem.Modem3gpp"
LOC_IF = MM + ".Modem.Location"
SIMPLE_IF = MM + ".Modem.Simple"
BEARER_IF = MM + ".Bearer"
MOCK_IF = "org.freedesktop.DBus.Mock"
BEARER = "/org/freedesktop/ModemManager1/Bearer/0"
SOURCE_3GPP_LAC_CI = 1
REG = {"idle": 0, "home": 1, "searching": 2, "denied": 3, "unknown": 4, "roaming": 5}
STATE_ENABLED, STATE_SEARCHING, STATE_REGISTERED, STATE_CONNECTED = 6, 7, 8, 11


def xml_members(iface):
    root = ET.parse(os.path.join(XML_DIR, iface + ".xml")).getroot()
    node = next(i for i in root.iter("interface") if i.get("name") == iface)
    props = {p.get("name"): p.get("type") for p in node.iter("property")}
    methods = {}
    for m in node.iter("method"):
        args = m.findall("arg")
        ins = "".join(a.get("type") for a in args if a.get("direction", "in") == "in")
        outs = "".join(a.get("type") for a in args if a.get("direction") == "out")
        methods[m.get("name")] = (ins, outs)
    return props, methods


def checked_props(iface, values):
    """`values` as {name: (dbus type, value)}; refuses anything the XML lacks."""
    props, _ = xml_members(iface)
    for name, (sig, _) in values.items():
        assert name in props, f"{iface}.{name} is not in ModemManager's XML"
        assert props[name] == sig, f"{iface}.{name}: XML says {props[name]}, stand-in has {sig}"
    return {name: value for name, (_, value) in values.items()}


def checked_method(iface, name, ins, outs, code):
    _, methods = xml_members(iface)
    assert methods.get(name) == (ins, outs), f"{iface}.{name}{(ins, outs)} differs from ModemManager's XML {methods.get(name)}"
    return (name, ins, outs, code)


def main():
    server = subprocess.Popen([sys.executable, "-m", "dbusmock", "--system", "--template", "modemmanager"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(server)
    finally:
        server.terminate()
        server.wait(timeout=5)


def run(server):
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    deadline = time.monotonic() + 10
    while not bus.name_has_owner(MM):
        assert time.monotonic() < deadline and server.poll() is None, "dbusmock did not start"
        time.sleep(0.05)
    manager = dbus.Interface(bus.get_object(MM, MAIN), MOCK_IF)
    modem_path, _sim = manager.AddSimpleModem()
    modem = dbus.Interface(bus.get_object(MM, modem_path), MOCK_IF)
    def extend(iface, values):
        """Adds the properties the template lacks, sets the ones it has."""
        for name, value in checked_props(iface, values).items():
            try:
                modem.AddProperty(iface, name, value)
            except dbus.exceptions.DBusException as e:
                if not e.get_dbus_name().endswith("PropertyExists"):
                    raise
                modem.UpdateProperties(iface, {name: value})

    extend(MODEM_IF, {
        "Bearers": ("ao", dbus.Array([], signature="o")),
        "State": ("i", dbus.Int32(STATE_REGISTERED)),
    })
    extend(GPP_IF, {
        "RegistrationState": ("u", dbus.UInt32(REG["home"])),
        "OperatorCode": ("s", "46000"),
        "OperatorName": ("s", "China Mobile"),
    })
    extend(LOC_IF, {
        "Capabilities": ("u", dbus.UInt32(SOURCE_3GPP_LAC_CI)),
        "Enabled": ("u", dbus.UInt32(0)),
        "SignalsLocation": ("b", False),
        "Location": ("a{uv}", dbus.Dictionary({}, signature="uv")),
    })
    modem.AddMethods(LOC_IF, [
        checked_method(LOC_IF, "Setup", "ub", "",
                       f"self.UpdateProperties('{LOC_IF}', {{'Enabled': dbus.UInt32(args[0]), 'SignalsLocation': args[1]}})"),
        checked_method(LOC_IF, "GetLocation", "", "a{uv}",
                       f"ret = self.props['{LOC_IF}']['Location'] if self.props['{LOC_IF}']['Enabled'] & 1 else dbus.Dictionary({{}}, signature='uv')"),
    ])
    connect = (
        f"bearer = '{BEARER}'\n"
        f"props = {{'apn': args[0].get('apn', '')}}\n"
        f"if bearer not in objects:\n"
        f"    self.AddObject(bearer, '{BEARER_IF}', {{'Connected': dbus.Boolean(True), 'Interface': 'wwan0', 'Properties': dbus.Dictionary(props, signature='sv')}}, [])\n"
        f"else:\n"
        f"    objects[bearer].UpdateProperties('{BEARER_IF}', {{'Connected': dbus.Boolean(True), 'Properties': dbus.Dictionary(props, signature='sv')}})\n"
        f"self.connects = getattr(self, 'connects', 0) + 1\n"
        f"self.UpdateProperties('{MODEM_IF}', {{'State': dbus.Int32({STATE_CONNECTED}), 'Bearers': dbus.Array([dbus.ObjectPath(bearer)], signature='o')}})\n"
        f"ret = dbus.ObjectPath(bearer)"
    )
    modem.AddMethods(SIMPLE_IF, [
        checked_method(SIMPLE_IF, "Connect", "a{sv}", "o", connect),
        checked_method(SIMPLE_IF, "Disconnect", "o", "",
                       f"objects['{BEARER}'].UpdateProperties('{BEARER_IF}', {{'Connected': dbus.Boolean(False)}}) if '{BEARER}' in objects else None\n"
                       f"self.UpdateProperties('{MODEM_IF}', {{'State': dbus.Int32({STATE_REGISTERED})}})"),
        checked_method(SIMPLE_IF, "GetStatus", "", "a{sv}",
                       f"ret = {{'state': self.props['{MODEM_IF}']['State'], 'signal-quality': self.props['{MODEM_IF}']['SignalQuality']}}"),
    ])
    checked_props(BEARER_IF, {"Connected": ("b", True), "Interface": ("s", ""), "Properties": ("a{sv}", {})})
    print("ready", flush=True)

    def update(iface, values):
        modem.UpdateProperties(iface, checked_props(iface, values))

    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "signal":
            update(MODEM_IF, {"SignalQuality": ("(ub)", dbus.Struct((dbus.UInt32(int(args[0])), True)))})
        elif cmd == "register":
            reg = REG[args[0]]
            state = STATE_REGISTERED if args[0] in ("home", "roaming") else STATE_SEARCHING if args[0] == "searching" else STATE_ENABLED
            update(GPP_IF, {"RegistrationState": ("u", dbus.UInt32(reg))})
            update(MODEM_IF, {"State": ("i", dbus.Int32(state))})
            if state != STATE_REGISTERED and BEARER in bus.get_object(MM, MAIN).GetManagedObjects(dbus_interface="org.freedesktop.DBus.ObjectManager").get(modem_path, {}).get(MODEM_IF, {}).get("Bearers", []):
                dbus.Interface(bus.get_object(MM, BEARER), MOCK_IF).UpdateProperties(BEARER_IF, {"Connected": False})
        elif cmd == "operator":
            update(GPP_IF, {"OperatorCode": ("s", args[0]), "OperatorName": ("s", " ".join(args[1:]))})
        elif cmd == "location":
            mcc, mnc, lac, ci = args
            update(LOC_IF, {"Location": ("a{uv}", dbus.Dictionary({dbus.UInt32(SOURCE_3GPP_LAC_CI): f"{mcc},{mnc},{lac},{ci},0"}, signature="uv"))})
        elif cmd == "disconnect":
            dbus.Interface(bus.get_object(MM, modem_path), SIMPLE_IF).Disconnect(dbus.ObjectPath(BEARER))
        elif cmd == "bearer":
            try:
                props = bus.get_object(MM, BEARER).GetAll(BEARER_IF, dbus_interface="org.freedesktop.DBus.Properties")
                out = {"exists": True, "connected": bool(props["Connected"]), "apn": str(props["Properties"].get("apn", ""))}
            except dbus.exceptions.DBusException:
                out = {"exists": False, "connected": False, "apn": ""}
            print(json.dumps(out), flush=True)
            continue
        elif cmd == "remove":
            manager.RemoveObject(modem_path)
            manager.EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas",
                               [dbus.ObjectPath(modem_path), [MODEM_IF, GPP_IF, LOC_IF, SIMPLE_IF]])
        elif cmd == "quit":
            break
        else:
            print(f"error unknown command {cmd}", flush=True)
            continue
        print("ok", flush=True)


if __name__ == "__main__":
    main()
