"""Issue 17's scenario: the system learns from its operators, a challenger shadows, wins, is promoted and rolled back.

    python -m bench.lifecycle                 # ~1-2 min on 2 cores: prints the figures
    python -m bench.lifecycle --machines 3 --history 2500 --shadow 1000 --swap 600 --noise 0.1

Compressed simulated weeks, through a real Mosquitto, the real worker and the API's own
decoding and store (SQLite):

1. **History.** Simulated AI4I machines (publisher/simulation.py) in a plant whose tools are
   20 % weaker than AI4I's (overstrain sets in at 80 % of the AI4I limits), one reading per
   `step_minutes` of simulated time. Machines report a failure on the reading for
   `report_share` of their real failures, and nothing on the others. The champion (trained on
   the shipped AI4I files) scores them; an operator policy gives a verdict on each of its
   alerts: the ground truth, wrong `noise` of the time.
   Verdicts go through the API's own verdict store (api/feedback.py).
2. **Learning.** ``--from-history`` (training/from_history.py) trains a challenger on the
   stored readings, reported failures and verdicts; the worker picks it up in shadow. Timed:
   from the last verdict to the challenger scoring in shadow.
3. **Shadow.** More readings; both models score each; verdicts on the champion's alerts again;
   ``compare`` (training/compare.py) on what was stored; and both models against the ground
   truth, which the comparison never sees.
4. **Promotion and rollback under load.** Readings flow while ``python -m training promote``
   and then ``rollback`` run (the CLI's own code, in process): every reading must be scored
   exactly once by a champion, and every prediction name its model.
5. **Fewer alerts, none missed.** The champion's predictions of phases 1 and 3 (and the
   challenger's of phase 3) replayed through the worker's alert rules (bench/alert_replay.py):
   alerts per machine-day before and after hysteresis and the operator's snooze, and the real
   failures no notified alert covered.

:func:`run_scenario` returns the figures; tests/integration/test_lifecycle_scenario.py asserts
on them, this module's ``main`` prints them.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from api.db import create_database_engine
from api.decode import alert_row, prediction_row, shadow_row
from api.feedback import Feedback, VerdictRequest
from api.migrations import upgrade
from api.store import Store
from bench.alert_replay import AFTER_POLICY, BEFORE_POLICY, LONG_SNOOZE_POLICY, Replay, ReplayPolicy, replay_alerts
from broker.local import LocalBroker
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract import Alert, Channel, Prediction, Reading, default_profile, format_ts, validate_name
from contract.expressions import Expression
from contract.profiles import PerCategory
from contract.registry import bind_machines
from inference_worker.config import WorkerConfig
from inference_worker.service import Worker
from model.artifact import current_version, load_model
from model.roles import read_role
from model.scoring import ModelScorer
from publisher.simulation import Simulator
from training.compare import ModelFigures, compare
from training.from_history import train_from_history
from training.history import read_history, read_shadow
from training.labels import label_history, mode_of_description
from training.lifecycle import time_models

__all__ = ["ScenarioConfig", "ScenarioResult", "run_scenario"]

PROFILE = default_profile()
PLANT_TOOLS = 0.8  # this plant's tools give out at 80 % of the profile's overstrain limit


def _plant_overstrain() -> tuple[Expression, str, dict[str, float]]:
    """The profile's OSF rule (a derived quantity above a limit per category), at this plant's limits."""
    physics = PROFILE.physics
    assert physics is not None, "the default profile describes its physics"
    (condition,) = next(rule for rule in physics.rules if rule.mode == "OSF").when
    assert isinstance(condition.above, PerCategory), "OSF: a limit per category"
    limits = {value: limit * PLANT_TOOLS for value, limit in condition.above.values.items()}
    return PROFILE.expression(condition.value), condition.above.by, limits


OVERSTRAIN, OVERSTRAIN_BY, PLANT_OSF_LIMITS = _plant_overstrain()
_WAIT_S = 300.0  # generous: CI machines are shared, and a slow phase is not a wrong one


@dataclass(frozen=True)
class ScenarioConfig:
    machines: int = 3
    history_readings: int = 2500  # per machine, champion alone
    shadow_readings: int = 1000  # per machine, champion and challenger
    swap_readings: int = 600  # per machine, while promoting and rolling back
    step_minutes: float = 10.0  # simulated time between two readings of a machine
    noise: float = 0.10  # share of verdicts that contradict the ground truth
    report_share: float = 0.6  # share of real failures a machine reports on its reading
    seed: int = 17
    clear_after: int = 5
    swap_seconds: float = 6.0  # how long the promotion-and-rollback phase offers readings


@dataclass
class ScenarioResult:
    figures: dict[str, Any] = field(default_factory=dict)
    champion: str = ""
    challenger: str = ""
    swap_versions: list[str] = field(default_factory=list)  # the champion version of each prediction, in order
    swap_scored: Counter[str] = field(default_factory=Counter)  # reading id -> champion predictions
    swap_sent: list[str] = field(default_factory=list)
    swap_shadow: Counter[str] = field(default_factory=Counter)
    unnamed: int = 0  # predictions without a model version (must stay 0)


@dataclass(frozen=True)
class _Sent:
    machine: str
    reading_id: str
    payload: bytes
    truth: int
    mode: str | None


class _Plant:
    """Simulated machines of a plant with weaker tools; every reading's ground truth is kept."""

    def __init__(self, machines: list[str], config: ScenarioConfig, start_ms: int) -> None:
        self.machines = machines
        self.config = config
        self._sims = {m: Simulator(np.random.default_rng(config.seed + i)) for i, m in enumerate(machines)}
        self._rng = np.random.default_rng(config.seed + 1000)
        self._step_ms = int(config.step_minutes * 60_000)
        self._next_ms = start_ms
        self._sequence = 0
        self.truth: dict[tuple[str, str], tuple[int, str | None]] = {}

    def take(self, per_machine: int) -> list[_Sent]:
        sent = []
        for _ in range(per_machine):
            ts = format_ts_ms(self._next_ms)
            self._next_ms += self._step_ms
            self._sequence += 1
            for machine in self.machines:
                sent.append(self._reading(machine, ts))
        return sent

    def _reading(self, machine: str, ts: str) -> _Sent:
        sample = self._sims[machine].step()
        values = sample.values
        mode = mode_of_description(PROFILE, sample.failure_description) if sample.failure else None
        strain = OVERSTRAIN.scalar({k: float(v) for k, v in values.items() if isinstance(v, int | float)})
        if not sample.failure and strain > PLANT_OSF_LIMITS[str(values[OVERSTRAIN_BY])]:
            mode = "OSF"  # this plant's tools give out earlier than AI4I's
        truth = 1 if sample.failure or mode else 0
        reading_id = f"{machine}-{self._sequence:06d}"
        reported = truth and self._rng.random() < self.config.report_share
        description = sample.failure_description if sample.failure else "Overstrain Failure"
        reading = Reading(reading_id, ts, values, 1 if reported else None, description if reported else None)
        self.truth[(machine, reading_id)] = (truth, mode)
        return _Sent(machine, reading_id, reading.to_json(), truth, mode)


