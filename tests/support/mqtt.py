"""Test-side MQTT helpers: a subscriber that records what it actually receives."""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from common.mqtt import MqttSettings, connect_client, create_client


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


class Collector:
    """Subscribes to filters and keeps every delivered message.

    It connects under the settings' client id: the broker binds each account to one id (its
    name), so two collectors at once need two accounts.
    """

    def __init__(self, settings: MqttSettings, filters: list[str], qos: int = 1) -> None:
        self.messages: list[Received] = []
        self._lock = threading.RLock()
        self._subscribed = threading.Event()
        self._arrived = threading.Condition(self._lock)
        self.suback: dict[str, int] = {}  # filter -> the broker's reason code (0-2 granted QoS, 135 refused)
        self.client = create_client(settings, status_topic=None)
        self.client.on_message = self._on_message
        self.client.on_subscribe = functools.partial(self._on_subscribe, filters)
        connect_client(self.client, settings, subscriptions=[(f, qos) for f in filters])
        if not self._subscribed.wait(10):
            raise RuntimeError("collector did not subscribe within 10 s")

    def _on_subscribe(
        self, filters: list[str], _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        self.suback = {topic: reason.value for topic, reason in zip(filters, reasons, strict=True)}
        self._subscribed.set()

    @property
    def refused(self) -> list[str]:
        """The filters the broker refused."""
        return [topic for topic, code in self.suback.items() if code >= 0x80]

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(Received(message.topic, bytes(message.payload), bool(message.retain)))
            self._arrived.notify_all()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        """Wait until predicate(messages) holds; return a snapshot (check it in the test)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(self.messages) and time.monotonic() < deadline:
                self._arrived.wait(timeout=max(0.0, deadline - time.monotonic()))
            return list(self.messages)

    def on_topic(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_and_wait(client: mqtt.Client, topic: str, payload: bytes, qos: int = 1) -> int:
    """Publish and wait for the broker's acknowledgement; returns the reason code value."""
    info = client.publish(topic, payload, qos=qos)
    info.wait_for_publish(timeout=10)
    return info.rc


def drain(q: queue.Queue[object]) -> list[object]:
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items
