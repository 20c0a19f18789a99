"""`python -m publisher sparkplug --map FILE`: the Sparkplug B host application as a Forewarn gateway.

One MQTT session (the host's own account) subscribes to `spBv1.0/GROUP/#` and publishes the mapped
machines' readings through one outbox, with a sensor's guarantees; machine statuses follow births
and deaths (retained), and Rebirth commands go out as NCMD. paho's callback only queues messages;
everything else runs on the main thread, like the outbox.
"""

from __future__ import annotations

import logging
import queue
import signal
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt

from common.mqtt import publish_status
from common.settings import ConfigError
from contract import InvalidReading
from contract.sparkplug import MessageType, SparkplugTopic, decode_payload, group_filter, parse_topic, rebirth_command
from publisher import config as publisher_config
from publisher.gateway.mapping import load_sparkplug_mapping
from publisher.gateway.sparkplug import Action, Emit, Online, Rebirth, SparkplugHost
from publisher.service import ReadingPublisher

__all__ = ["run_sparkplug"]

log = logging.getLogger(__name__)

_BATCH = 200  # messages handled between two looks at the broker's acknowledgements
_RECONNECTED = ("", b"")  # queued by on_connect: messages may have been missed meanwhile


def run_sparkplug(map_file: Path) -> int:
    """Validate the mapping, then serve the group until SIGTERM/Ctrl-C."""
    from common.logs import setup_logging

    mapping, profiles, _located = load_sparkplug_mapping(map_file)  # before anything connects
    config = publisher_config.load(mapping.host_id)
    setup_logging(f"sparkplug-{mapping.host_id}")
    host = SparkplugHost(mapping, profiles)
    publisher = ReadingPublisher(config, status_topic=config.topics.service_status(mapping.host_id))
    messages: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
    publisher.client.on_message = _queueing(messages, publisher)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: publisher.request_stop())
    log.info("Sparkplug host %s serving group %s: %d machine(s)", mapping.host_id, mapping.group, len(mapping.machines))
    publisher.start(
        subscriptions=[(group_filter(mapping.group), 1)],
        on_connected=lambda: messages.put(_RECONNECTED),
    )
    try:
        _serve(publisher, host, messages)
    finally:
        publisher.close()
        log.info("Sparkplug counters: %s", host.counters)
    refusal = publisher.refusal()
    if refusal:
        raise ConfigError(refusal)
    return 0


def _queueing(
    messages: queue.SimpleQueue[tuple[str, bytes]], publisher: ReadingPublisher
) -> Callable[[mqtt.Client, object, mqtt.MQTTMessage], None]:
    def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        messages.put((message.topic, bytes(message.payload)))
        publisher.sender.wake()

    return on_message


def _serve(publisher: ReadingPublisher, host: SparkplugHost, messages: queue.SimpleQueue[tuple[str, bytes]]) -> None:
    while not publisher.stopping:
        # Acknowledgements are applied between batches: a flood of messages must not starve them.
        publisher.pump(0.0 if not messages.empty() else 0.25)
        for _ in range(_BATCH):
            try:
                topic, raw = messages.get_nowait()
            except queue.Empty:
                break
            for action in _handle(host, topic, raw):
                _apply(publisher, action)


def _handle(host: SparkplugHost, topic: str, raw: bytes) -> list[Action]:
    if (topic, raw) == _RECONNECTED:
        host.forget_nodes()  # whatever happened while we were away, the next data asks for births
        return []
    try:
        parsed = parse_topic(topic)
        payload = decode_payload(raw)
    except ValueError as exc:
        log.warning("ignoring %s: %s", topic, exc)
        return []
    return host.handle(parsed, payload, time.monotonic())


def _apply(publisher: ReadingPublisher, action: Action) -> None:
    topics = publisher.config.topics
    if isinstance(action, Emit):
        try:
            publisher.offer_values(action.values, action.machine_id)
        except InvalidReading as exc:
            publisher.bad_rows += 1
            log.warning("reading of %s refused before sending: %s", action.machine_id, exc)
    elif isinstance(action, Online):
        publish_status(publisher.client, topics.status(action.machine_id), action.state)
    elif isinstance(action, Rebirth):
        command = SparkplugTopic(action.group, MessageType.NCMD, action.edge_node)
        publisher.client.publish(str(command), rebirth_command(), qos=0)