def format_ts_ms(ms: int) -> str:
    return format_ts(datetime.fromtimestamp(ms / 1000, UTC))


class _Recorder:
    """Every prediction, shadow prediction and alert of the plant's machines, in arrival order."""

    def __init__(self, settings: MqttSettings, topics: Any, machines: set[str]) -> None:
        self.machines = machines
        self.topics = topics
        self.messages: list[tuple[Channel, str, bytes]] = []
        self._lock = threading.Condition()
        self.client = create_client(settings, None)
        self.client.on_message = self._on_message
        filters = [
            (topics.all_of(c), 1) for c in (Channel.PREDICTIONS, Channel.SHADOW, Channel.ALERTS, Channel.REJECTED)
        ]
        connect_client(self.client, settings, subscriptions=filters)
        if not wait_connected(self.client):
            raise RuntimeError("the scenario's recorder could not connect")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        ref = self.topics.parse(message.topic)
        if ref.machine_id not in self.machines:
            return
        with self._lock:
            self.messages.append((ref.channel, ref.machine_id, bytes(message.payload)))
            self._lock.notify_all()

    def count(self, channel: Channel, since: int = 0) -> int:
        with self._lock:
            return sum(1 for c, _, _ in self.messages[since:] if c is channel)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = _WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"scenario: {what} did not happen within {timeout:.0f} s")
                self._lock.wait(0.2)

    def since(self, start: int) -> list[tuple[Channel, str, bytes]]:
        with self._lock:
            return list(self.messages[start:])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class _Sensors:
    """One MQTT session per machine (an account is bound to its own client id)."""

    def __init__(self, broker: LocalBroker, machines: list[str]) -> None:
        passwords = broker.add_users(machines, "sensor")
        self.topics = broker.topics
        self.clients: dict[str, mqtt.Client] = {}
        for machine in machines:
            settings = broker.settings(machine, passwords[machine])
            client = create_client(settings, None)
            connect_client(client, settings)
            if not wait_connected(client):
                raise RuntimeError(f"sensor {machine} could not connect")
            self.clients[machine] = client

    def publish(self, readings: Iterable[_Sent]) -> None:
        infos = [self.clients[r.machine].publish(self.topics.readings(r.machine), r.payload, qos=1) for r in readings]
        for info in infos:
            info.wait_for_publish(30)

    def close(self) -> None:
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()


