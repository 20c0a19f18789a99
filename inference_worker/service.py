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

Stopping (SIGTERM: a scale-down, a restart) is `_shut_down`: the worker says offline and,
if another worker is online, leaves the share group for good: it unsubscribes, scores and
acknowledges everything the broker had queued for it, and ends its session, so the group's
other members get every reading from then on. The last worker online keeps its session
instead: Mosquitto drops a shared subscription's messages while the group has no member,
and a kept session is a member, so readings queue for it until it (or any worker) returns.
A crash (SIGKILL) keeps the session too: the same id resumes it.

Machines of windowed profiles (RUL, anomaly: per-machine rolling windows) are not scored
from the share group: each has one owner among the workers online (ownership.py), which
subscribes to its readings topic without sharing it (subscription identifier
OWNED_SUBSCRIPTION); the copies the group deals of such a machine are acknowledged and
dropped. So every reading of a windowed machine is scored, in order, by one worker.

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
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from common.mqtt import OUTPUT_SUFFIX, connect_client, create_client, publish_status
from contract import AlertRegister, Channel, Status, Topics, utc_now_iso
from contract.registry import Registry
from inference_worker.alerts import AlertTracker
from inference_worker.config import WorkerConfig
from inference_worker.core import BatchProcessor, BatchResult, Explains, Incoming, Outgoing, Scorer, alert_outgoing
from inference_worker.ledger import AckLedger
from inference_worker.metrics import LogSampler, WorkerMetrics
from inference_worker.models import ModelShelf
from inference_worker.network import Link, wait
from inference_worker.ownership import Ownership, routed
from inference_worker.peers import Peers
from inference_worker.quota import SensorQuota
from model.explain import explainer_of

log = logging.getLogger(__name__)

# Outputs published and not yet confirmed: the Receive Maximum Mosquitto advertises
# (its max_inflight_messages, 1000 in mosquitto.conf). paho could enforce it
# (max_inflight), but then scans every unconfirmed message on each PUBACK: 17 % of the
# worker's time at 1,000 in flight. So paho's bound is off and the worker keeps it.
OUTPUT_WINDOW = 1000
WINDOW_WAIT_S = 5.0  # never stall for good on a confirmation that will not come
IDLE_WAIT_S = 0.2  # longest select() when there is nothing to do (stop and timers are checked after)
STOP_DRAIN_S = 2.0  # on stop: for the last confirmations (their readings get acked)
STOP_STEP_S = 5.0  # on stop: for our own status to come back, for the UNSUBACK
STEP_WAIT_S = 0.05  # select() timeout while stopping
REJECTION_LOG_EVERY_S = 10.0  # per topic and reason: a flood of rejections is one line, with its count
OWNED_SUBSCRIPTION = 2  # MQTT 5 subscription identifier of an owned machine's readings (see ownership.py)
ROUTE_EVERY_S = 0.25  # how often the owned machines are checked against the registry and the peers
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
    received: float  # time.monotonic() on arrival: a batch waits for more only so long


@dataclass(slots=True)
class _Scored:
    """A scored batch whose outputs wait for room in the output window."""

    inputs: list[tuple[int, int]]
    outgoing: list[Outgoing]
    since: float


