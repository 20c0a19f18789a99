"""The worker's scoring throughput per model kind, side by side: classifier, RUL, anomaly.

    python -m bench kinds [--rounds 3] [--models-dir DIR]   # also part of `make bench`

What differs between model kinds is the worker's core (inference_worker/core.py): decoding and
validating a reading against its profile, the model (a forest for AI4I; for the turbofan a
machine's windows, then a boosted regressor or a Mahalanobis distance), alerts, explanations
and encoding the outputs. This bench runs exactly that, the worker's BatchProcessor with the
models it serves, on batches of 256 (the worker's FOREWARN_MAX_BATCH) of real readings:

- classifier: the AI4I replay file data/slave1_data.csv looped to as many readings, machine
  `slave1`, its model trained now (python -m training) and explained like in the worker;
- rul: the 100 FD001 engines as 100 machines, interleaved cycle by cycle, the shipped
  turbofan RUL model (data/models);
- anomaly: the same engines, a turbofan anomaly detector trained now (~2 s).

The network path (MQTT in, acknowledgements, outputs) costs the same for every kind and is
measured by the other designs of `python -m bench`. Rounds alternate the kinds, so a load
change on the machine hits them alike; the best round of each kind is reported, with its
ratio to the classifier's (issue 16's goal: at least 80 %).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.harness import REPO_ROOT, train_model
from contract import Profile, Topics, utc_now_iso
from contract.profiles import builtin_profiles, default_profile
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Incoming
from inference_worker.series import SeriesServer
from model.artifact import load_model
from model.explain import explainer_of
from model.scoring import ModelScorer
from model.series_artifact import load_series_model
from publisher.replay import ReplayFormat, load_rows
from training.series.profile import series_profile
from training.series.train import train_series
from training.shipped import install_shipped

__all__ = ["main", "run_kinds"]

BATCH = 256
TOPICS = Topics("bench")
FD001 = REPO_ROOT / "data" / "cmapss" / "train_FD001.csv"
AI4I = REPO_ROOT / "data" / "slave1_data.csv"


def _ai4i_messages(count: int) -> list[Incoming]:
    """`count` readings of the replay file (looped, as `--loop` does), so every kind runs as long."""
    with AI4I.open(encoding="utf-8") as lines:
        rows, _bad = load_rows(lines, str(AI4I), ReplayFormat(default_profile()))
    topic = TOPICS.readings("slave1")
    return [
        Incoming(topic, _payload(f"slave1-{n}", rows[n % len(rows)].sample.values, rows[n % len(rows)].sample.failure))
        for n in range(count)
    ]


def _turbofan_messages() -> list[Incoming]:
    profile = builtin_profiles()["turbofan"]
    columns = ReplayFormat(profile).columns
    engines = pd.read_csv(FD001).sort_values(["cycle", "unit"])  # a fleet: every engine's cycle k, then k + 1
    fields = [f.name for f in profile.fields]
    messages = []
    for row in engines.itertuples(index=False):
        record = row._asdict()
        machine = f"engine-{int(record['unit'])}"
        values = {name: float(record[columns[name]]) for name in fields}
        messages.append(Incoming(TOPICS.readings(machine), _payload(f"{machine}-{int(record['cycle'])}", values, None)))
    return messages


def _payload(reading_id: str, values: dict[str, Any], failure: int | None) -> bytes:
    reading = {"reading_id": reading_id, "ts": utc_now_iso(), **values}
    if failure is not None:
        reading["failure"] = failure
    return json.dumps(reading).encode()


def _processor(served: Any, profile: Profile, models_dir: Path) -> BatchProcessor:
    def explainer_for(model: Any) -> Any:
        return explainer_of(models_dir, model.version)

    return BatchProcessor(TOPICS, lambda _p: served, AlertTracker(), utc_now_iso, lambda _m: profile, explainer_for)


def _round(processor: BatchProcessor, messages: list[Incoming]) -> tuple[float, int]:
    """Seconds to process and encode every message in batches; the predictive readings."""
    started = time.perf_counter()
    predictive = 0
    for start in range(0, len(messages), BATCH):
        result = processor.process(messages[start : start + BATCH])
        result.outgoing(TOPICS)  # every prediction and alert encoded, as the worker publishes them
        predictive += sum(p.status == "predictive" for p in result.predictions)
    return time.perf_counter() - started, predictive


def run_kinds(folder: Path, rounds: int = 3, classifier_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Throughput per kind (readings/s, µs per reading, predictive share), best of `rounds`."""
    classifier_dir = classifier_dir or train_model(folder)
    turbofan = builtin_profiles()["turbofan"]
    rul_dir, anomaly_dir = folder / "rul", folder / "anomaly"
    install_shipped(rul_dir)
    train_series(FD001, series_profile(turbofan), "anomaly", anomaly_dir, seed=42)
    classifier = ModelScorer(load_model(classifier_dir, defer_pipeline=True))
    rul = SeriesServer.from_model(load_series_model(rul_dir, "turbofan"), turbofan)
    anomaly = SeriesServer.from_model(load_series_model(anomaly_dir, "turbofan"), turbofan)
    engines = _turbofan_messages()
    ai4i = _ai4i_messages(len(engines))
    kinds: dict[str, tuple[Callable[[], BatchProcessor], list[Incoming]]] = {
        "classifier": (lambda: _processor(classifier, default_profile(), classifier_dir), ai4i),
        "rul": (lambda: _processor(_fresh(rul), turbofan, rul_dir), engines),
        "anomaly": (lambda: _processor(_fresh(anomaly), turbofan, anomaly_dir), engines),
    }
    best: dict[str, tuple[float, int]] = {}
    for _ in range(rounds):
        for kind, (make, messages) in kinds.items():
            seconds, predictive = _round(make(), messages)
            if kind not in best or seconds < best[kind][0]:
                best[kind] = (seconds, predictive)
    results = {}
    for kind, (seconds, predictive) in best.items():
        count = len(kinds[kind][1])
        results[kind] = {
            "readings": count,
            "readings_per_s": round(count / seconds),
            "us_per_reading": round(seconds / count * 1e6, 1),
            "predictive_share": round(predictive / count, 3),
        }
    base = results["classifier"]["readings_per_s"]
    for figures in results.values():
        figures["ratio_to_classifier"] = round(figures["readings_per_s"] / base, 2)
    return results


def _fresh(server: SeriesServer) -> SeriesServer:
    server.lives = {}  # every round plays each engine's life from its first cycle
    return server


def table(results: dict[str, dict[str, Any]]) -> str:
    head = ("readings", "readings/s", "µs/reading", "predictive")
    lines = [f"{'model kind':<12}{head[0]:>10}{head[1]:>12}{head[2]:>12}{head[3]:>12}{'vs classifier':>15}"]
    for kind, r in results.items():
        lines.append(
            f"{kind:<12}{r['readings']:>10}{r['readings_per_s']:>12}{r['us_per_reading']:>12}"
            f"{r['predictive_share']:>12.1%}{r['ratio_to_classifier']:>14.0%}"
        )
    worst = min(r["ratio_to_classifier"] for k, r in results.items() if k != "classifier")
    verdict = "met" if worst >= 0.8 else "NOT met"
    lines.append(f"goal (issue 16): rul and anomaly at >= 80% of the classifier's throughput: {verdict}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench kinds", description="Worker throughput per model kind.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=None, help="the AI4I classifier (default: train one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="forewarn-kinds-") as folder:
        print("worker throughput per model kind (BatchProcessor, batches of 256) ...", flush=True)
        results = run_kinds(Path(folder), args.rounds, args.models_dir)
    print(table(results))
    return 0
