"""The worker's MQTT adapter: paho's thread only enqueues, one scoring thread does the rest.

Readings arrive through the MQTT 5 shared subscription `$share/<group>/...`, so
starting another worker splits the load. Acknowledgements are manual: a reading is
acknowledged once the broker confirmed everything its batch produced (see ledger.py).

Back-pressure: Mosquitto 2.0.11 keeps to our MQTT 5 Receive Maximum only until we
acknowledge: each PUBACK of the oldest message in flight lets a whole Receive Maximum
more in, so with a backlog it pushes all of it at once. The inbox is therefore bounded
(FOREWARN_RECEIVE_MAXIMUM) and paho's thread waits while it is full, which stops reading
the socket (TCP holds the rest on the broker). Outputs go out on a second connection of
their own, so their confirmations never queue behind readings on the paused one.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from common.mqtt import connect_client, create_client, publish_status
from contract import Alert, Channel, utc_now_iso
from inference_worker.alerts import AlertTracker
from inference_worker.config import WorkerConfig
from inference_worker.core import BatchProcessor, Incoming
from inference_worker.ledger import AckLedger
from inference_worker.metrics import WorkerMetrics
from model.artifact import current_version, load_model
from model.explain import explainer_of
from model.scoring import Scorer

log = logging.getLogger(__name__)

# Outputs published and not yet confirmed: the Receive Maximum Mosquitto advertises
# (its max_inflight_messages, 1000 in mosquitto.conf). paho could enforce it
# (max_inflight), but then scans every unconfirmed message on each PUBACK: 17 % of the
# worker's time at 1,000 in flight. So paho's bound is off and _OutputWindow keeps it.
OUTPUT_WINDOW = 1000
WINDOW_WAIT_S = 5.0  # never stall for good on a confirmation that will not come


@dataclass(frozen=True, slots=True)
class _Queued:
    message: Incoming
    mid: int
    qos: int


class _OutputWindow:
    """Counts unconfirmed outputs; the scoring thread waits while the window is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._used = 0
        self._freed = threading.Condition()

    def take(self, count: int) -> None:
        with self._freed:
            self._freed.wait_for(lambda: self._used + count <= self.size or self._used == 0, WINDOW_WAIT_S)
            self._used += count

    def give_back(self) -> None:
        with self._freed:
            if self._used > 0:  # status publishes were never taken
                self._used -= 1
                self._freed.notify()


