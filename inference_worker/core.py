"""Decode, validate and score a micro-batch of readings; no I/O.

One vectorised model call per batch: the forest costs about the same for 1 row as for
a few hundred, so batching is where the throughput comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from contract import Channel, InvalidReading, Prediction, Reading, Rejection, Topics, parse_reading
from inference_worker.alerts import AlertTracker
from model.features import raw_matrix
from model.scoring import Scorer

EXCERPT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the broker delivered it."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    payload: bytes


@dataclass
class BatchResult:
    """Everything one batch produced, in publishing order."""

    predictions: list[Prediction] = field(default_factory=list)
    rejections: list[tuple[str | None, Rejection]] = field(default_factory=list)
    alerts: list = field(default_factory=list)  # type: ignore[type-arg]

    def outgoing(self, topics: Topics) -> list[Outgoing]:
        out = [Outgoing(topics.predictions(p.machine_id), p.to_json()) for p in self.predictions]
        out += [Outgoing(topics.alerts(a.machine_id), a.to_json()) for a in self.alerts]
        out += [Outgoing(topics.rejected(m), r.to_json()) for m, r in self.rejections if m is not None]
        return out


def status_of(reading: Reading, probability: float, threshold: float) -> str:
    """'failure' when the machine says so, 'predictive' when the model does, else 'normal'."""
    if reading.failure == 1:
        return "failure"
    return "predictive" if probability >= threshold else "normal"


class BatchProcessor:
    """Turns a batch of raw messages into predictions, alerts and rejections."""

    def __init__(self, topics: Topics, scorer: Scorer, tracker: AlertTracker, clock: Callable[[], str]) -> None:
        self.topics = topics
        self.scorer = scorer
        self.tracker = tracker
        self.clock = clock

    def process(self, batch: Sequence[Incoming]) -> BatchResult:
        result = BatchResult()
        valid: list[tuple[str, Reading]] = []
        for message in batch:
            decoded = self._decode(message)
            if isinstance(decoded, Rejection):
                result.rejections.append((self.topics.machine_id_of(message.topic), decoded))
            else:
                valid.append(decoded)
        if valid:
            self._score(valid, result)
        return result

    def _decode(self, message: Incoming) -> tuple[str, Reading] | Rejection:
        try:
            ref = self.topics.parse(message.topic)
            if ref.channel is not Channel.READINGS:
                raise ValueError(f"topic {message.topic!r} is not a readings topic")
        except ValueError as exc:
            return self._rejection(message, "bad_topic", str(exc), None)
        try:
            return ref.machine_id, parse_reading(message.payload, ref.machine_id)
        except InvalidReading as exc:
            return self._rejection(message, exc.reason, exc.detail, exc.field)

    def _rejection(self, message: Incoming, reason: str, detail: str, field_name: str | None) -> Rejection:
        excerpt = message.payload[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        return Rejection(
            reason=reason, detail=detail, topic=message.topic, received_at=self.clock(),
            field=field_name, reading_id=_reading_id_hint(message.payload), payload_excerpt=excerpt,
        )

    def _score(self, valid: list[tuple[str, Reading]], result: BatchResult) -> None:
        readings = [reading for _, reading in valid]
        scores = self.scorer.score(raw_matrix(readings))
        scored_at = self.clock()
        threshold = self.scorer.threshold
        for (machine_id, reading), probability, mode in zip(
            valid, scores.failure_probability.tolist(), scores.predicted_mode, strict=True
        ):
            prediction = _prediction(machine_id, reading, probability, mode, scored_at, self.scorer.version, threshold)
            result.predictions.append(prediction)
            result.alerts.extend(self.tracker.update(prediction, scored_at))


def _prediction(  # noqa: PLR0917 - private builder called from one place
    machine_id: str, reading: Reading, probability: float, mode: str | None,
    scored_at: str, version: str, threshold: float,
) -> Prediction:
    return Prediction(
        reading_id=reading.reading_id, machine_id=machine_id, ts=reading.ts, scored_at=scored_at,
        status=status_of(reading, probability, threshold),  # type: ignore[arg-type]
        failure_probability=round(probability, 4), predicted_mode=mode, model_version=version,
        threshold=threshold, type=reading.type, air_temp_k=reading.air_temp_k,
        process_temp_k=reading.process_temp_k, rotational_speed_rpm=reading.rotational_speed_rpm,
        torque_nm=reading.torque_nm, tool_wear_min=reading.tool_wear_min, product_id=reading.product_id,
        failure=reading.failure, failure_description=reading.failure_description,
    )


def _reading_id_hint(payload: bytes) -> str | None:
    """The reading id of a rejected payload when it can be found cheaply, for tracing."""
    marker = b'"reading_id":'
    start = payload.find(marker)
    if start < 0 or len(payload) > 16 * 1024:
        return None
    rest = payload[start + len(marker) :].lstrip()[:130]
    if not rest.startswith(b'"'):
        return None
    end = rest.find(b'"', 1)
    return rest[1:end].decode("utf-8", errors="replace") if end > 0 else None
