"""The worker's MQTT adapter: paho's thread only enqueues, one scoring thread does the rest.

Readings arrive through the MQTT 5 shared subscription `$share/<group>/...`, so
starting another worker splits the load. Acknowledgements are manual: a reading is
acknowledged once the broker confirmed everything its batch produced (see ledger.py),
and the MQTT 5 Receive Maximum bounds how many unacknowledged readings we hold.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

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
from model.scoring import Scorer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Queued:
    message: Incoming
    mid: int
    qos: int


class Worker:
    """Owns the MQTT client, the scoring thread and the model in service."""

    def __init__(self, config: WorkerConfig, scorer: Scorer) -> None:
        self.config = config
        self.topics = config.topics
        self.metrics = WorkerMetrics()
        self.processor = BatchProcessor(self.topics, scorer, AlertTracker(config.clear_after), utc_now_iso)
        self._inbox: queue.SimpleQueue[_Queued | Alert] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._status_topic = self.topics.service_status(config.instance)
        self.client = create_client(config.mqtt, self._status_topic, manual_ack=True, max_inflight=1000)
        self.ledger = AckLedger(self.client.ack)
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
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
        connect_client(self.client, self.config.mqtt, subscriptions=self.subscriptions,
                       on_connected=self._announce_online)

    def stop(self) -> None:
        """Graceful stop: say offline, let in-flight confirmations land, disconnect."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.client.is_connected():
            publish_status(self.client, self._status_topic, "offline").wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def _announce_online(self) -> None:
        self.ledger.ignore(publish_status(self.client, self._status_topic, "online").mid)

    # -- paho's network thread: decode nothing, just hand off ---------------------------

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic.endswith(f"/{Channel.ALERTS.value}"):
            self._observe_alert(message)
            return
        self.metrics.received += 1
        self._inbox.put(_Queued(Incoming(message.topic, bytes(message.payload)), message.mid, message.qos))

    def _observe_alert(self, message: mqtt.MQTTMessage) -> None:
        try:
            self._inbox.put(Alert.from_json(bytes(message.payload)))
        except (ValueError, TypeError):
            log.warning("ignored a malformed alert on %s", message.topic)
        finally:
            self.client.ack(message.mid, message.qos)

    def _on_publish(self, _client: mqtt.Client, _userdata: object, mid: int,
                    reason: ReasonCode, _props: object) -> None:
        if reason.is_failure:
            self.metrics.publish_refused += 1
            log.error("broker refused an output (mid %d): %s", mid, reason)
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
                log.info("%s", self.metrics.summary_and_reset_window())
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
        try:
            result = self.processor.process([q.message for q in batch])
        except Exception:  # a bug must not take the service down; the readings stay unacked
            log.exception("batch of %d failed; readings left unacknowledged for redelivery", len(batch))
            return
        outgoing = result.outgoing(self.topics)
        mids = [self.client.publish(o.topic, o.payload, qos=1).mid for o in outgoing]
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
                self.processor.scorer = Scorer(load_model(self.config.models_dir, version))
                log.info("now serving model %s", version)
        except Exception as exc:  # a broken new model must not stop the one in service
            log.error("model %s not swapped in: %s", version, exc)