class Worker:
    """Owns the MQTT client, the scoring thread and the model in service."""

    def __init__(self, config: WorkerConfig, scorer: Scorer) -> None:
        self.config = config
        self.topics = config.topics
        self.metrics = WorkerMetrics()
        explainer_for = functools.lru_cache(maxsize=4)(functools.partial(explainer_of, config.models_dir))
        self.processor = BatchProcessor(self.topics, scorer, AlertTracker(config.clear_after), utc_now_iso,
                                        explainer_for=explainer_for)
        self._inbox: queue.Queue[_Queued | Alert] = queue.Queue(maxsize=config.receive_maximum)
        self._stop = threading.Event()
        self._status_topic = self.topics.service_status(config.instance)
        if not config.mqtt.receive_maximum:  # FOREWARN_RECEIVE_MAXIMUM bounds the readings we hold
            self.config = config = replace(config, mqtt=replace(config.mqtt, receive_maximum=config.receive_maximum))
        self.client = create_client(config.mqtt, self._status_topic, manual_ack=True, max_inflight=0)
        self._output_settings = replace(config.mqtt, client_id=f"{config.instance}-out", session_expiry_s=0,
                                        receive_maximum=0)
        self.output = create_client(self._output_settings, None, max_inflight=0)
        self._window = _OutputWindow(OUTPUT_WINDOW)
        self.ledger = AckLedger(self.client.ack)
        self.client.on_message = self._on_message
        self.output.on_publish = self._on_publish
        self._thread = threading.Thread(target=self._run, name="scorer", daemon=True)

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        readings = f"{self.topics.all_of(Channel.READINGS)}/#"  # '#' also catches bad extra levels
        return [
            (self.topics.shared(self.config.share_group, readings), 1),
            (self.topics.all_of(Channel.ALERTS), 1),  # peers' alerts keep every tracker in step
        ]

    def start(self) -> None:
        self._thread.start()
        connect_client(self.output, self._output_settings)
        connect_client(self.client, self.config.mqtt, subscriptions=self.subscriptions,
                       on_connected=self._announce_online)

    def stop(self) -> None:
        """Graceful stop: say offline, let in-flight confirmations land, disconnect."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.client.is_connected():
            publish_status(self.client, self._status_topic, "offline").wait_for_publish(timeout=2)
        for client in (self.client, self.output):
            client.disconnect()
            client.loop_stop()

    def _announce_online(self) -> None:
        publish_status(self.client, self._status_topic, "online")  # not an output: no ledger entry

    # -- paho's network thread: decode nothing, just hand off ---------------------------

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith(f"/{Channel.ALERTS.value}"):
            self._observe_alert(message)
            return
        self.metrics.received += 1
        self._hand_off(_Queued(Incoming(message.topic, bytes(message.payload)), message.mid, message.qos))

    def _hand_off(self, item: _Queued | Alert) -> None:
        """Wait for room in the inbox (this pauses reading); give up only when stopping (no ack: redelivered)."""
        while not self._stop.is_set():
            try:
                self._inbox.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _observe_alert(self, message: mqtt.MQTTMessage) -> None:
        try:
            self._hand_off(Alert.from_json(bytes(message.payload)))
        except (ValueError, TypeError):
            log.warning("ignored a malformed alert on %s", message.topic)
        finally:
            self.client.ack(message.mid, message.qos)

    def _on_publish(self, _client: mqtt.Client, _userdata: object, mid: int,
                    reason: ReasonCode, _props: object) -> None:
        if reason.is_failure:
            self.metrics.publish_refused += 1
            log.error("broker refused an output (mid %d): %s", mid, reason)
        self._window.give_back()
        self.ledger.confirmed(mid)

    # -- the scoring thread --------------------------------------------------------------

    def _run(self) -> None:
        next_stats = time.monotonic() + self.config.stats_interval_s
        next_model_check = time.monotonic() + self.config.model_poll_s
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                self._process(batch)
            now = time.monotonic()
            if now >= next_stats:
                log.info("%s acked=%d unconfirmed_batches=%d", self.metrics.summary_and_reset_window(),
                         self.ledger.acked, self.ledger.unconfirmed_batches)
                next_stats = now + self.config.stats_interval_s
            if now >= next_model_check:
                self._maybe_swap_model()
                next_model_check = now + self.config.model_poll_s

    def _take_batch(self) -> list[_Queued]:
        """Block briefly for the first message, then take whatever else is already waiting."""
        batch: list[_Queued] = []
        try:
            item = self._inbox.get(timeout=0.2)
            while True:
                if isinstance(item, Alert):
                    self.processor.tracker.observe(item)
                else:
                    batch.append(item)
                if len(batch) >= self.config.max_batch:
                    break
                item = self._inbox.get_nowait()
        except queue.Empty:
            pass
        return batch

    def _process(self, batch: list[_Queued]) -> None:
        if self.config.score_delay_ms:  # tests only: a model this much slower per reading
            time.sleep(self.config.score_delay_ms * len(batch) / 1000)
        try:
            result = self.processor.process([q.message for q in batch])
        except Exception:  # a bug must not take the service down; the readings stay unacked
            log.exception("batch of %d failed; readings left unacknowledged for redelivery", len(batch))
            return
        outgoing = result.outgoing(self.topics)
        self._window.take(len(outgoing))
        publish = self.output.publish
        mids = [publish(o.topic, o.payload, qos=1).mid for o in outgoing]
        self.metrics.published += len(mids)
        self.ledger.register([(q.mid, q.qos) for q in batch], mids)
        newest = result.predictions[-1].ts if result.predictions else None
        self.metrics.count_batch(len(batch), len(result.predictions), [r.reason for _, r in result.rejections],
                                 len(result.alerts), newest)
        for machine, rejection in result.rejections:
            log.warning("rejected reading on %s (%s): %s", rejection.topic, rejection.reason, rejection.detail)
            if machine is None:
                log.warning("no machine to report the rejection to: %s", rejection.topic)

    def _maybe_swap_model(self) -> None:
        """Hot swap: between two batches, so no reading is lost or scored twice."""
        try:
            version = current_version(self.config.models_dir)
            if version and version != self.processor.scorer.version:
                self.processor.scorer = Scorer(load_model(self.config.models_dir, version, defer_pipeline=True))
                log.info("now serving model %s", version)
        except Exception as exc:  # a broken new model must not stop the one in service
            log.error("model %s not swapped in: %s", version, exc)