def _store_messages(store: Store, messages: list[tuple[Channel, str, bytes]]) -> list[dict[str, Any]]:
    """Decode and store what the recorder got, as the API's ingest does; the opened alerts' rows."""
    predictions, shadow, alerts = [], [], []
    for channel, machine, payload in messages:
        if channel is Channel.PREDICTIONS:
            predictions.append(prediction_row(payload, machine))
        elif channel is Channel.SHADOW:
            shadow.append(shadow_row(payload, machine))
        elif channel is Channel.ALERTS:
            alerts.append(alert_row(payload, machine))
    for start in range(0, max(len(predictions), len(shadow), 1), 1000):
        store.write_batch(predictions[start : start + 1000], shadow_rows=shadow[start : start + 1000])
    for start in range(0, len(alerts), 500):
        store.write_batch(alert_rows=alerts[start : start + 500])
    return [row for row in alerts if row["state"] == "open"]


def _give_verdicts(
    feedback: Feedback, opened: list[dict[str, Any]], plant: _Plant, noise: float, rng: np.random.Generator
) -> int:
    """The operator policy: the ground truth of each alert's reading, wrong `noise` of the time.

    Given through the API's own store of verdicts (api/feedback.py), as POST /api/alerts/ID/verdict does.
    """
    given = 0
    for alert in opened:
        truth, mode = plant.truth.get((alert["machine_id"], alert["reading_id"]), (0, None))
        real = bool(truth) != (rng.random() < noise)
        request = VerdictRequest(
            verdict="real_failure" if real else "false_alarm",
            mode=(mode or alert["predicted_mode"]) if real else None,
            note="scenario operator",
            by="operator",
        )
        given += feedback.give_verdict(alert["alert_id"], request, int(time.time() * 1000)) is not None
    return given


