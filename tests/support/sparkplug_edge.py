"""A Sparkplug B edge node built on Eclipse Tahu's protobuf (contract.sparkplug) and paho.

:class:`EdgeMessages` builds an edge node's messages (no I/O: unit tests feed them to the host);
:class:`EdgeNode` publishes them through a broker like real edge equipment: NBIRTH with bdSeq and
Node Control/Rebirth, DBIRTHs with aliases, DDATA by alias, DDEATH, an NDEATH last will, and new
births when the host sends NCMD Node Control/Rebirth.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract.sparkplug import (
    BD_SEQ,
    REBIRTH,
    DataType,
    MessageType,
    SparkplugTopic,
    add_metric,
    decode_payload,
    metric_value,
    new_payload,
)

# metric name -> (Sparkplug datatype, initial value); the mill's spindle in SI units, temperatures in K
MILL_METRICS: dict[str, tuple[int, Any]] = {
    "Air/Temp": (DataType.Double, 298.1),
    "Process/Temp": (DataType.Double, 308.6),
    "Spindle/Speed": (DataType.Int32, 1551),
    "Spindle/Torque": (DataType.Float, 42.5),
    "Tool/Wear": (DataType.UInt16, 10),
    "Product/Type": (DataType.String, "M"),
}


class EdgeMessages:
    """One edge node's messages, with its sequence numbers and aliases, as (topic, payload bytes)."""

    def __init__(self, group: str, node: str, devices: dict[str, dict[str, tuple[int, Any]]]) -> None:
        self.group = group
        self.node = node
        self.devices = {device: dict(metrics) for device, metrics in devices.items()}
        self.bd_seq = 0
        self.seq = 0
        self.aliases: dict[tuple[str, str], int] = {}
        for device, metrics in self.devices.items():
            for name in metrics:
                self.aliases[(device, name)] = len(self.aliases) + 1  # unique across the node

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq = (self.seq + 1) % 256
        return seq

    def topic(self, kind: MessageType, device: str | None = None) -> str:
        return str(SparkplugTopic(self.group, kind, self.node, device))

    def node_birth(self) -> tuple[str, bytes]:
        self.seq = 0
        payload = new_payload(self._next_seq())
        add_metric(payload, DataType.UInt64, self.bd_seq, name=BD_SEQ)
        add_metric(payload, DataType.Boolean, False, name=REBIRTH)
        return self.topic(MessageType.NBIRTH), payload.SerializeToString()

    def node_death(self, bd_seq: int | None = None) -> tuple[str, bytes]:
        payload = new_payload()
        add_metric(payload, DataType.UInt64, self.bd_seq if bd_seq is None else bd_seq, name=BD_SEQ)
        return self.topic(MessageType.NDEATH), payload.SerializeToString()

    def device_birth(self, device: str) -> tuple[str, bytes]:
        payload = new_payload(self._next_seq())
        for name, (datatype, value) in self.devices[device].items():
            add_metric(payload, datatype, value, name=name, alias=self.aliases[(device, name)])
        return self.topic(MessageType.DBIRTH, device), payload.SerializeToString()

    def births(self) -> list[tuple[str, bytes]]:
        return [self.node_birth(), *(self.device_birth(device) for device in self.devices)]

    def device_data(self, device: str, changes: dict[str, Any]) -> tuple[str, bytes]:
        """DDATA carrying only the changed metrics, by alias (no names), as report-by-exception does."""
        payload = new_payload(self._next_seq())
        for name, value in changes.items():
            datatype = self.devices[device][name][0]
            self.devices[device][name] = (datatype, value)
            add_metric(payload, datatype, value, alias=self.aliases[(device, name)])
        return self.topic(MessageType.DDATA, device), payload.SerializeToString()

    def unknown_alias_data(self, device: str) -> tuple[str, bytes]:
        payload = new_payload(self._next_seq())
        add_metric(payload, DataType.Double, 1.0, alias=999)
        return self.topic(MessageType.DDATA, device), payload.SerializeToString()

    def device_death(self, device: str) -> tuple[str, bytes]:
        return self.topic(MessageType.DDEATH, device), new_payload(self._next_seq()).SerializeToString()

    def skip(self, count: int) -> None:
        """Lose `count` messages (their sequence numbers are never sent)."""
        self.seq = (self.seq + count) % 256


class EdgeNode:
    """An edge node on a broker: its own account, births on connect, NDEATH as last will."""

    def __init__(self, settings: MqttSettings, messages: EdgeMessages) -> None:
        self.messages = messages
        self.rebirths = 0
        self._lock = threading.Lock()
        unique = MqttSettings(**{**settings.__dict__, "client_id": f"{messages.node}-{uuid.uuid4().hex[:6]}"})
        self.settings = unique
        self.client = create_client(unique, status_topic=None)
        self.client.on_message = self._on_message
        self._set_will()

    def _set_will(self) -> None:
        topic, payload = self.messages.node_death()
        self.client.will_set(topic, payload, qos=1, retain=False)

    def connect(self) -> None:
        commands = self.messages.topic(MessageType.NCMD)
        connect_client(self.client, self.settings, subscriptions=[(commands, 1)], on_connected=self._publish_births)
        if not wait_connected(self.client, 15):
            raise RuntimeError(f"edge node {self.messages.node} could not connect")

    def _publish_births(self) -> None:
        with self._lock:
            for topic, payload in self.messages.births():
                self.client.publish(topic, payload, qos=0)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = decode_payload(bytes(message.payload))
        if any(m.name == REBIRTH and metric_value(m, m.datatype) is True for m in payload.metrics):
            self.rebirths += 1
            self._publish_births()

    def send(self, message: tuple[str, bytes]) -> mqtt.MQTTMessageInfo:
        with self._lock:
            return self.client.publish(message[0], message[1], qos=0)

    def set(self, device: str, changes: dict[str, Any]) -> None:
        with self._lock:
            topic, payload = self.messages.device_data(device, changes)
            self.client.publish(topic, payload, qos=0)

    def close(self, *, clean: bool = True) -> None:
        """Disconnect; `clean` publishes NDEATH first (an unclean end leaves it to the will)."""
        if clean and self.client.is_connected():
            topic, payload = self.messages.node_death()
            self.client.publish(topic, payload, qos=1).wait_for_publish(5)
            self.client.disconnect()
        else:
            sock = self.client.socket()
            if sock is not None:
                sock.close()  # no DISCONNECT: the broker publishes the will
        self.client.loop_stop()
