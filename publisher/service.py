"""One publisher process: samples in, readings durably queued and published, counters logged.

:class:`ReadingPublisher` owns the outbox and the MQTT session; :func:`run` paces a stream of
samples at a rate and stops cleanly when asked.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

import paho.mqtt.client as mqtt

from common.mqtt import connect_client, create_client, publish_status
from common.settings import ConfigError
from contract import InvalidReading, Profile, default_profile, reading_parser, utc_now_iso
from publisher.config import PublisherConfig
from publisher.outbox import Outbox
from publisher.sample import Sample, reading_id
from publisher.sender import Sender

__all__ = ["ReadingPublisher", "Sourced", "run"]

log = logging.getLogger(__name__)

_MAX_WAIT_S = 0.25  # longest single wait, so a stop request is noticed quickly
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # the contract's compact JSON


@dataclass(frozen=True, slots=True)
class Sourced:
    """A sample and where it came from ('data/x.csv:17', 'simulation'), for messages."""

    sample: Sample
    origin: str


class ReadingPublisher:
    """Turns samples into readings, queues them in the outbox and keeps the MQTT session."""

    def __init__(
        self,
        config: PublisherConfig,
        status_topic: str | None = None,
        validate: Callable[[bytes], object] | None = None,
        profile: Profile | None = None,
    ) -> None:
        self.config = config
        self.profile = profile or default_profile()
        self.machine_id = config.machine_id
        self.topic = config.topics.readings(self.machine_id)
        # A gateway serving several machines announces itself as a service instead.
        self.status_topic = status_topic or config.topics.status(self.machine_id)
        # The profile's own check by default; a gateway passes the check of the machines it serves.
        self.validate: Callable[[bytes], object] = validate or reading_parser(self.profile).parse
        self.client = _create_client(config, self.status_topic)
        self._lock = _lock_outbox(config)
        try:
            self.outbox = _open_outbox(config)
        except ConfigError:
            self._lock.close()
            raise
        self.run_id = self.outbox.next_run_id(time.time_ns() // 1_000_000)
        self.sender = Sender(self.client, self.outbox, config.max_inflight)
        self.sequence = 0
        self.bad_rows = 0
        self.stop_requested = threading.Event()
        self._next_stats = time.monotonic() + config.stats_interval_s

    def start(
        self, subscriptions: Sequence[tuple[str, int]] = (), on_connected: Callable[[], None] | None = None
    ) -> None:
        """Connect (in the background, retrying) and hand over what a previous run left behind.

        `subscriptions` are renewed on every connect (the Sparkplug host reads as well as writes);
        `on_connected` runs in paho's thread after each connect.
        """
        if self.outbox.depth:
            log.info("outbox holds %d readings from a previous run; sending them first", self.outbox.depth)

        def connected() -> None:
            self.sender.link_up()
            if on_connected is not None:
                on_connected()

        connect_client(
            self.client,
            self.config.mqtt,
            status_topic=self.status_topic,
            subscriptions=subscriptions,
            on_connected=connected,
        )
        self.sender.follow_disconnects()

    def offer(self, sample: Sample) -> str:
        """Queue the reading for `sample`; returns its id. InvalidReading if it would be refused."""
        self.sequence += 1
        reading = sample.to_reading(reading_id(self.machine_id, self.run_id, self.sequence), utc_now_iso())
        payload = reading.to_json()
        self.validate(payload)  # what the worker or the broker would refuse is refused here instead
        self._queue(self.topic, payload)
        return reading.reading_id

    def offer_values(self, values: Mapping[str, float | str], machine_id: str | None = None) -> str:
        """Queue a flat reading of a profile's `values` for `machine_id` (default: this publisher's).

        InvalidReading if the profile's check refuses it. Gateways use this instead of :meth:`offer`.
        """
        machine = machine_id or self.machine_id
        self.sequence += 1
        identifier = reading_id(machine, self.run_id, self.sequence)
        payload = _ENCODER.encode({"reading_id": identifier, "ts": utc_now_iso(), **values}).encode()
        self.validate(payload)
        self._queue(self.config.topics.readings(machine), payload)
        return identifier

    def _queue(self, topic: str, payload: bytes) -> None:
        dropped = self.outbox.put(topic, payload)
        if dropped:
            log.warning(
                "outbox full (%d rows): dropped the %d oldest readings, %d dropped since start",
                self.outbox.max_rows,
                dropped,
                self.outbox.dropped,
            )
        self.sender.feed()

    def pump(self, timeout: float) -> None:
        """Process acknowledgements for up to `timeout` s (less if woken), logging the counters when due."""
        self.sender.pump(min(timeout, _MAX_WAIT_S))
        self._maybe_log_stats()

    @property
    def stopping(self) -> bool:
        """A stop was requested, or the broker refuses this machine's messages."""
        return self.stop_requested.is_set() or self.sender.denied is not None

    def refusal(self) -> str | None:
        """Why the broker refuses this machine's messages, with what to do about it; None if it does not."""
        if self.sender.denied is None:
            return None
        machine, prefix = self.machine_id, self.config.topics.prefix
        return (
            f"the broker refuses what {machine} publishes ({self.sender.denied}): give the MQTT user "
            f"{machine} the sensor role and check FOREWARN_TOPIC_PREFIX ({prefix}); "
            f"{self.outbox.depth} readings wait in {self.outbox.path}"
        )

    def wait_until(self, deadline: float) -> bool:
        """Process acknowledgements until the monotonic `deadline`; False if stopping."""
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            self.sender.pump(min(remaining, _MAX_WAIT_S))
            self._maybe_log_stats()
        return False

    def wait_for_room(self) -> bool:
        """Block while the backlog exceeds two windows (rate 0); False if stopping."""
        while self.outbox.depth >= 2 * self.sender.window and not self.stopping:
            self.sender.pump(_MAX_WAIT_S)
            self._maybe_log_stats()
        return not self.stopping

    def request_stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler)."""
        self.stop_requested.set()
        self.sender.wake()

    def flush(self, timeout: float) -> int:
        """Wait up to `timeout` s for every queued reading to be acknowledged; returns what is left."""
        deadline = time.monotonic() + timeout
        while self.outbox.depth and time.monotonic() < deadline and self.sender.denied is None:
            self.sender.pump(min(_MAX_WAIT_S, max(deadline - time.monotonic(), 0.0)))
        return self.outbox.depth

    def close(self) -> None:
        """Flush, announce offline, disconnect; unacknowledged readings stay for the next start."""
        left = self.flush(self.config.flush_timeout_s)
        if left:
            log.warning("%d unacknowledged readings stay in %s for the next start", left, self.outbox.path)
        self._announce_offline()
        self.client.disconnect()
        self.client.loop_stop()
        log.info("stopped: %s", self.stats())
        self.outbox.close()
        self._lock.close()

    def _announce_offline(self) -> None:
        if not self.client.is_connected():
            return  # the broker publishes the offline last will itself when it notices
        try:
            publish_status(self.client, self.status_topic, "offline").wait_for_publish(timeout=2)
        except (RuntimeError, ValueError) as exc:  # the connection dropped meanwhile
            log.warning("could not announce offline: %s", exc)

    def stats(self) -> str:
        """The counters in one line."""
        counters = self.sender.counters
        return (
            f"produced={self.sequence} published={counters.published} acked={counters.acked} "
            f"refused={counters.refused} replayed={counters.replayed} unrouted={counters.unrouted} "
            f"outbox={self.outbox.depth} "
            f"in_flight={self.sender.in_flight} "
            f"dropped={self.outbox.dropped} bad_rows={self.bad_rows}"
        )

    def _maybe_log_stats(self) -> None:
        if time.monotonic() >= self._next_stats:
            self._next_stats = time.monotonic() + self.config.stats_interval_s
            log.info("%s", self.stats())


def run(publisher: ReadingPublisher, items: Iterable[Sourced], rate_hz: float) -> None:
    """Publish `items` at `rate_hz` (0: as fast as the broker acknowledges) until done or stopped."""
    period = 1.0 / rate_hz if rate_hz > 0 else 0.0
    due = time.monotonic()
    for item in items:
        ready = publisher.wait_until(due) if period else publisher.wait_for_room()
        if not ready:
            return
        try:
            publisher.offer(item.sample)
        except InvalidReading as exc:
            publisher.bad_rows += 1
            log.warning("%s: refused before sending: %s", item.origin, exc)
        # After a stall (a slow disk, a suspended VM) carry on at the rate instead of bursting.
        due = max(due + period, time.monotonic() - period)


def _create_client(config: PublisherConfig, status_topic: str) -> mqtt.Client:
    return create_client(config.mqtt, status_topic, max_inflight=config.max_inflight)  # ConfigError on a bad CA


def _open_outbox(config: PublisherConfig) -> Outbox:
    try:
        return Outbox(config.outbox_path, config.outbox_max_rows, round(config.outbox_keep_acked_s * 1000))
    except (sqlite3.Error, OSError) as exc:  # e.g. not a database, or a read-only folder
        raise ConfigError(f"outbox {config.outbox_path}: {exc}") from None


def _lock_outbox(config: PublisherConfig) -> TextIO:
    """Hold an exclusive lock beside the outbox: two publishers must not share one."""
    path = config.outbox_path.with_suffix(".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w")
    except OSError as exc:
        raise ConfigError(f"outbox {config.outbox_path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        message = f"another publisher for {config.machine_id} is running ({path} is locked)"
        raise ConfigError(message) from None
    return handle