def _truth_figures(
    messages: list[tuple[Channel, str, bytes]], plant: _Plant, channel: Channel
) -> dict[str, float | int | None]:
    """Precision and recall of one model's predictions against the ground truth (never seen by compare),
    counted and computed as compare's figures are (training.compare.ModelFigures)."""
    figures = ModelFigures(channel.value)
    for kind, machine, payload in messages:
        if kind is not channel:
            continue
        prediction = Prediction.from_json(payload)
        flagged = (prediction.failure_probability or 0.0) >= (prediction.threshold or 1.0)
        truth = plant.truth[(machine, prediction.reading_id)][0]
        figures.failures += truth == 1
        figures.true_positives += flagged and truth == 1
        figures.false_positives += flagged and truth == 0
    return {"precision": figures.precision, "recall": figures.recall, "failures": figures.failures}


def _replay_both(
    messages: list[tuple[Channel, str, bytes]], channel: Channel, plant: _Plant, config: ScenarioConfig, folder: Path
) -> dict[str, dict[str, Any]]:
    """One model's predictions replayed before and after hysteresis and snooze (bench/alert_replay.py)."""
    predictions = [Prediction.from_json(payload) for kind, _m, payload in messages if kind is channel]
    truth = {key: failed for key, (failed, _mode) in plant.truth.items()}
    folder.mkdir()
    runs: dict[str, Replay] = {}
    for policy in (BEFORE_POLICY, AFTER_POLICY, LONG_SNOOZE_POLICY):
        runs[policy.name] = _replay(predictions, truth, policy, plant, config, folder / f"{policy.name}.db")
    before = runs[BEFORE_POLICY.name]
    machine_days = before.readings * config.step_minutes / (24 * 60)
    return {name: run.as_dict(machine_days, before) for name, run in runs.items()}


def _replay(  # noqa: PLR0917 - one replay's cast
    predictions: list[Prediction],
    truth: dict[tuple[str, str], int],
    policy: ReplayPolicy,
    plant: _Plant,
    config: ScenarioConfig,
    database: Path,
) -> Replay:
    """Replay under `policy`, the snoozes kept in a scratch store of the API's own (`database`)."""
    engine = create_database_engine(f"sqlite:///{database}")
    try:
        upgrade(engine)
        rng = np.random.default_rng(config.seed + 3000)  # the same operator for every policy

        def judge(alert: Alert) -> bool:
            """The scenario's operator: the ground truth of the alert's reading, wrong `noise` of the time."""
            failed = plant.truth.get((alert.machine_id, alert.reading_id), (0, None))[0]
            return bool(failed) != (rng.random() < config.noise)

        return replay_alerts(predictions, truth, policy, judge, Feedback(engine))
    finally:
        engine.dispose()


