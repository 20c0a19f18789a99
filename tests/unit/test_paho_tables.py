"""paho decodes with shared-table Properties exactly as with its own class."""

from __future__ import annotations

import struct

import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common import paho_tables
from common.paho_tables import SharedTablesProperties

MQTT5 = MQTTProtocolVersion.MQTTv5


def _publish_packet(properties: bytes) -> bytes:
    topic = b"forewarn/v1/m1/readings"
    return struct.pack("!H", len(topic)) + topic + struct.pack("!H", 77) + properties + b'{"reading_id":"r1"}'


def _with_properties() -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = 30
    props.ContentType = "application/json"
    props.UserProperty = [("a", "b"), ("c", "d")]
    return props.pack()  # type: ignore[no-untyped-call,no-any-return]


def _decoded(decode: str, *args: object) -> str:
    result = getattr(_packet, decode)(*args)
    return repr(result._replace(properties=None)) + str(result.properties) + str(result.properties.isEmpty())


@pytest.mark.parametrize(
    ("decode", "args"),
    [
        ("decode_publish", (0x32, _publish_packet(b"\x00"), MQTT5)),
        ("decode_publish", (0x32, _publish_packet(_with_properties()), MQTT5)),
        ("decode_puback", (0x40, b"\x00\x05", MQTT5)),
        ("decode_puback", (0x40, b"\x00\x05\x10", MQTT5)),
        ("decode_puback", (0x40, b"\x00\x05\x10\x05\x1f\x00\x02ok", MQTT5)),  # reason string
    ],
)
def test_decoding_is_unchanged(monkeypatch: pytest.MonkeyPatch, decode: str, args: tuple[object, ...]) -> None:
    monkeypatch.setattr(_packet, "Properties", Properties)
    expected = _decoded(decode, *args)
    assert paho_tables.install()
    assert vars(_packet)["Properties"] is SharedTablesProperties
    assert _decoded(decode, *args) == expected


def test_malformed_properties_are_refused_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _publish_packet(b"\x02\x61\x00")  # property 0x61 does not exist
    monkeypatch.setattr(_packet, "Properties", Properties)
    with pytest.raises(MalformedPacket):
        _packet.decode_publish(0x32, bad, MQTT5)
    paho_tables.install()
    with pytest.raises(MalformedPacket):
        _packet.decode_publish(0x32, bad, MQTT5)


def test_cleared_and_validated_like_paho() -> None:
    props = SharedTablesProperties(PacketTypes.PUBLISH)
    props.unpack(_with_properties())  # type: ignore[no-untyped-call]
    assert not props.isEmpty()  # type: ignore[no-untyped-call]
    props.clear()
    assert props.isEmpty()  # type: ignore[no-untyped-call]
    assert str(props) == "[]"
    with pytest.raises(Exception, match="does not apply"):
        props.ReceiveMaximum = 10  # a CONNECT property, refused on a PUBLISH as by paho


def test_install_leaves_an_unexpected_paho_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    class Other(Properties):
        pass

    monkeypatch.setattr(_packet, "Properties", Other)
    assert not paho_tables.install()
    assert vars(_packet)["Properties"] is Other
