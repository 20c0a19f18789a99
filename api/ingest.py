"""The MQTT side of the ingest: a persistent viewer session feeding the batch writer.

Subscribes with QoS 1 to every machine's predictions, challengers' (shadow) predictions, alerts
and status and to the services' statuses, with manual acknowledgement: the paho callback only
decodes and enqueues, and a message is acknowledged once the writer has committed it (or at once when it is malformed or
needs no storing). MalformedError messages are counted and logged, never fatal.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt

from api.decode import MalformedError, alert_row, prediction_row, shadow_row, status_of
from api.state import StateCache
from api.store import BatchResult, Store
from api.writer import BatchWriter, Inbound
from common.mqtt import MqttSettings, connect_client, create_client, publish_status
from common.paho_bulk import ack_many
from common.settings import ConfigError
from contract import Channel, Topics

__all__ = ["MqttIngest"]

log = logging.getLogger(__name__)

_LOG_EVERY = 1_000  # after the first 10, log one malformed message in this many


class MqttIngest:
    """Owns the MQTT client and the writer thread it feeds."""

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        store: Store,
        cache: StateCache,
        on_committed: Callable[[BatchResult], None],
        *,
        batch_rows: int = 500,
        batch_wait_s: float = 0.0,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.cache = cache
        self.status_topic = topics.service_status(settings.username)
        try:
            self.client = create_client(settings, self.status_topic, manual_ack=True, max_inflight=1000, bulk_io=True)
        except (OSError, ssl.SSLError) as exc:  # a missing or unreadable CA file
            raise ConfigError(f"FOREWARN_MQTT_CA: cannot use {settings.ca_file}: {exc}") from None
        self.client.on_message = self._on_message
        self.writer = BatchWriter(store, on_committed, self._ack_stored, max_rows=batch_rows, max_wait_s=batch_wait_s)
        self.malformed = 0
        self._malformed_lock = threading.Lock()
        self._closing = threading.Event()

    def subscriptions(self) -> list[tuple[str, int]]:
        channels = (Channel.PREDICTIONS, Channel.SHADOW, Channel.ALERTS, Channel.STATUS)
        return [
            *((self.topics.all_of(channel), 1) for channel in channels),
            (self.topics.all_service_statuses(), 1),
        ]

    def start(self) -> None:
        self.writer.start()
        connect_client(self.client, self.settings, self.status_topic, self.subscriptions())

    def stop(self) -> None:
        """Commit and acknowledge what is queued, then leave the broker (the session stays)."""
        self._closing.set()  # take no more: under a steady flow the queue would never run dry
        self.writer.stop()
        if self.client.is_connected():
            publish_status(self.client, self.status_topic, "offline").wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected())

    def _ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)

    def _ack_stored(self, batch: Sequence[Inbound]) -> None:
        ack_many(self.client, [item.mid for item in batch if item.qos == 1])  # subscribed at QoS 1

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if self._closing.is_set():
            return  # not acknowledged: the session keeps it and the broker delivers it after the restart
        try:
            item = self._decode(message.topic, bytes(message.payload), message.mid, message.qos)
        except Exception as exc:  # any bad message: count, log, acknowledge, go on
            self._count_malformed(message, exc)
            self._ack(message.mid, message.qos)
            return
        if item is None:
            self._ack(message.mid, message.qos)
        else:
            self.writer.submit(item)

    def _decode(self, topic: str, payload: bytes, mid: int, qos: int) -> Inbound | None:
        if self.topics.is_service_topic(topic):
            service = self.topics.parse_service_status(topic)
            state, ts_ms = status_of(payload)
            self.cache.set_service(service, state, ts_ms)
            return None
        ref = self.topics.parse(topic)
        now = time.monotonic()
        if ref.channel is Channel.PREDICTIONS:
            row = prediction_row(payload, ref.machine_id)
            if row["shadow"]:
                raise MalformedError("a shadow prediction belongs on the shadow topic, not predictions", "shadow")
            return Inbound("prediction", row, mid, qos, now)
        if ref.channel is Channel.SHADOW:
            return Inbound("shadow", shadow_row(payload, ref.machine_id), mid, qos, now)
        if ref.channel is Channel.ALERTS:
            return Inbound("alert", alert_row(payload, ref.machine_id), mid, qos, now)
        if ref.channel is Channel.STATUS:
            return Inbound("status", (ref.machine_id, *status_of(payload)), mid, qos, now)
        raise MalformedError(f"unexpected topic {topic}")

    def _count_malformed(self, message: mqtt.MQTTMessage, exc: Exception) -> None:
        with self._malformed_lock:
            self.malformed += 1
            count = self.malformed
        if count <= 10 or count % _LOG_EVERY == 0:
            log.warning("malformed message #%d on %s: %s", count, message.topic, exc)
