"""Decode, validate and score a micro-batch of readings; no I/O.

Each reading is validated against its machine's profile (the registry's binding; a machine
bound to nothing is rejected as `unknown_profile`) and scored by that profile's model: one
vectorised model call per profile in the batch. The forest costs about the same for 1 row as
for a few hundred, so batching is where the throughput comes from. A profile without a
model yet gives `unscored` predictions: the reading is kept and shown, never dropped.

A profile may also run a challenger model in shadow (model/roles.py): the same readings
are scored by it too, after the champion, into `shadow` predictions (``Prediction.shadow``,
its own ``model_version``) that are published on the machine's shadow topic and never reach
the alert tracker. A challenger that fails while scoring costs its shadow predictions of
that batch, never the champion's.

The models reach the core through two small protocols, `Scorer` and `Explains`: the
worker serves model.scoring.ModelScorer and model.explain.Explainer, unit tests fakes.
A profile served by a RUL or anomaly model has a SeriesServer instead
(inference_worker/series.py): it keeps each machine's windows and says `rul` or
`anomaly_score`; its predictions carry `model_kind` and no failure probability.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from contract import (
    Alert,
    AlertRegister,
    Channel,
    InvalidReading,
    Prediction,
    Profile,
    Reading,
    Rejection,
    Topics,
    parse_ts,
    reading_parser,
)
from contract.registry import UnknownProfile
from inference_worker.alerts import AlertTracker
from inference_worker.early_warning import CounterForecaster, Forecast
from inference_worker.quota import SensorQuota
from inference_worker.series import SeriesOutcome, SeriesServer
from model.engineering import FeatureSpec
from model.scoring import ScoreBatch

EXCERPT_CHARS = 200

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """One model version of one profile, scoring raw matrices of its spec (see model/scoring.py)."""

    version: str
    threshold: float
    spec: FeatureSpec  # the raw columns and features of the profile it was trained for

    def score(self, raw: np.ndarray) -> ScoreBatch: ...


class Explains(Protocol):
    """Explanations of raw rows by one model version (see model/explain.py)."""

    def explain(self, raw: np.ndarray) -> list[dict[str, Any]]: ...


ProfileLookup = Callable[[str], Profile]  # machine id -> profile; raises UnknownProfile
ScorerLookup = Callable[[Profile], Scorer | SeriesServer | None]  # profile -> its model in service, if any
ChallengerLookup = Callable[[Profile], Scorer | None]  # profile -> its challenger (a classifier), if any


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the broker delivered it."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass
class BatchResult:
    """Everything one batch produced, in publishing order."""

    predictions: list[Prediction] = field(default_factory=list)
    shadow: list[Prediction] = field(default_factory=list)  # the challengers' (never alert)
    rejections: list[tuple[str | None, Rejection]] = field(default_factory=list)  # to publish
    alerts: list[Alert] = field(default_factory=list)
    rate_limited: Counter[str] = field(default_factory=Counter)  # per machine, reported or not
    registers: list[AlertRegister] = field(default_factory=list)  # the alerts' retained registers

    def rejection_counts(self) -> Counter[str]:
        """Rejected readings by reason; every rate-limited one counts, reported or not."""
        counts: Counter[str] = Counter(r.reason for _, r in self.rejections if r.reason != "rate_limited")
        if self.rate_limited:
            counts["rate_limited"] = self.rate_limited.total()
        return counts

    def outgoing(self, topics: Topics) -> list[Outgoing]:
        out = [Outgoing(_predictions_topic(topics, p.machine_id), p.to_json()) for p in self.predictions]
        out += [Outgoing(_shadow_topic(topics, p.machine_id), p.to_json()) for p in self.shadow]
        out += alert_outgoing(topics, self.alerts, self.registers)
        out += [Outgoing(topics.rejected(m), r.to_json()) for m, r in self.rejections if m is not None]
        return out


def alert_outgoing(topics: Topics, events: list[Alert], registers: list[AlertRegister]) -> list[Outgoing]:
    """Alert events for their consumers, then the registers (retained) for the workers.

    Events first: a worker that restarts in between finds the register not yet written and
    decides again, with the same deterministic alert id.
    """
    out = [Outgoing(topics.alerts(a.machine_id), a.to_json()) for a in events]
    for register in registers:
        event = register.event()
        out.append(Outgoing(topics.alert_state(event.machine_id, event.kind), register.to_json(), retain=True))
    return out


# Topic strings are parsed and built once per machine, not per message (the name checks
# behind them are regular expressions). Invalid topics raise, and exceptions are not cached.
@functools.lru_cache(maxsize=65536)
def _predictions_topic(topics: Topics, machine_id: str) -> str:
    return topics.predictions(machine_id)


@functools.lru_cache(maxsize=65536)
def _shadow_topic(topics: Topics, machine_id: str) -> str:
    return topics.shadow(machine_id)


@functools.lru_cache(maxsize=65536)
def _readings_machine(topics: Topics, topic: str) -> str:
    ref = topics.parse(topic)
    if ref.channel is not Channel.READINGS:
        raise ValueError(f"topic {topic!r} is not a readings topic")
    return ref.machine_id


def status_of(reading: Reading, probability: float | None, threshold: float | None) -> str:
    """'failure' when the machine says so, 'predictive' when the model does, 'unscored' without one."""
    if reading.failure == 1:
        return "failure"
    if probability is None or threshold is None:
        return "unscored"
    return "predictive" if probability >= threshold else "normal"


@dataclass(slots=True)
class _Valid:
    machine_id: str
    reading: Reading
    profile: Profile
    profile_id: str  # the profile's id, read once (a pydantic attribute costs more than a slot)
    probability: float | None = None
    mode: str | None = None
    scorer: Scorer | None = None
    server: SeriesServer | None = None  # a RUL or anomaly model scored it
    outcome: SeriesOutcome | None = None


@dataclass(frozen=True, slots=True)
class _Arrival:
    """The clocks of one batch, read once: all its messages arrived together."""

    received_at: str  # wall clock, RFC 3339
    now: datetime | None  # the same as a datetime, when future readings are refused
    tick: float  # monotonic seconds, for the quotas


class BatchProcessor:
    """Turns a batch of raw messages into predictions, alerts and rejections.

    `max_future_s`: readings dated further ahead of `clock` are rejected (None: no check).
    `quota`: readings of a machine beyond its quota are rejected as ``rate_limited`` before
    they are even parsed (None: no quota); `monotonic` is the quota's clock.
    """

    def __init__(  # noqa: PLR0917 - the worker's wiring, in one place
        self,
        topics: Topics,
        scorers: ScorerLookup,
        tracker: AlertTracker,
        clock: Callable[[], str],
        profile_of: ProfileLookup,
        explainer_for: Callable[[Scorer], Explains | None] = lambda _scorer: None,
        forecaster: CounterForecaster | None = None,
        *,
        max_future_s: float | None = None,
        quota: SensorQuota | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        challengers: ChallengerLookup = lambda _profile: None,
    ) -> None:
        self.topics = topics
        self.scorers = scorers
        self.tracker = tracker
        self.clock = clock
        self.profile_of = profile_of
        self.explainer_for = explainer_for  # model -> its explainer (follows hot swaps)
        self.forecaster = forecaster or CounterForecaster()
        self.max_future_s = max_future_s
        self.quota = quota
        self.monotonic = monotonic
        self.challengers = challengers
        self.shadow_failures = 0  # batches of a profile whose challenger raised (champion unaffected)

    def process(self, batch: Sequence[Incoming]) -> BatchResult:
        result = BatchResult()
        received_at = self.clock()
        now = parse_ts(received_at) if self.max_future_s is not None else None
        arrival = _Arrival(received_at, now, self.monotonic())
        valid: list[_Valid] = []
        for message in batch:
            decoded = self._decode(message, arrival, result)
            if isinstance(decoded, Rejection):
                result.rejections.append((self.topics.machine_id_of(message.topic), decoded))
            elif decoded is not None:
                valid.append(decoded)
        if valid:
            self._score(valid, result)
        return result

    def _decode(self, message: Incoming, arrival: _Arrival, result: BatchResult) -> _Valid | Rejection | None:
        """The reading, or its rejection; None for a rate-limited reading that is not reported."""
        try:
            machine_id = _readings_machine(self.topics, message.topic)
        except ValueError as exc:
            return self._rejection(message, arrival, "bad_topic", str(exc), None)
        if self.quota is not None and (refusal := self.quota.take(machine_id, arrival.tick)) is not None:
            result.rate_limited[machine_id] += 1
            if not refusal.report:
                return None
            detail = f"over the quota of {self.quota.describe()}: {refusal.report} refused since the last report"
            return self._rejection(message, arrival, "rate_limited", detail, None)
        try:
            profile = self.profile_of(machine_id)
        except UnknownProfile as exc:
            return self._rejection(message, arrival, "unknown_profile", exc.detail, None)
        try:
            ahead = self.max_future_s or 0.0  # only compared when arrival.now is set
            reading = reading_parser(profile).parse(message.payload, machine_id, now=arrival.now, max_future_s=ahead)
        except InvalidReading as exc:
            return self._rejection(message, arrival, exc.reason, exc.detail, exc.field)
        return _Valid(machine_id, reading, profile, reading.profile or profile.id)

    def _rejection(
        self, message: Incoming, arrival: _Arrival, reason: str, detail: str, field_name: str | None
    ) -> Rejection:
        excerpt = message.payload[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        return Rejection(
            reason=reason,  # type: ignore[arg-type]
            detail=detail,
            topic=message.topic,
            received_at=arrival.received_at,
            field=field_name,
            reading_id=_reading_id_hint(message.payload),
            payload_excerpt=excerpt,
        )

    def _score(self, valid: list[_Valid], result: BatchResult) -> None:
        groups: dict[str, list[_Valid]] = {}
        for item in valid:
            groups.setdefault(item.profile_id, []).append(item)
        raws = {profile_id: self._score_group(group) for profile_id, group in groups.items()}
        scored_at = self.clock()
        for profile_id, group in groups.items():
            result.shadow.extend(self._shadow_group(group, scored_at, raws[profile_id]))
        forecaster = self.forecaster
        warnings = [forecaster.update(v.machine_id, v.reading, v.profile) for v in valid]
        predictions = [_prediction(v, scored_at) for v in valid]
        self._explain(valid, predictions, warnings, raws)
        for prediction, warning in zip(predictions, warnings, strict=True):
            result.predictions.append(prediction)
            early = warning.as_dict() if warning else None
            result.alerts.extend(self.tracker.update(prediction, scored_at, early))
        result.registers.extend(self.tracker.take_registers())

    def _score_group(self, group: list[_Valid]) -> np.ndarray | None:
        """Score one profile's readings with its model; None when the profile has none."""
        scorer = self.scorers(group[0].profile)
        if scorer is None:
            return None
        if isinstance(scorer, SeriesServer):
            outcomes = scorer.score([v.machine_id for v in group], [v.reading for v in group])
            for item, outcome in zip(group, outcomes, strict=True):
                item.server, item.outcome = scorer, outcome
            return None  # explained as it was scored
        raw = scorer.spec.raw_matrix([v.reading.values for v in group])
        scores = scorer.score(raw)
        for item, probability, mode in zip(
            group, scores.failure_probability.tolist(), scores.predicted_mode, strict=True
        ):
            item.probability, item.mode, item.scorer = probability, mode, scorer
        return raw

    def _shadow_group(self, group: list[_Valid], scored_at: str, champion_raw: np.ndarray | None) -> list[Prediction]:
        """The challenger's predictions of one profile's readings (none without one, or if it fails).

        `champion_raw`: the champion's raw matrix of the group, reused when the challenger reads
        the same spec (models trained on one profile definition share it, see spec_of_card).
        """
        challenger = self.challengers(group[0].profile)
        if challenger is None:
            return []
        champion = group[0].scorer
        raw = champion_raw if champion is not None and champion.spec is challenger.spec else None
        try:
            if raw is None:
                raw = challenger.spec.raw_matrix([v.reading.values for v in group])
            scores = challenger.score(raw)
        except Exception:  # the challenger is on trial: its failure must not cost the champion's output
            self.shadow_failures += 1
            log.exception("challenger %s failed on a batch of %d readings", challenger.version, len(group))
            return []
        return [
            _shadow_prediction(item, challenger, probability, mode, scored_at)
            for item, probability, mode in zip(
                group, scores.failure_probability.tolist(), scores.predicted_mode, strict=True
            )
        ]

    def _explain(
        self,
        valid: list[_Valid],
        predictions: list[Prediction],
        warnings: list[Forecast | None],
        raws: dict[str, np.ndarray | None],
    ) -> None:
        """Explain only what needs it (predictive, failure, early warning): it costs ~0.1 ms a row."""
        wanted = [i for i, (p, w) in enumerate(zip(predictions, warnings, strict=True)) if p.status != "normal" or w]
        if not wanted:
            return
        by_profile: dict[str, list[int]] = {}
        for i in wanted:
            by_profile.setdefault(valid[i].profile_id, []).append(i)
        rows = _rows_in_group(valid)
        explanations: dict[int, dict[str, object]] = {}
        for profile_id, indices in by_profile.items():
            scorer, raw = valid[indices[0]].scorer, raws.get(profile_id)
            explainer = self.explainer_for(scorer) if scorer is not None and raw is not None else None
            found = explainer.explain(raw[[rows[i] for i in indices]]) if explainer and raw is not None else None
            explanations.update(zip(indices, found or [{} for _ in indices], strict=True))
        for i in wanted:
            explanation, warning = explanations[i], warnings[i]
            if valid[i].outcome is not None:  # explained as it was scored
                if warning is None:
                    continue
                explanation = dict(predictions[i].explanation or {})
            if warning is not None:
                explanation["early_warning"] = warning.as_dict()
            predictions[i] = replace(predictions[i], explanation=explanation or None)


