"""Make paho's per-packet MQTT 5 Properties objects cheap to build.

paho decodes a Properties object for every PUBLISH it receives and every PUBACK, even
when the packet carries none, and `Properties.__init__` rebuilds two lookup tables (the
names and types of all 27 properties) each time: about 20 us per object, a tenth of the
worker's time at one reading plus one confirmation per prediction. paho offers no way to
skip them, so `install()` gives its packet decoder a subclass that shares those tables
(read-only in paho: built once per class instead of once per packet) and clears itself
without scanning them. Behaviour is unchanged: same class API, same values, same errors
(tests/unit/test_paho_tables.py checks that against paho's own class).

It touches a private paho module, so it checks what it replaces and does nothing when
paho changed (then decoding is just as slow as before, never wrong).
"""

from __future__ import annotations

import logging
from typing import Any

from paho.mqtt import _packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

_TABLES = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
_OWN = frozenset(("packetType", "types", "names", "properties"))  # Properties' own attributes


class SharedTablesProperties(Properties):
    """paho's Properties with the lookup tables of one shared instance."""

    def __init__(self, packetType: int) -> None:  # noqa: N803 - paho's parameter name
        # Properties.__setattr__ would validate these as MQTT properties: set them as its __init__ does.
        attrs = self.__dict__
        attrs["packetType"] = packetType
        attrs["types"] = _TABLES.types
        attrs["names"] = _TABLES.names
        attrs["properties"] = _TABLES.properties

    def clear(self) -> None:
        """Drop every property set (paho's version tries all 27 names)."""
        attrs: dict[str, Any] = self.__dict__
        for name in [n for n in attrs if n not in _OWN]:
            del attrs[name]


_left_alone: list[bool] = []  # a paho not as expected was found (warned once, not per client)


def install() -> bool:
    """Use SharedTablesProperties in paho's packet decoder; False when paho is not as expected.

    common.mqtt.create_client calls it for every client, so every service's sessions use it.
    """
    current = getattr(_packet, "Properties", None)
    if current is SharedTablesProperties:
        return True
    if current is not Properties or not _has_expected_tables():
        if not _left_alone:
            log.warning("paho.mqtt._packet is not as expected; its Properties decoding is left as it is")
            _left_alone.append(True)
        return False
    _packet.Properties = SharedTablesProperties  # type: ignore[attr-defined]
    return True


def _has_expected_tables() -> bool:
    return all(
        isinstance(getattr(_TABLES, name, None), kind)
        for name, kind in (("types", list), ("names", dict), ("properties", dict))
    )
