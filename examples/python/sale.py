#!/usr/bin/env python3
"""Takes a sale through posd's D-Bus API with dbus-next and prints the result.

    python3 sale.py AMOUNT_FEN [BUS_ADDRESS]        # default: the system bus
"""

import asyncio
import sys

from dbus_next import BusType, Variant
from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

NAME, PATH = "org.smartpos.Pos1", "/org/smartpos/Pos1"


async def main():
    amount = int(sys.argv[1])
    if len(sys.argv) > 2:
        bus = await MessageBus(bus_address=sys.argv[2]).connect()
    else:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    node = await bus.introspect(NAME, PATH)
    payment = bus.get_proxy_object(NAME, PATH, node).get_interface("org.smartpos.Pos1.Payment")
    payment.on_progress(lambda stage, details: print(f"... {stage}", file=sys.stderr))
    try:
        result = await payment.call_sale(amount, {"reference": Variant("s", "example-py")})
    except DBusError as e:
        # e.g. org.smartpos.Pos1.Error.NotSignedIn; the text says what to do.
        print(f"{e.type}: {e.text}", file=sys.stderr)
        sys.exit(3)
    value = {k: v.value for k, v in result.items()}
    print(f"approved={value['approved']} response_code={value['response_code']} stan={value['stan']} masked_pan={value['masked_pan']}")


asyncio.run(main())