def _rows_in_group(valid: list[_Valid]) -> list[int]:
    """Each reading's row in its profile's raw matrix (readings keep their order within a profile)."""
    seen: dict[str, int] = {}
    rows = []
    for item in valid:
        row = seen.get(item.profile_id, 0)
        rows.append(row)
        seen[item.profile_id] = row + 1
    return rows


def _prediction(item: _Valid, scored_at: str) -> Prediction:
    if item.server is not None and item.outcome is not None:
        return _series_prediction(item, item.server, item.outcome, scored_at)
    reading, scorer = item.reading, item.scorer
    probability = None if item.probability is None else round(item.probability, 4)
    threshold = scorer.threshold if scorer is not None else None
    return Prediction(
        reading_id=reading.reading_id,
        machine_id=item.machine_id,
        profile=item.profile_id,
        ts=reading.ts,
        scored_at=scored_at,
        status=status_of(reading, item.probability, threshold),  # type: ignore[arg-type]
        failure_probability=probability,
        predicted_mode=item.mode,
        model_version=scorer.version if scorer is not None else None,
        threshold=threshold,
        values=reading.values,
        failure=reading.failure,
        failure_description=reading.failure_description,
    )


def _series_prediction(item: _Valid, server: SeriesServer, outcome: SeriesOutcome, scored_at: str) -> Prediction:
    reading = item.reading
    status = "failure" if reading.failure == 1 else outcome.status
    rul = server.kind == "rul"
    return Prediction(
        reading_id=reading.reading_id,
        machine_id=item.machine_id,
        profile=item.profile_id,
        ts=reading.ts,
        scored_at=scored_at,
        status=status,  # type: ignore[arg-type]
        failure_probability=None,
        predicted_mode=None,
        model_version=server.version,
        threshold=None,
        values=reading.values,
        failure=reading.failure,
        failure_description=reading.failure_description,
        explanation=outcome.explanation,
        model_kind=server.kind,  # type: ignore[arg-type]
        rul=outcome.rul,
        rul_low=outcome.rul_low,
        rul_high=outcome.rul_high,
        rul_unit=server.unit if rul else None,
        rul_horizon=server.horizon if rul else None,
        anomaly_score=outcome.anomaly_score,
        anomaly_threshold=None if rul else server.threshold,
    )


def _shadow_prediction(
    item: _Valid, challenger: Scorer, probability: float, mode: str | None, scored_at: str
) -> Prediction:
    reading = item.reading
    return Prediction(
        reading_id=reading.reading_id,
        machine_id=item.machine_id,
        profile=item.profile_id,
        ts=reading.ts,
        scored_at=scored_at,
        status=status_of(reading, probability, challenger.threshold),  # type: ignore[arg-type]
        failure_probability=round(probability, 4),
        predicted_mode=mode,
        model_version=challenger.version,
        threshold=challenger.threshold,
        values=reading.values,
        failure=reading.failure,
        failure_description=reading.failure_description,
        shadow=True,
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