def _worker_config(broker: LocalBroker, models_dir: Path, name: str, group: str, clear_after: int) -> WorkerConfig:
    instance = validate_name(f"inference-worker-{name}")
    password = broker.add_user(instance, "worker")
    return WorkerConfig(
        mqtt=broker.settings(instance, password, session_expiry_s=600, receive_maximum=2000),
        topics=broker.topics,
        instance=instance,
        share_group=group,
        models_dir=models_dir,
        registry_dir=broker.registry_dir,
        max_batch=256,
        receive_maximum=2000,
        clear_after=clear_after,
        stats_interval_s=30.0,
        model_poll_s=0.2,
        sensor_rate=0.0,  # one simulated plant at full speed: no per-sensor quota
    )


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = _WAIT_S) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"scenario: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def run_scenario(  # noqa: PLR0915 - the scenario reads top to bottom, phase by phase
    broker: LocalBroker, champion_models: Path, work: Path, config: ScenarioConfig | None = None, tag: str = "lc"
) -> ScenarioResult:
    """Run the four phases (module doc) in `work`; the models folder is copied from `champion_models`."""
    config = config or ScenarioConfig()
    result = ScenarioResult()
    models = work / "models"
    shutil.copytree(champion_models, models)
    result.champion = champion = current_version(models) or ""
    url = f"sqlite:///{work / 'store.db'}"
    engine = create_database_engine(url)
    upgrade(engine)
    store, feedback = Store(engine), Feedback(engine)
    machines = [f"{tag}-m{i}" for i in range(config.machines)]
    bind_machines(broker.registry_dir, dict.fromkeys(machines, PROFILE.id))
    total_readings = config.history_readings + config.shadow_readings + config.swap_readings
    start_ms = int(time.time() * 1000) - int(total_readings * config.step_minutes * 60_000) - 3_600_000
    plant = _Plant(machines, config, start_ms)
    rng = np.random.default_rng(config.seed + 2000)
    viewer = f"{tag}-viewer"
    recorder = _Recorder(broker.settings(viewer, broker.add_user(viewer, "viewer")), broker.topics, set(machines))
    sensors = _Sensors(broker, machines)
    worker = Worker(_worker_config(broker, models, tag, f"{tag}g", config.clear_after), ModelScorer(load_model(models)))
    worker.start()
    try:
        # 1. History under the champion alone, and the operator's verdicts on its alerts.
        sent = plant.take(config.history_readings)
        sensors.publish(sent)
        recorder.wait(lambda: recorder.count(Channel.PREDICTIONS) >= len(sent), "the history's predictions")
        time.sleep(0.5)  # the last alerts of the batch
        opened = _store_messages(store, recorder.since(0))
        verdicts = _give_verdicts(feedback, opened, plant, config.noise, rng)
        verdict_done = time.monotonic()

        # 2. Learning from it: the challenger, in shadow.
        history = read_history(engine, PROFILE.id)
        trained = train_from_history(
            history, PROFILE, models, config.seed, 1, clear_after=config.clear_after, store=url
        )
        result.challenger = challenger = trained.version
        _wait_until(lambda: worker.models.shadowed().get(PROFILE.id) == challenger, "the challenger in shadow")
        learn_s = time.monotonic() - verdict_done

        # 3. Shadow: both score; verdicts again; the comparison from the store, and the ground truth.
        mark = len(recorder.since(0))
        sent = plant.take(config.shadow_readings)
        sensors.publish(sent)
        recorder.wait(
            lambda: (
                recorder.count(Channel.PREDICTIONS, mark) >= len(sent)
                and recorder.count(Channel.SHADOW, mark) >= len(sent)
            ),
            "the shadow phase's predictions",
        )
        time.sleep(0.5)
        shadow_messages = recorder.since(mark)
        opened = _store_messages(store, shadow_messages)
        verdicts += _give_verdicts(feedback, opened, plant, config.noise, rng)
        history = read_history(engine, PROFILE.id)
        labels = label_history(
            PROFILE,
            history.readings,
            history.alerts,
            history.verdicts,
            history.maintenance,
            clear_after=config.clear_after,
        )
        comparison = compare(
            PROFILE.id,
            history.readings,
            labels,
            read_shadow(engine, PROFILE.id, challenger),
            challenger,
            config.clear_after,
        )
        time_models(comparison, models, PROFILE, history.readings)

        # 4. Promotion and rollback while readings flow.
        mark = len(recorder.since(0))
        replayed = recorder.since(0)  # phases 1 and 3, for 5.
        sent = plant.take(config.swap_readings)
        result.swap_sent = [r.reading_id for r in sent]
        promoted_s, rolled_back_s = _promote_and_roll_back(sensors, sent, worker, models, champion, challenger, config)
        recorder.wait(lambda: recorder.count(Channel.PREDICTIONS, mark) >= len(sent), "the swap phase's predictions")
        time.sleep(0.5)  # anything scored twice would arrive now
        for channel, _machine, payload in recorder.since(mark):
            if channel is Channel.PREDICTIONS:
                prediction = Prediction.from_json(payload)
                result.swap_scored[prediction.reading_id] += 1
                result.swap_versions.append(prediction.model_version or "")
                result.unnamed += prediction.model_version is None
            elif channel is Channel.SHADOW:
                prediction = Prediction.from_json(payload)
                result.swap_shadow[prediction.reading_id] += 1
                result.unnamed += prediction.model_version is None
        rejected = [payload for channel, _m, payload in recorder.since(0) if channel is Channel.REJECTED]
        alert_rates = {
            "champion": _replay_both(replayed, Channel.PREDICTIONS, plant, config, work / "replay-champion"),
            "challenger": _replay_both(shadow_messages, Channel.SHADOW, plant, config, work / "replay-challenger"),
        }
        machine_days = config.machines * total_readings * config.step_minutes / (24 * 60)
        result.figures = {
            "machines": config.machines,
            "readings": config.machines * total_readings,
            "simulated_days_per_machine": round(total_readings * config.step_minutes / (24 * 60), 1),
            "machine_days": round(machine_days, 1),
            "verdicts": verdicts,
            "verdict_noise": config.noise,
            "label_sources": dict(labels.sources),
            "card_labels": trained.card["data"]["labels"],
            "card_validation": {k: trained.card["metrics"]["validation"][k] for k in ("precision", "recall", "f1")},
            "verdict_to_shadow_s": round(learn_s, 1),
            "training_s": trained.seconds,
            "comparison": comparison.as_dict(),
            "ground_truth": {
                "champion": _truth_figures(shadow_messages, plant, Channel.PREDICTIONS),
                "challenger": _truth_figures(shadow_messages, plant, Channel.SHADOW),
            },
            "swap": {
                "readings": len(sent),
                "promotion_live_after_s": round(promoted_s, 2),
                "rollback_live_after_s": round(rolled_back_s, 2),
                "by_version": dict(Counter(result.swap_versions)),
                "scored_twice": sum(1 for n in result.swap_scored.values() if n > 1),
                "not_scored": len(set(result.swap_sent) - set(result.swap_scored)),
            },
            "rejected": len(rejected),
            "alert_rates": alert_rates,
        }
        return result
    finally:
        worker.stop()
        sensors.close()
        recorder.close()
        engine.dispose()


