"""The worker's MQTT adapter: one thread reads, scores, publishes and acknowledges.

Readings arrive through the MQTT 5 shared subscription `$share/<group>/...`, so
starting another worker splits the load. Acknowledgements are manual: a reading is
acknowledged once the broker confirmed everything its batch produced (see ledger.py).

Back-pressure: Mosquitto 2.0.11 keeps to our MQTT 5 Receive Maximum only until we
acknowledge: each PUBACK of the oldest message in flight lets a whole Receive Maximum
more in, so with a backlog it pushes all of it at once. The inbox is therefore bounded
(FOREWARN_RECEIVE_MAXIMUM) and the input socket is not read while it is full (TCP holds
the rest on the broker). Outputs go out on a second connection of their own, so their
confirmations never queue behind readings on the paused one.

Both connections are served by the same thread that scores (see network.py): between
two batches it reads what arrived, writes what is queued and keeps the sessions alive.
A batch therefore holds the network for its duration (milliseconds; the keepalive is
tens of seconds).

Open alerts survive restarts in retained registers (one per machine and alert kind, see
alerts.py). The output connection subscribes to them and to the machines' statuses on
every connect, then publishes a token on its own sync topic: the broker hands out what it
queued for a connection in order, so when the token comes back every retained register and
status has arrived, and only then does scoring start.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from common.mqtt import connect_client, create_client, publish_status
from contract import AlertRegister, Channel, Status, utc_now_iso
from inference_worker.alerts import AlertTracker
from inference_worker.config import WorkerConfig
from inference_worker.core import BatchProcessor, BatchResult, Incoming, Outgoing, Scorer, alert_outgoing
from inference_worker.ledger import AckLedger
from inference_worker.metrics import LogSampler, WorkerMetrics
from inference_worker.network import Link, wait
from inference_worker.paho_tables import install as install_paho_tables
from inference_worker.quota import SensorQuota
from model.artifact import current_version, load_model
from model.explain import explainer_of
from model.scoring import ModelScorer

log = logging.getLogger(__name__)

# Outputs published and not yet confirmed: the Receive Maximum Mosquitto advertises
# (its max_inflight_messages, 1000 in mosquitto.conf). paho could enforce it
# (max_inflight), but then scans every unconfirmed message on each PUBACK: 17 % of the
# worker's time at 1,000 in flight. So paho's bound is off and the worker keeps it.
OUTPUT_WINDOW = 1000
WINDOW_WAIT_S = 5.0  # never stall for good on a confirmation that will not come
IDLE_WAIT_S = 0.2  # longest select() when there is nothing to do (stop and timers are checked after)
STOP_DRAIN_S = 2.0  # on stop: for the last confirmations (their readings get acked), then for the status
STOP_JOIN_S = 7.0  # the loop needs at most 5 s of it; a supervisor's patience is about 10 s
REJECTION_LOG_EVERY_S = 10.0  # per topic and reason: a flood of rejections is one line, with its count
# Without the registers after this long (an ACL from before them refuses the subscription),
# score anyway, as workers did before registers existed, rather than stop scoring.
SYNC_TIMEOUT_S = 10.0
ALERT_SWEEP_S = 1.0  # how often the stale rule is applied
# Sessions from before the registers still subscribe the readings' connection to alerts.
_ALERTS_SUFFIX = f"/{Channel.ALERTS.value}"


@dataclass(frozen=True, slots=True)
class _Queued:
    message: Incoming
    mid: int
    qos: int


@dataclass(slots=True)
class _Scored:
    """A scored batch whose outputs wait for room in the output window."""

    inputs: list[tuple[int, int]]
    outgoing: list[Outgoing]
    since: float


class Worker:
    """Owns both MQTT clients, the loop thread and the model in service."""

    def __init__(self, config: WorkerConfig, scorer: Scorer, on_failure: Callable[[], None] = lambda: None) -> None:
        self.config = config
        self.topics = config.topics
        self.metrics = WorkerMetrics()
        explainer_for = functools.lru_cache(maxsize=4)(functools.partial(explainer_of, config.models_dir))
        tracker = AlertTracker(config.clear_after, config.clear_ratio, config.stale_after_s)
        self.processor = BatchProcessor(
            self.topics,
            scorer,
            tracker,
            utc_now_iso,
            explainer_for=explainer_for,
            max_future_s=config.max_future_s,
            quota=SensorQuota(config.sensor_rate, config.sensor_burst) if config.sensor_rate > 0 else None,
        )
        self._rejection_log = LogSampler(REJECTION_LOG_EVERY_S)
        self._inbox: deque[_Queued] = deque()  # bounded by the reading loop, see _read_input
        self._scored: _Scored | None = None
        self._unconfirmed = 0  # outputs published and not yet confirmed (the output window)
        self._stop = threading.Event()
        self.failed = False  # the loop died of an unexpected error (then on_failure was called)
        self._on_failure = on_failure
        self._status_topic = self.topics.service_status(config.instance)
        if not config.mqtt.receive_maximum:  # FOREWARN_RECEIVE_MAXIMUM bounds the readings we hold
            self.config = config = replace(config, mqtt=replace(config.mqtt, receive_maximum=config.receive_maximum))
        install_paho_tables()  # paho's per-packet Properties, built cheaply (see paho_tables.py)
        self.client = create_client(config.mqtt, self._status_topic, manual_ack=True, max_inflight=0)
        self._output_settings = replace(
            config.mqtt, client_id=f"{config.instance}-out", session_expiry_s=0, receive_maximum=0
        )
        self.output = create_client(self._output_settings, None, max_inflight=0)
        self._input_link = Link(self.client, config.instance)
        self._output_link = Link(self.output, f"{config.instance}-out")
        self._links = (self._output_link, self._input_link)  # confirmations first: they free the window
        self.ledger = AckLedger(self._ack)
        self.client.on_message = self._on_message
        self.output.on_message = self._on_state_message
        self.output.on_publish = self._on_publish
        self._sync_topic = self.topics.service_sync(config.instance)
        self._sync_token = b""
        self._synced = False  # the registers and statuses have arrived since the output's last connect
        self._sync_deadline = 0.0
        self._thread = threading.Thread(target=self._run, name="worker-loop", daemon=True)

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        readings = self.topics.all_readings_any_depth()  # bad extra levels too, to reject them
        return [(self.topics.shared(self.config.share_group, readings), 1)]

    @property
    def state_subscriptions(self) -> list[tuple[str, int]]:
        """The output connection's: the alert registers, the machines' statuses, its sync echo."""
        return [
            (self.topics.all_alert_states(), 1),
            (self.topics.all_of(Channel.STATUS), 1),
            (self._sync_topic, 1),
        ]

    @property
    def synced(self) -> bool:
        return self._synced

    def start(self) -> None:
        connect_client(
            self.output,
            self._output_settings,
            subscriptions=self.state_subscriptions,
            on_connected=self._request_sync,
            start_loop=False,
        )
        connect_client(
            self.client,
            self.config.mqtt,
            subscriptions=self.subscriptions,
            on_connected=self._announce_online,
            start_loop=False,
        )
        self._thread.start()  # it makes the first connections

    def stop(self) -> None:
        """Graceful stop: let in-flight confirmations land (their readings get acked), say offline, disconnect."""
        self._stop.set()
        self._thread.join(timeout=STOP_JOIN_S)

    def _announce_online(self) -> None:
        publish_status(self.client, self._status_topic, "online")  # not an output: no ledger entry

    # -- paho callbacks (on the loop thread, from Link.read) -----------------------------

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        topic = message.topic  # decoded by paho on each access
        if topic.endswith(_ALERTS_SUFFIX):
            self._ack(message.mid, message.qos)  # the registers say it all (see state_subscriptions)
            return
        self.metrics.received += 1
        self._inbox.append(_Queued(Incoming(topic, bytes(message.payload)), message.mid, message.qos))

    def _request_sync(self) -> None:
        """On each connect of the output: after subscribing, publish a fresh token to echo back."""
        self._synced = False
        self._sync_token = uuid.uuid4().hex.encode()
        self._sync_deadline = time.monotonic() + SYNC_TIMEOUT_S
        self.ledger.ignore(self.output.publish(self._sync_topic, self._sync_token, qos=1).mid)
        self._unconfirmed += 1

    def _on_state_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        """A register, a machine's status or the sync echo, on the output connection (loop thread)."""
        topic = message.topic
        payload = bytes(message.payload)
        if topic == self._sync_topic:
            if payload == self._sync_token and not self._synced:
                self._synced = True
                open_alerts = len(self.processor.tracker.open_alerts())
                log.info("alert state loaded: %d open alerts; scoring", open_alerts)
            return
        try:
            if topic.endswith(f"/{Channel.STATUS.value}"):
                machine_id = self.topics.parse(topic).machine_id
                online = Status.from_json(payload).state == "online"
                self.processor.tracker.machine_status(machine_id, online, utc_now_iso())
                events = []
            else:
                self.topics.parse_alert_state(topic)
                if not payload:
                    return  # a register deleted by hand: nothing to learn
                events = self.processor.tracker.observe_register(AlertRegister.from_json(payload))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignored a malformed message on %s: %s", topic, exc)
            return
        self._publish_now(alert_outgoing(self.topics, events, self.processor.tracker.take_registers()))

    def _publish_now(self, outgoing: list[Outgoing]) -> None:
        """Outputs that answer no reading (register upkeep, stale alerts): straight out."""
        if not outgoing:
            return
        if not self._output_link.usable:
            log.warning("output connection down: %d alert outputs not published", len(outgoing))
            return
        for item in outgoing:
            self.ledger.ignore(self.output.publish(item.topic, item.payload, qos=1, retain=item.retain).mid)
        self._unconfirmed += len(outgoing)
        self.metrics.published += len(outgoing)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, reason: ReasonCode, _props: object
    ) -> None:
        if reason.is_failure:
            self.metrics.publish_refused += 1
            log.error("broker refused an output (mid %d): %s", mid, reason)
        self._unconfirmed = max(self._unconfirmed - 1, 0)
        self.ledger.confirmed(mid)

    def _ack(self, mid: int, qos: int) -> None:
        """Acknowledge a reading; not while the input reconnects (the broker redelivers it anyway)."""
        if self._input_link.usable:
            self.client.ack(mid, qos)

    # -- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        """The loop thread. It never ends quietly: if it dies, the worker goes offline and says so."""
        try:
            self._serve_until_stopped()
        except Exception:  # a bug: scoring has stopped, so the process must not look alive
            log.exception("the worker loop died; going offline so that a supervisor restarts the worker")
            self.failed = True
        try:
            self._shut_down()
        except Exception as exc:  # then the broker's last will says offline once the process is gone
            log.error("no clean shutdown: %s", exc)
        if self.failed:
            self._on_failure()

    def _serve_until_stopped(self) -> None:
        next_stats = time.monotonic() + self.config.stats_interval_s
        next_model_check = time.monotonic() + self.config.model_poll_s
        next_sweep = time.monotonic() + ALERT_SWEEP_S
        while not self._stop.is_set():
            self._serve_network(0.0 if self._has_work() else IDLE_WAIT_S)
            self._publish_scored()
            if self._has_work():
                self._score(self._take_batch())
                self._publish_scored()
            now = time.monotonic()
            if now >= next_stats:
                log.info(
                    "%s acked=%d unconfirmed_batches=%d",
                    self.metrics.summary_and_reset_window(),
                    self.ledger.acked,
                    self.ledger.unconfirmed_batches,
                )
                next_stats = now + self.config.stats_interval_s
            if now >= next_model_check:
                self._maybe_swap_model()
                next_model_check = now + self.config.model_poll_s
            if now >= next_sweep:
                self._sweep_alerts(now)
                next_sweep = now + ALERT_SWEEP_S

    def _sweep_alerts(self, now: float) -> None:
        """The stale rule, once the state is known; and the sync's time limit."""
        if not self._synced and self._output_link.connected and now >= self._sync_deadline:
            log.error(
                "alert registers not loaded within %.0f s (does the broker's ACL grant them? "
                "`python -m broker init` renders it); scoring without them",
                SYNC_TIMEOUT_S,
            )
            self._synced = True
        if self._synced and self._output_link.connected:
            tracker = self.processor.tracker
            events = tracker.expire(datetime.now(UTC))
            self._publish_now(alert_outgoing(self.topics, events, tracker.take_registers()))

    def _has_work(self) -> bool:
        """Readings to score, nothing scored still waiting, somewhere to publish, the alert state known."""
        return bool(self._inbox) and self._scored is None and self._output_link.connected and self._synced

    def _serve_network(self, timeout: float) -> None:
        """Wait up to `timeout` for the sockets, then read, write and keep both sessions alive."""
        inbox_has_room = len(self._inbox) < self.config.receive_maximum
        wanted = [self._output_link, self._input_link] if inbox_has_room else [self._output_link]
        readable, writable = wait(self._links, wanted, timeout)
        if self._output_link in readable:
            self._output_link.read()  # every confirmation that arrived: the client has them in flight
        if self._input_link in readable:
            self._read_input()
        for link in self._links:
            if link in writable:
                link.write()
            link.tick()

    def _read_input(self) -> None:
        """Read until the socket is drained, a batch is waiting or the inbox is full.

        paho reads one packet per call here (the client has nothing in flight), and the
        inbox grows by at most one per packet, so its bound holds exactly.
        """
        link, limit = self._input_link, self.config.receive_maximum
        for _ in range(self.config.max_batch):
            link.read()
            if len(self._inbox) >= limit or not link.has_data():
                return

    def _take_batch(self) -> list[_Queued]:
        """What the inbox holds, up to max_batch readings."""
        inbox, size = self._inbox, min(len(self._inbox), self.config.max_batch)
        return [inbox.popleft() for _ in range(size)]

    def _score(self, batch: list[_Queued]) -> None:
        if not batch:
            return
        if self.config.score_delay_ms and self._stop.wait(self.config.score_delay_ms * len(batch) / 1000):
            return  # tests only (a model this much slower per reading); stopping: the batch stays unacked
        try:
            result = self.processor.process([q.message for q in batch])
        except Exception:  # a bug must not take the service down; the readings stay unacked
            log.exception("batch of %d failed; readings left unacknowledged for redelivery", len(batch))
            return
        self._scored = _Scored([(q.mid, q.qos) for q in batch], result.outgoing(self.topics), time.monotonic())
        newest = result.predictions[-1].ts if result.predictions else None
        self.metrics.count_batch(
            len(batch), len(result.predictions), result.rejection_counts(), len(result.alerts), newest
        )
        self._log_rejections(result)

    def _log_rejections(self, result: BatchResult) -> None:
        """Sampled: the first rejection of a kind at once, then one line per 10 s with its count."""
        now = time.monotonic()
        for machine, refused in result.rate_limited.items():
            if count := self._rejection_log.add(("rate_limited", machine), refused, now):
                quota = self.processor.quota.describe() if self.processor.quota else "?"
                log.warning("machine %s over its quota (%s): %d readings refused (rate_limited)", machine, quota, count)
        for owner, rejection in result.rejections:
            if rejection.reason == "rate_limited":
                continue  # logged above
            if count := self._rejection_log.add((rejection.topic, rejection.reason), 1, now):
                more = f" (and {count - 1} more like it)" if count > 1 else ""
                unreported = "" if owner else "; no machine to report it to"
                log.warning(
                    "rejected reading on %s (%s): %s%s%s",
                    rejection.topic,
                    rejection.reason,
                    rejection.detail,
                    more,
                    unreported,
                )

    def _publish_scored(self) -> None:
        """Publish the scored batch once the output window has room for all of it."""
        scored = self._scored
        if scored is None or not self._output_link.connected:
            return
        count = len(scored.outgoing)
        fits = self._unconfirmed + count <= OUTPUT_WINDOW or self._unconfirmed == 0
        if not fits and time.monotonic() - scored.since < WINDOW_WAIT_S:
            return
        self._scored = None
        publish = self.output.publish
        mids = [publish(o.topic, o.payload, qos=1, retain=o.retain).mid for o in scored.outgoing]
        self._unconfirmed += count
        self.metrics.published += count
        self.ledger.register(scored.inputs, mids)

    def _shut_down(self) -> None:
        """Publish what is scored, wait a little for its confirmations, say offline, disconnect."""
        deadline = time.monotonic() + STOP_DRAIN_S
        while (
            (self._scored or self.ledger.unconfirmed_batches)
            and self._output_link.connected
            and time.monotonic() < deadline
        ):
            self._publish_scored()
            self._serve_network(0.05)
        if self._input_link.connected:
            status = publish_status(self.client, self._status_topic, "offline")
            deadline = time.monotonic() + STOP_DRAIN_S
            while not status.is_published() and self._input_link.connected and time.monotonic() < deadline:
                self._serve_network(0.05)
        for link in self._links:
            link.close()
        deadline = time.monotonic() + 1.0
        while not all(link.closed for link in self._links) and time.monotonic() < deadline:
            self._serve_network(0.05)

    def _maybe_swap_model(self) -> None:
        """Hot swap: between two batches, so no reading is lost or scored twice.

        Whatever fails (an unreadable `current`, a broken new version), the model in service
        stays: one error line per poll, and the next poll tries again.
        """
        serving = self.processor.scorer.version
        try:
            version = current_version(self.config.models_dir)
            if version and version != serving:
                self.processor.scorer = ModelScorer(load_model(self.config.models_dir, version, defer_pipeline=True))
                log.info("now serving model %s", version)
        except Exception as exc:  # a broken new model must not stop the one in service
            log.error("model check failed, still serving %s: %s", serving, exc)