class Worker:
    """Owns both MQTT clients, the loop thread, the registry and the models in service."""

    def __init__(
        self, config: WorkerConfig, scorer: Scorer | None = None, on_failure: Callable[[], None] = lambda: None
    ) -> None:
        self.config = config
        self.topics = config.topics
        self.metrics = WorkerMetrics()
        self.registry = Registry(config.registry_dir, check_interval_s=config.registry_check_s)
        self.models = ModelShelf(config.models_dir)
        if scorer is not None:
            self.models.put(scorer)
        explainer_of_version = functools.lru_cache(maxsize=8)(functools.partial(explainer_of, config.models_dir))

        def explainer_for(model: Scorer) -> Explains | None:
            return explainer_of_version(model.version)

        self.processor = BatchProcessor(
            self.topics,
            self.models.scorer_for,
            AlertTracker(config.clear_after, config.clear_ratio, config.stale_after_s),
            utc_now_iso,
            self.registry.profile_of,
            explainer_for=explainer_for,
            max_future_s=config.max_future_s,
            quota=SensorQuota(config.sensor_rate, config.sensor_burst) if config.sensor_rate > 0 else None,
            challengers=self.models.challenger_for,
        )
        self._rejection_log = LogSampler(REJECTION_LOG_EVERY_S)
        self._inbox: deque[_Queued] = deque()  # bounded by the reading loop, see _read_input
        self._scored: _Scored | None = None
        self._unconfirmed = 0  # outputs published and not yet confirmed (the output window)
        self._stop = threading.Event()
        self.failed = False  # the loop died of an unexpected error (then on_failure was called)
        self._on_failure = on_failure
        self._hurry = threading.Event()  # set by stop(): cuts a test's scoring delay short
        self._status_topic = self.topics.service_status(config.instance)
        self.peers = Peers(config.instance)
        self._echoes: set[bytes] = set()  # our own status messages the broker sent back to us
        self._connections = 0  # input sessions made: a reconnect while stopping re-subscribes
        self._unsubscribed: bool | None = None  # the UNSUBACK of the share group: None before it
        self._group_unsubscribe: int | None = None  # its message id
        self.ownership = Ownership(config.instance)
        self._routed: frozenset[str] = frozenset()  # machines of windowed profiles (scored by their owner)
        self.routed_away = 0  # readings of routed machines the share group dealt us, dropped (the owner has them)
        self.left_group = False  # set when a stop ended the session (for tests and the log)
        if not config.mqtt.receive_maximum:  # FOREWARN_RECEIVE_MAXIMUM bounds the readings we hold
            self.config = config = replace(config, mqtt=replace(config.mqtt, receive_maximum=config.receive_maximum))
        self.client = create_client(config.mqtt, self._status_topic, manual_ack=True, max_inflight=0)
        output_login = f"{config.mqtt.username}{OUTPUT_SUFFIX}"  # the account's twin (broker/accounts.py)
        self._output_settings = replace(
            config.mqtt, username=output_login, client_id=output_login, session_expiry_s=0, receive_maximum=0
        )
        self.output = create_client(self._output_settings, None, max_inflight=0)
        self._input_link = Link(self.client, config.instance)
        self._output_link = Link(self.output, output_login)
        self._links = (self._output_link, self._input_link)  # confirmations first: they free the window
        self.ledger = AckLedger(self._ack)
        self.client.on_message = self._on_message
        self.client.on_unsubscribe = self._on_unsubscribe
        self.output.on_message = self._on_state_message
        self.output.on_publish = self._on_publish
        self._sync_topic = self.topics.service_sync(config.instance)
        self._sync_token = b""
        self._synced = False  # the registers and statuses have arrived since the output's last connect
        self._sync_deadline = 0.0
        self._thread = threading.Thread(target=self._run, name="worker-loop", daemon=True)

    @property
    def share_filter(self) -> str:
        readings = self.topics.all_readings_any_depth()  # bad extra levels too, to reject them
        return self.topics.shared(self.config.share_group, readings)

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        return [
            (self.share_filter, 1),
            (self.topics.all_service_statuses(), 1),  # which peers are online (see _shut_down)
        ]

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
        """Graceful stop (see `_shut_down`): leave the group if a peer stays, else keep the session."""
        self._hurry.set()
        self._stop.set()
        self._thread.join(timeout=2 * STOP_STEP_S + self.config.leave_drain_s + 2 * STOP_DRAIN_S + 2)

    def _announce_online(self) -> None:
        self._connections += 1
        self._subscribe_owned(sorted(self.ownership.owned))  # a session lost with the broker lost them too
        publish_status(self.client, self._status_topic, "online")  # not an output: no ledger entry

    # -- paho callbacks (on the loop thread, from Link.read) -----------------------------

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        topic = message.topic  # decoded by paho on each access
        if topic.endswith(_ALERTS_SUFFIX):
            self._ack(message.mid, message.qos)  # the registers say it all (see state_subscriptions)
            return
        if self.topics.is_service_topic(topic):
            self._observe_status(topic, message)
            return
        if self._routed and not _owned_copy(message) and _machine_of(self.topics, topic) in self._routed:
            self.routed_away += 1  # its owner gets its own copy
            self._ack(message.mid, message.qos)
            return
        self.metrics.received += 1
        self._inbox.append(_Queued(Incoming(topic, bytes(message.payload)), message.mid, message.qos, time.monotonic()))

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

    def _observe_status(self, topic: str, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        try:
            service = self.topics.parse_service_status(topic)
        except ValueError:
            service = None  # not a status: nothing to learn from it
        if service == self.config.instance and not message.retain:
            self._echoes.add(payload)  # a marker of ours came back: what was queued before it is here
        elif service is not None:
            self.peers.saw(service, payload)
        self._ack(message.mid, message.qos)

    def _on_unsubscribe(
        self, _client: mqtt.Client, _userdata: object, mid: int, reasons: list[ReasonCode], _props: object
    ) -> None:
        if mid == self._group_unsubscribe:  # not an owned machine's
            self._unsubscribed = not any(reason.is_failure for reason in reasons)

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
        next_route = 0.0
        next_sweep = time.monotonic() + ALERT_SWEEP_S
        while not self._stop.is_set():
            self._step(IDLE_WAIT_S)
            now = time.monotonic()
            if now >= next_route:
                self._route(now)
                next_route = now + ROUTE_EVERY_S
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

    def _step(self, idle_wait: float) -> None:
        """Serve the network, publish what is scored, score a batch once it is due."""
        self._serve_network(self._batch_due_in() if self._has_work() else idle_wait)
        self._publish_scored()
        if self._has_work() and self._batch_due_in() == 0.0:
            self._score(self._take_batch())
            self._publish_scored()

    def _batch_due_in(self) -> float:
        """Seconds until the inbox should be scored: 0 when it holds a full batch or its oldest
        reading has waited FOREWARN_BATCH_WAIT_MS.

        A batch costs about as much to score, publish and confirm for one reading as for
        dozens (the model call, the flush, the wake-ups), so a short wait for company
        cuts the worker's CPU per reading by about a third at 1,000 readings/s (docs/SCALING.md).
        """
        if len(self._inbox) >= self.config.max_batch:
            return 0.0
        return max(0.0, self._inbox[0].received + self.config.batch_wait_s - time.monotonic())

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
        if self.config.score_delay_ms and self._hurry.wait(self.config.score_delay_ms * len(batch) / 1000):
            # Tests only (a model this much slower per reading), stopping: the batch goes back,
            # unscored and unacknowledged, for the next batch or for whoever resumes the session.
            self._inbox.extendleft(reversed(batch))
            return
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
        self.metrics.shadow += len(result.shadow)
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

    # -- stopping ------------------------------------------------------------------------

    def _shut_down(self) -> None:
        """Say offline; leave the group for good if a peer stays in it, else keep the session."""
        connected = self._input_link.connected
        if self.failed or not connected or not self.peers.online():
            # Scoring broken, no broker, or alone: keep the session, and what is queued for it.
            if connected and not self.failed:
                log.info("stopping: no other worker online, keeping the session so readings queue for it")
            self._finish(end_session=False, status=self._publish_marker() if connected else None)
            return
        connections, leave = self._connections, False
        self._hurry.clear()  # from here on every batch is scored: a leaver hands nothing back
        peers = self._announce_offline()
        if peers:
            log.info("stopping for good: leaving group %s to %s", self.config.share_group, ", ".join(peers))
            leave = self._leave_group()
            if leave and connections != self._connections:  # a reconnect subscribed again meanwhile
                log.warning("reconnected while leaving: keeping the session (the same id drains it)")
                leave = False
        else:
            log.info("stopping: the other workers are stopping too, keeping the session so readings queue for it")
        self._hurry.set()
        self._finish(end_session=leave)

    def _announce_offline(self) -> list[str]:
        """Publish our offline status and wait for it to come back; then the peers still online.

        The broker orders the statuses of workers stopping together: the last of them to get
        its own status back sees the others offline and keeps its session. No answer in time
        (a lost link, a backlog ahead of it): [] and the session is kept.
        """
        if not self._wait_for(self._publish_marker(), lambda: True, STOP_STEP_S):
            return []
        return self.peers.online()

    def _leave_group(self) -> bool:
        """Unsubscribe, then score and acknowledge everything queued before that; True when done."""
        self._group_unsubscribe = self.client.unsubscribe(self.share_filter)[1]
        if not self._wait(lambda: self._unsubscribed is not None, STOP_STEP_S) or not self._unsubscribed:
            log.warning("the broker did not confirm the unsubscription: keeping the session")
            return False
        marker = self._publish_marker()  # after the UNSUBACK: nothing queues for us behind it
        received = self.metrics.received

        def settled() -> bool:  # nothing held, nothing unconfirmed: every reading acknowledged
            return not self._inbox and self._scored is None and not self.ledger.unconfirmed_batches

        if not self._wait_for(marker, settled, self.config.leave_drain_s):
            log.warning(
                "stopping: %d readings still held after %.0f s; keeping the session (the same id drains it)",
                len(self._inbox) + self.ledger.unconfirmed_batches,
                self.config.leave_drain_s,
            )
            return False
        log.info("left the group after scoring %d readings queued for it", self.metrics.received - received)
        return True

    def _publish_marker(self) -> bytes:
        """Our offline status, unique: when the broker sends it back, everything queued before it is here."""
        payload = Status("offline").to_json()
        while payload in self._echoes:  # the same millisecond as the last one
            time.sleep(0.001)
            payload = Status("offline").to_json()
        self.client.publish(self._status_topic, payload, qos=1, retain=True)
        return payload

    def _wait_for(self, marker: bytes, done: Callable[[], bool], timeout: float) -> bool:
        return self._wait(lambda: marker in self._echoes and done(), timeout)

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Keep working (scoring included) until `condition` holds; False after `timeout` or on a lost link."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline or not self._input_link.connected:
                return False
            self._step(STEP_WAIT_S)
        return True

    def _finish(self, end_session: bool, status: bytes | None = None) -> None:
        """Publish what is scored, wait a little for its confirmations (and for `status`'s echo), disconnect.

        `end_session`: the DISCONNECT sets the session expiry to 0, so the broker drops the
        session (we are out of the group and hold nothing); otherwise it keeps it.
        """
        deadline = time.monotonic() + STOP_DRAIN_S

        def pending() -> bool:
            outputs = (self._scored or self.ledger.unconfirmed_batches) and self._output_link.connected
            return bool(outputs) or (status is not None and status not in self._echoes and self._input_link.connected)

        while pending() and time.monotonic() < deadline:
            self._publish_scored()
            self._serve_network(STEP_WAIT_S)
        if end_session:
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0
            self._input_link.close(properties)
            self.left_group = True
        else:
            self._input_link.close()
        self._output_link.close()
        deadline = time.monotonic() + 1.0
        while not all(link.closed for link in self._links) and time.monotonic() < deadline:
            self._serve_network(STEP_WAIT_S)

    def _route(self, now: float) -> None:
        """Subscribe to the windowed machines this worker now owns, unsubscribe from those it handed over."""
        profiles = self.registry.profiles()
        machines = frozenset(
            machine for machine, profile_id in self.registry.bindings().items()
            if (profile := profiles.get(profile_id)) is not None and routed(profile)
        )  # fmt: skip
        self._routed = machines
        if not self._input_link.connected:
            return
        subscribe, unsubscribe = self.ownership.plan(machines, self.peers.online(), now)
        self._subscribe_owned(subscribe)
        if unsubscribe:
            self.client.unsubscribe([self.topics.readings(machine) for machine in unsubscribe])
        if subscribe or unsubscribe:
            log.info(
                "windowed machines: now scoring %d (+%d, -%d)",
                len(self.ownership.owned),
                len(subscribe),
                len(unsubscribe),
            )

    def _subscribe_owned(self, machines: list[str]) -> None:
        if not machines:
            return
        properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
        properties.SubscriptionIdentifier = OWNED_SUBSCRIPTION
        self.client.subscribe([(self.topics.readings(machine), 1) for machine in machines], properties=properties)

    def _maybe_swap_model(self) -> None:
        """Hot swap, per profile: between two batches, so no reading is lost or scored twice.

        The champion and the challenger both follow their pointers (model/roles.py): a
        promotion or a rollback is a pointer move, picked up here. Whatever fails (an
        unreadable pointer, a broken new version), the champion in service stays
        (inference_worker/models.py logs it once per version).
        """
        self.models.refresh()


def _owned_copy(message: mqtt.MQTTMessage) -> bool:
    """Whether the broker sent this message for an owned machine's subscription (not the share group's)."""
    properties = message.properties
    return OWNED_SUBSCRIPTION in (getattr(properties, "SubscriptionIdentifier", None) or ())


@functools.lru_cache(maxsize=65536)
def _machine_of(topics: Topics, topic: str) -> str | None:
    return topics.machine_id_of(topic)