def _promote_and_roll_back(  # noqa: PLR0917 - the phase's cast
    sensors: _Sensors,
    sent: list[_Sent],
    worker: Worker,
    models: Path,
    champion: str,
    challenger: str,
    config: ScenarioConfig,
) -> tuple[float, float]:
    """Offer `sent` over `swap_seconds`; promote a third of the way in, roll back at two thirds (CLI code)."""
    from training.__main__ import main as training_cli

    slices = 30
    per_slice = max(1, len(sent) // slices)
    pause = config.swap_seconds / slices
    done = threading.Event()
    failure: list[BaseException] = []

    def offer() -> None:
        try:
            for start in range(0, len(sent), per_slice):
                sensors.publish(sent[start : start + per_slice])
                time.sleep(pause)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=offer, name="scenario-offer", daemon=True)
    thread.start()
    time.sleep(config.swap_seconds / 3)
    args = ["--profile", PROFILE.id, "--models-dir", str(models)]
    if training_cli(["promote", *args]) != 0:
        raise RuntimeError("python -m training promote failed")
    promoted = _wait_until(lambda: worker.models.served().get(PROFILE.id) == challenger, "the promotion")
    if read_role(models, "challenger", PROFILE.id) is not None:
        raise RuntimeError("the promotion left a challenger behind")
    time.sleep(config.swap_seconds / 3)
    if training_cli(["rollback", *args]) != 0:
        raise RuntimeError("python -m training rollback failed")
    rolled_back = _wait_until(lambda: worker.models.served().get(PROFILE.id) == champion, "the rollback")
    thread.join(timeout=_WAIT_S)
    if failure:
        raise RuntimeError(f"offering readings failed: {failure[0]}")
    return promoted, rolled_back


