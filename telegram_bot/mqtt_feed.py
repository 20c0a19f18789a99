"""Alert events from MQTT into the bot's update queue.

The paho callback only decodes the alert and hands it to the event loop as an
:class:`AlertEvent` on `application.update_queue`; a TypeHandler records it in the
store and only then acknowledges the MQTT message (manual ack), so an alert is never
acknowledged before it is safe on disk. Unacknowledged messages come back after a
reconnect: the session is persistent (clean_start False, session expiry) at QoS 1.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from common.mqtt import MqttSettings, connect_client, create_client, publish_status
from contract import ALERT_KINDS, ALERT_STATES, Alert, Channel, Topics

__all__ = ["AlertEvent", "AlertFeed", "decode_alert"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert event received from MQTT, with what is needed to acknowledge it."""

    alert: Alert
    mid: int
    qos: int


def decode_alert(payload: bytes | bytearray) -> Alert:
    """Parse an alert payload; ValueError when it is not a usable alert event."""
    try:
        alert = Alert.from_json(bytes(payload))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an alert payload ({exc})") from None
    if alert.state not in ALERT_STATES or alert.kind not in ALERT_KINDS:
        raise ValueError(f"alert {alert.alert_id!r} has state {alert.state!r} and kind {alert.kind!r}")
    if not isinstance(alert.alert_id, str) or not isinstance(alert.machine_id, str):
        raise ValueError("alert_id and machine_id must be strings")
    return alert


class AlertFeed:
    """The bot's MQTT session: subscribes to every machine's alerts, QoS 1, manual ack."""

    def __init__(self, settings: MqttSettings, topics: Topics, queue: asyncio.Queue[Any]) -> None:
        self.settings = settings
        self.topics = topics
        self.status_topic = topics.service_status(settings.username)
        self._queue = queue
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client = create_client(settings, self.status_topic, manual_ack=True)
        self.client.on_message = self._on_message

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Connect in the background; alerts start flowing once subscribed."""
        self._loop = loop
        connect_client(
            self.client,
            self.settings,
            status_topic=self.status_topic,
            subscriptions=[(self.topics.all_of(Channel.ALERTS), 1)],
        )

    def ack(self, event: AlertEvent) -> None:
        """Tell the broker the event is safely recorded."""
        self.client.ack(event.mid, event.qos)

    def stop(self) -> None:
        """Say offline (the last will covers a crash) and disconnect."""
        if self.client.is_connected():
            publish_status(self.client, self.status_topic, "offline").wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            alert = decode_alert(message.payload)
        except ValueError as exc:
            log.warning("dropping a message on %s: %s", message.topic, exc)
            client.ack(message.mid, message.qos)  # redelivering it would not make it valid
            return
        if self._loop is None or self._loop.is_closed():
            return  # not acknowledged: the broker delivers it again next session
        event = AlertEvent(alert, message.mid, message.qos)
        try:
            asyncio.run_coroutine_threadsafe(self._queue.put(event), self._loop)
        except RuntimeError:  # the loop is shutting down; same as above
            log.info("alert %s left for the next session", alert.alert_id)
