"""Alert events from MQTT into the outbox, acknowledged only once recorded.

A persistent session (clean_start False, session expiry) at QoS 1 with manual
acknowledgement, as the Telegram bot's: alerts published while the service is down wait at
the broker, and a message is acknowledged only after its deliveries are on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt

from common.mqtt import MqttSettings, connect_client, create_client, publish_status
from contract import ALERT_STATES, Alert, Channel, Topics

__all__ = ["EventFeed", "decode_alert"]

log = logging.getLogger(__name__)


def decode_alert(payload: bytes) -> Alert:
    """An alert event; ValueError when the payload is not one."""
    try:
        alert = Alert.from_json(payload)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an alert payload ({exc})") from None
    if alert.state not in ALERT_STATES or not isinstance(alert.alert_id, str) or not alert.alert_id:
        raise ValueError(f"alert {alert.alert_id!r} has state {alert.state!r}")
    return alert


class EventFeed:
    """Subscribes to every machine's alerts and hands each to `record` before acknowledging it."""

    def __init__(self, settings: MqttSettings, topics: Topics, record: Callable[[Alert], None]) -> None:
        self.settings = settings
        self.topics = topics
        self.status_topic = topics.service_status(settings.username)
        self._record = record
        self.client = create_client(settings, self.status_topic, manual_ack=True)
        self.client.on_message = self._on_message

    def start(self) -> None:
        connect_client(
            self.client,
            self.settings,
            status_topic=self.status_topic,
            subscriptions=[(self.topics.all_of(Channel.ALERTS), 1)],
        )

    def stop(self) -> None:
        if self.client.is_connected():
            publish_status(self.client, self.status_topic, "offline").wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            alert = decode_alert(bytes(message.payload))
        except ValueError as exc:
            log.warning("dropping a message on %s: %s", message.topic, exc)
            client.ack(message.mid, message.qos)  # redelivering it would not make it valid
            return
        try:
            self._record(alert)
        except Exception:  # not recorded: not acknowledged, the broker delivers it again
            log.exception("could not record alert %s; it stays with the broker", alert.alert_id)
            return
        client.ack(message.mid, message.qos)