def format_figures(figures: dict[str, Any]) -> str:
    """The scenario's figures, for the closing note."""
    comparison, truth, swap = figures["comparison"], figures["ground_truth"], figures["swap"]
    champion, challenger = comparison["champion"], comparison["challenger"]

    def pair(name: str, key: str, a: dict[str, Any], b: dict[str, Any]) -> str:
        return f"  {name:<34}{_text(a.get(key)):>14}{_text(b.get(key)):>14}"

    lines = [
        f"{figures['machines']} machines, {figures['readings']} readings, {figures['simulated_days_per_machine']} "
        f"simulated days each ({figures['machine_days']} machine-days); {figures['verdicts']} verdicts "
        f"({figures['verdict_noise']:.0%} wrong)",
        f"  labels: {figures['label_sources']}",
        f"  challenger trained in {figures['training_s']} s; from the last verdict to the challenger scoring in "
        f"shadow: {figures['verdict_to_shadow_s']} s; its card's validation (newest 20 %): "
        f"{figures['card_validation']}",
        f"  {'shadow phase':<34}{'champion':>14}{'challenger':>14}",
        pair("model", "version", champion, challenger),
        pair("precision (labelled readings)", "precision", champion, challenger),
        pair("recall (labelled readings)", "recall", champion, challenger),
        pair("precision (ground truth)", "precision", truth["champion"], truth["challenger"]),
        pair("recall (ground truth)", "recall", truth["champion"], truth["challenger"]),
        pair("alerts per machine-day", "alerts_per_machine_day", champion, challenger),
        pair("ms per reading", "ms_per_reading", champion, challenger),
        f"  agreement {comparison['agreement']} on {comparison['readings']} readings",
        f"  promotion and rollback under load: {swap['readings']} readings, by version {swap['by_version']}, "
        f"scored twice {swap['scored_twice']}, not scored {swap['not_scored']}; promotion live after "
        f"{swap['promotion_live_after_s']} s, rollback after {swap['rollback_live_after_s']} s",
        *_rate_lines(figures["alert_rates"]),
    ]
    return "\n".join(lines)


def _rate_lines(rates: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Alerts per machine-day before and after hysteresis and snooze, per replayed model."""
    head = ("clear", "ratio", "snooze h", "opened", "notified", "per m-day", "failures", "missed", "lost")
    lines = [
        "  alerts replayed through the worker's rules (bench/alert_replay.py); per m-day = notified per "
        "machine-day; missed = real failures no notified open alert covered; lost = covered before, missed after",
        f"  {'model':<11}{'policy':<8}" + "".join(f"{h:>10}" for h in head),
    ]
    keys = ("clear_after", "clear_ratio", "snooze_hours", "opened", "notified", "alerts_per_machine_day")
    for model, runs in rates.items():
        for policy, run in runs.items():
            cells = [*(run[k] for k in keys), run["failures"], run["missed"], run.get("lost", "-")]
            lines.append(f"  {model:<11}{policy:<8}" + "".join(f"{_text(c):>10}" for c in cells))
    return lines


def _text(value: object) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.split("\n")[0])
    parser.add_argument("--machines", type=int, default=3)
    parser.add_argument("--history", type=int, default=2500, help="readings per machine under the champion alone")
    parser.add_argument("--shadow", type=int, default=1000, help="readings per machine in shadow")
    parser.add_argument("--swap", type=int, default=600, help="readings per machine while promoting and rolling back")
    parser.add_argument("--noise", type=float, default=0.1, help="share of wrong verdicts")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    config = ScenarioConfig(
        machines=args.machines,
        history_readings=args.history,
        shadow_readings=args.shadow,
        swap_readings=args.swap,
        noise=args.noise,
        seed=args.seed,
    )
    from bench.harness import train_model

    with tempfile.TemporaryDirectory(prefix="forewarn-lifecycle-") as folder, LocalBroker.create() as broker:
        champion = train_model(Path(folder) / "champion")
        result = run_scenario(broker, champion, Path(folder), config)
    print(format_figures(result.figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
