"""Train a profile's model on the plant's own history: stored readings, labelled (training/labels.py).

1. Read the profile's stored readings, alerts, verdicts and maintenance log (training/history.py)
   and label them; a history without a single label from a reading, a verdict or the log is
   refused (assumed-normal readings alone teach nothing).
2. Split in time, never at random: the oldest 80 % train, the newest 20 % validate, so the
   figures say how the model does on readings it could not have seen, like in service.
3. Choose the threshold out of time too: fit on the oldest 75 % of the training part, pick
   the threshold on its newest 25 % (training.modelling.choose_threshold), then fit on the
   whole training part.
4. Save the model with its ONNX export, explainer and a card whose ``data`` section says
   where every label came from (counts per source, what was left out and why), and point
   the profile's challenger (default) or champion at it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from api.rows import ms_to_ts
from contract import Profile
from model.artifact import NO_FAILURE, load_model, save_model
from model.engineering import feature_spec
from model.roles import Role, record_move, role_pointer
from training.dataset import Dataset, modes_of
from training.history import History, HistoryError
from training.labels import Labels, label_history
from training.metrics import binary_metrics
from training.modelling import Hyperparameters, choose_threshold, failure_probability, fit_pipeline
from training.train import _card, _serving_parts, validate

__all__ = ["HistoryTraining", "history_dataset", "train_from_history"]

log = logging.getLogger(__name__)

VALIDATION_FRACTION = 0.2
TUNING_FRACTION = 0.25
MIN_FAILURES = 5  # per part: fewer makes the threshold and the figures noise
LABEL_SOURCES_DOC = {
    "reported_failure": "the reading reported a failure (failure = 1)",
    "reported_no_failure": "the reading reported no failure (failure = 0)",
    "verdict:real_failure": "a verdict on an alert: real failure (its reading and those flagged while it was open)",
    "verdict:false_alarm": "an operator's verdict on an alert: false alarm (same readings)",
    "assumed_normal": "no report, no verdict, not just before a failure or a repair: assumed normal",
}


@dataclass(frozen=True)
class HistoryTraining:
    version: str
    card: dict[str, Any]
    role: str  # "challenger" or "current"
    seconds: float


def history_dataset(profile: Profile, labels: Labels) -> tuple[Dataset, np.ndarray]:
    """The labelled readings as a Dataset (time order) and their timestamps."""
    spec = feature_spec(profile)
    modes = modes_of(profile)
    rows = labels.rows
    raw = spec.raw_matrix([row.reading.values for row in rows])
    failure = np.array([row.failure for row in rows], dtype=np.int8)
    mode = np.array([row.mode if row.failure else NO_FAILURE for row in rows], dtype=object)
    flags = np.zeros((len(rows), len(modes)), dtype=bool)
    for i, row in enumerate(rows):
        if row.failure and row.mode in modes:
            flags[i, modes.index(row.mode)] = True
    ts = np.array([row.reading.ts_ms for row in rows], dtype=np.int64)
    return Dataset(raw, failure, mode, flags, modes=modes), ts


def train_from_history(  # noqa: PLR0917 - the CLI's options, in one place
    history: History,
    profile: Profile,
    models_dir: Path,
    seed: int,
    n_jobs: int = 1,
    as_challenger: bool = True,
    store: str = "",
    clear_after: int = 5,
) -> HistoryTraining:
    """Label, split in time, train, validate, save; HistoryError when the history cannot teach."""
    started = time.perf_counter()
    labels = label_history(
        profile, history.readings, history.alerts, history.verdicts, history.maintenance, clear_after=clear_after
    )
    _check_labels(history, labels)
    data, ts = history_dataset(profile, labels)
    cut = int(len(data) * (1 - VALIDATION_FRACTION))
    train_part, validation_part = data.subset(np.arange(cut)), data.subset(np.arange(cut, len(data)))
    _check_part(train_part, "training (oldest 80 %)", history.profile)
    _check_part(validation_part, "validation (newest 20 %)", history.profile)
    params = Hyperparameters()
    definition = profile.to_json_dict()
    profile_json = json.dumps(definition, sort_keys=True)
    tune_cut = int(len(train_part) * (1 - TUNING_FRACTION))
    fit_part, tune_part = (
        train_part.subset(np.arange(tune_cut)),
        train_part.subset(np.arange(tune_cut, len(train_part))),
    )
    if int(fit_part.failure.sum()) and int(tune_part.failure.sum()):
        tuned = failure_probability(fit_pipeline(fit_part, params, seed, n_jobs, profile_json), tune_part.raw)
        threshold = choose_threshold(tune_part.failure, tuned)
        method = "best F1 plateau centre on the newest 25 % of the training part, from a model fitted on the rest"
    else:
        threshold, method = 0.5, "0.5: too few failures in the training part to tune it out of time"
    pipeline = fit_pipeline(train_part, params, seed, n_jobs, profile_json)
    metrics = {
        "validation": validate(pipeline, validation_part, threshold, definition),
        "train_in_sample": binary_metrics(train_part.failure, failure_probability(pipeline, train_part.raw), threshold),
    }
    seconds = round(time.perf_counter() - started, 2)
    spec = feature_spec(profile)
    card = _card(
        pipeline,
        data=data,
        params=params,
        seed=seed,
        threshold=threshold,
        metrics=metrics,
        seconds=seconds,
        train_rows=len(train_part),
        spec=spec,
    )
    card["threshold_method"] = method
    card["data"] = _provenance(history, labels, ts, cut, store)
    onnx, explainer = _serving_parts(pipeline, card, data, spec, threshold)
    role: Role = "challenger" if as_challenger else "current"
    pointer = role_pointer(role, profile.id)
    version = save_model(pipeline, card, models_dir, onnx=onnx, explainer=explainer, pointer=pointer)
    record_move(models_dir, profile.id, "trained-from-history", None, version, role=role)
    log.info("saved model %s from the history of %s as %s", version, profile.id, role)
    return HistoryTraining(version, load_model(models_dir, version).card, role, seconds)


def _check_labels(history: History, labels: Labels) -> None:
    if not history.readings:
        raise HistoryError(f"no stored readings of profile {history.profile}: nothing to learn from")
    if labels.informative() == 0:
        raise HistoryError(
            f"the history of profile {history.profile} has no labels ({len(history.readings)} readings, "
            f"{len(history.verdicts)} verdicts, {len(history.maintenance)} maintenance entries, no reported failure): "
            "give verdicts on its alerts first"
        )
    if not sum(labels.positives.values()):
        raise HistoryError(
            f"the history of profile {history.profile} has labels but no failure among them "
            f"({labels.informative()} labelled readings): a model cannot learn what a failure looks like"
        )


def _check_part(part: Dataset, name: str, profile_id: str) -> None:
    failures = int(part.failure.sum())
    if failures < MIN_FAILURES or len(part) - failures < MIN_FAILURES:
        raise HistoryError(
            f"the history of profile {profile_id} is too thin: its {name} part has {failures} failures and "
            f"{len(part) - failures} normal readings, at least {MIN_FAILURES} of each are needed"
        )


def _provenance(history: History, labels: Labels, ts: np.ndarray, cut: int, store: str) -> dict[str, Any]:
    """The card's `data`: where the readings and every label came from, and how it was split."""
    return {
        "source": "history",
        "store": store,
        "tables": list(history.tables),
        "readings": len(history.readings),
        "rows": len(labels.rows),
        "failures": int(sum(labels.positives.values())),
        "train_rows": cut,
        "validation_rows": len(labels.rows) - cut,
        "split": {
            "method": "time-ordered: the oldest readings train, the newest validate",
            "train_from": ms_to_ts(int(ts[0])),
            "validation_from": ms_to_ts(int(ts[cut])),
            "validation_to": ms_to_ts(int(ts[-1])),
        },
        "labels": {
            source: {"readings": count, "failures": labels.positives[source], "meaning": LABEL_SOURCES_DOC.get(source)}
            for source, count in sorted(labels.sources.items())
        },
        "excluded": dict(sorted(labels.excluded.items())),
        "verdicts": len(history.verdicts),
        "maintenance_entries": len(history.maintenance),
        "alerts": len(history.alerts),
    }
