"""Serving a RUL regressor or an anomaly detector: per-machine windows, scores, explanations; no I/O.

A :class:`SeriesServer` serves one model version of one profile (model/series_artifact.py).
It keeps one window state per machine (model/windows.py's MachineWindow, the same
arithmetic as training) and, for a batch of readings, pushes each reading onto its
machine's state in arrival order, computes the features of all of them at once and scores
them in one ONNX call.

Readings of a machine must come in order of the profile's order field (`model.order`, e.g.
the operating cycle): one worker owns each machine of a windowed profile
(inference_worker/ownership.py) and MQTT keeps a subscription's order. A reading whose
order is not above the last one applied (a redelivered duplicate, a late reading) does not
touch the windows and is published `unscored`; a reading whose order is at or below the
first one of the machine's current life starts a new life (the counter was reset: a new
engine, a rebuilt pump), and its windows start again.

Status: a RUL model says `predictive` when the RUL is under the card's horizon, an anomaly
detector when the score is above its threshold; `unscored` while the machine's windows
warm up (fewer readings than the card's `warmup`). A failure reported by the reading is
`failure` whatever the model says (the caller decides that, as for the classifier).

Explanations (predictive rows only, as for the classifier): the window features that move
the output most. A feature's contribution is the output minus the output with that
feature alone set back to its healthy mean (the card's `reference`, from training), for
the features furthest from it; positive means the feature raised the output (more cycles
left, or a higher anomaly score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from contract import Profile, Reading
from model.artifact import ModelError
from model.series import AnomalyScorer, RulScorer, SeriesFeatures
from model.series_artifact import SeriesModel
from model.windows import MachineWindow

__all__ = ["OrderedLife", "SeriesOutcome", "SeriesServer"]

TOP_CONTRIBUTIONS = 5
CANDIDATES = 8  # features furthest from healthy that are tried (one extra model row each)


class _Model(Protocol):
    """The ONNX scorer's raw output per feature row (RUL in units, or the anomaly score)."""

    def __call__(self, features: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class SeriesOutcome:
    """What a series model says about one reading (status before any reported failure)."""

    status: str  # "normal", "predictive" or "unscored"
    rul: float | None = None
    rul_low: float | None = None
    rul_high: float | None = None
    anomaly_score: float | None = None
    explanation: dict[str, Any] | None = None


class OrderedLife:
    """One machine's window state, and where its current life began."""

    __slots__ = ("first", "window")

    def __init__(self, window: MachineWindow) -> None:
        self.window = window
        self.first: float | None = None  # the order of the first reading of this life

    def accept(self, order: float) -> bool:
        """Prepare for a reading of `order`: False when it is not new (then it is not pushed).

        An order at or below the life's first starts a new life: the windows restart.
        """
        last = self.window.last_order
        if last is not None and order <= last:
            if self.first is None or order > self.first:
                return False  # a duplicate or a late reading
            self.window.reset()
        if self.window.last_order is None:
            self.first = order
        return True


class SeriesServer:
    """One RUL or anomaly model of one profile, with the window state of every machine it scores."""

    def __init__(  # noqa: PLR0917 - one model's serving parts, built by from_model or tests
        self,
        version: str,
        kind: str,
        profile_id: str,
        features: SeriesFeatures,
        order_field: str,
        model: _Model,
        *,
        horizon: float | None = None,
        unit: str | None = None,
        interval: Any = None,  # model.series.IntervalTable (rul)
        threshold: float | None = None,
        warmup: int | None = None,
        reference: tuple[np.ndarray, np.ndarray] | None = None,  # healthy (mean, sd) per feature
    ) -> None:
        if kind not in ("rul", "anomaly"):
            raise ValueError(f"not a series model kind: {kind!r}")
        self.version = version
        self.kind = kind
        self.profile_id = profile_id
        self.features = features
        self.order_field = order_field
        self.model = model
        self.horizon = horizon
        self.unit = unit
        self.interval = interval
        self.threshold = threshold
        self.warmup = features.spec.warmup if warmup is None else warmup
        self.reference = reference
        self.lives: dict[str, OrderedLife] = {}
        self._inputs = features.inputs

    @classmethod
    def from_model(cls, model: SeriesModel, profile: Profile) -> SeriesServer:
        """Serve a loaded model for `profile`; ModelError when it reads fields the profile lacks."""
        card = model.card
        _check_fields(model, profile)
        scorer = model.scorer()
        reference = _reference(card, len(model.features.names), model.version)
        if isinstance(scorer, RulScorer):
            return cls(
                model.version,
                "rul",
                profile.id,
                model.features,
                str(card["order"]),
                scorer.predict,
                horizon=float(card["horizon"]),
                unit=str(card.get("unit") or ""),
                interval=scorer.interval,
                warmup=int(card["features"].get("warmup", model.features.spec.warmup)),
                reference=reference,
            )
        assert isinstance(scorer, AnomalyScorer)
        return cls(
            model.version,
            "anomaly",
            profile.id,
            model.features,
            str(card["order"]),
            _anomaly_output(scorer),
            threshold=scorer.threshold,
            warmup=scorer.warmup,
            reference=reference,
        )

    def adopt(self, previous: SeriesServer) -> None:
        """Keep the machines' windows of the model this one replaces, when they are the same windows."""
        if previous.features.spec == self.features.spec and previous.order_field == self.order_field:
            self.lives = previous.lives

    def score(self, machine_ids: Sequence[str], readings: Sequence[Reading]) -> list[SeriesOutcome]:
        """Push each reading onto its machine's windows (in this order) and score them all at once."""
        n, spec = len(readings), self.features.spec
        windows = np.empty((n, len(spec.fields), spec.length))
        totals = np.empty((n, 5 + len(spec.baselines), len(spec.fields)))
        counts = np.empty(n, dtype=np.int64)
        accepted, taken_rows = [], 0
        inputs, order_field, lives = self._inputs, self.order_field, self.lives
        for machine_id, reading in zip(machine_ids, readings, strict=True):
            values = reading.values
            order = float(values[order_field])
            life = lives.get(machine_id)
            if life is None:
                life = lives[machine_id] = OrderedLife(self.features.state())
            window = life.window
            taken = life.accept(order) and window.push([values[name] for name in inputs], order)  # type: ignore[misc]
            accepted.append(taken)
            if taken:  # the window as it is right after this reading (a later one may move it)
                windows[taken_rows] = window.buffer
                totals[taken_rows] = window.totals
                counts[taken_rows] = window.count
                taken_rows += 1
        counts = counts[:taken_rows]
        rows = self.features.from_snapshots(windows[:taken_rows], counts, totals[:taken_rows])
        return self._outcomes(rows, counts, accepted, readings)

    def _outcomes(
        self, rows: np.ndarray, counts: np.ndarray, accepted: list[bool], readings: Sequence[Reading]
    ) -> list[SeriesOutcome]:
        outputs = self.model(rows) if len(rows) else np.zeros(0)
        warm = counts >= self.warmup
        if self.kind == "rul":
            low, high = self.interval.apply(outputs) if self.interval is not None else (outputs, outputs)
            flagged = warm & (outputs < float(self.horizon or 0.0))
        else:
            flagged = warm & (outputs > float(self.threshold or 0.0))
        wanted = [i for i in range(len(rows)) if flagged[i]]
        explained = dict(zip(wanted, self._explain(rows[wanted], outputs[wanted]), strict=True)) if wanted else {}
        outcomes: list[SeriesOutcome] = []
        row = 0
        for reading, taken in zip(readings, accepted, strict=True):
            if not taken:
                outcomes.append(SeriesOutcome("unscored", explanation=self._not_applied(reading)))
                continue
            i, row = row, row + 1
            if not warm[i]:
                outcomes.append(SeriesOutcome("unscored"))
                continue
            status = "predictive" if flagged[i] else "normal"
            if self.kind == "rul":
                outcomes.append(
                    SeriesOutcome(
                        status,
                        rul=_round(outputs[i]),
                        rul_low=_round(low[i]),
                        rul_high=_round(high[i]),
                        explanation=explained.get(i),
                    )
                )
            else:
                outcomes.append(SeriesOutcome(status, anomaly_score=_round(outputs[i]), explanation=explained.get(i)))
        return outcomes

    def _not_applied(self, reading: Reading) -> dict[str, Any]:
        order = reading.values[self.order_field]
        return {"text": f"{self.order_field} {order} is not after the last reading applied: not scored again"}

    def _explain(self, rows: np.ndarray, outputs: np.ndarray) -> list[dict[str, Any]]:
        """Top contributions per row: the output minus the output with one feature set back to healthy."""
        text = [self._sentence(float(output)) for output in outputs]
        if self.reference is None:
            return [{"text": t, "contributions": []} for t in text]
        mean, sd = self.reference
        z = np.abs(rows - mean) / np.where(sd > 0, sd, 1.0)
        candidates = np.argsort(-z, axis=1)[:, :CANDIDATES]
        n, k = candidates.shape
        changed = np.repeat(rows, k, axis=0)
        flat = candidates.reshape(-1)
        changed[np.arange(n * k), flat] = mean[flat]
        without = self.model(changed).reshape(n, k)
        contributions = outputs[:, None] - without
        names = self.features.names
        result = []
        for i in range(n):
            order = np.argsort(-np.abs(contributions[i]))[:TOP_CONTRIBUTIONS]
            shown = [
                {
                    "feature": names[candidates[i, j]],
                    "value": round(float(rows[i, candidates[i, j]]), 4),
                    "healthy": round(float(mean[candidates[i, j]]), 4),
                    "contribution": round(float(contributions[i, j]), 3),
                }
                for j in order
                if contributions[i, j] != 0.0
            ]
            result.append({"text": text[i], "contributions": shown})
        return result

    def _sentence(self, output: float) -> str:
        if self.kind == "rul":
            return f"{output:.0f} {self.unit} of useful life left, under the horizon of {self.horizon:g} {self.unit}"
        return f"anomaly score {output:.4g} above its threshold {self.threshold:.4g} (set from normal training data)"


def _anomaly_output(scorer: AnomalyScorer) -> _Model:
    def output(features: np.ndarray) -> np.ndarray:
        score, _flagged = scorer.score(features, np.zeros(len(features)))
        return score

    return output


def _round(value: float) -> float:
    return round(float(value), 3)


def _check_fields(model: SeriesModel, profile: Profile) -> None:
    """The model reads fields its profile has now (a profile may have changed since training)."""
    numeric = set(profile.numeric_names)
    wanted = [*model.features.inputs, str(model.card.get("order"))]
    missing = [name for name in wanted if name not in numeric]
    if missing:
        raise ModelError(
            f"model {model.version} reads {', '.join(repr(m) for m in missing)}, which profile {profile.id} "
            f"(version {profile.version}) has no numeric field for; refusing to serve it"
        )


def _reference(card: Mapping[str, Any], n_features: int, version: str) -> tuple[np.ndarray, np.ndarray] | None:
    entry = card.get("reference")
    if not isinstance(entry, Mapping):
        return None  # cards from before explanations: predictions say why in words only
    mean, sd = np.asarray(entry.get("mean"), dtype=np.float64), np.asarray(entry.get("sd"), dtype=np.float64)
    if mean.shape != (n_features,) or sd.shape != (n_features,):
        raise ModelError(f"model {version}: card reference has {mean.shape} values, not one per feature")
    return mean, sd
