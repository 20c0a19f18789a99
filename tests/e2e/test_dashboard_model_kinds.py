"""A turbofan engine's remaining useful life beside an AI4I mill, and an engine's anomaly score, in Chromium.

The engines are the built-in turbofan profile (profiles/turbofan.yaml): their readings are
the last cycles of engine 1 of NASA's C-MAPSS FD001 file (data/cmapss/train_FD001.csv, read
through the profile's own column mapping), published as the inference worker publishes
predictions (a worker-role MQTT user, QoS 1): one engine with a RUL model's verdicts (the
cycles left with their interval, the profile's horizon), one with an anomaly detector's
score and threshold, each with its alert as the worker raises it. The mill sends a real
reading that the stack's real worker scores. The real API stores and streams them all.

The dashboard must draw, from the profiles alone: the RUL line with its interval as a band
and the horizon as a line (checked on the canvas's pixels, not only in the DOM), the anomaly
score with its threshold and the anomalous readings marked, "N cycles left" / "anomaly"
badges on the cards, alerts labelled by kind, and the mill's failure probability unchanged.
"""

from __future__ import annotations

import csv
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from contract import Alert, Prediction, Topics
from contract.profiles import builtin_profiles
from tests.e2e.conftest import _needed
from tests.support.e2e_stack import E2eStack, Sensor, built_dashboard, new_machine_id, open_live, seconds_ago, wait_for
from tests.support.mqtt import publish_and_wait
from tests.support.stack import REPO_ROOT
from training.shipped import install_shipped

pytestmark = pytest.mark.e2e

FD001 = REPO_ROOT / "data" / "cmapss" / "train_FD001.csv"
CYCLES = 40  # the engine's last cycles, one reading each
SPACING_S = 6.0  # between two cycles' readings: 40 of them fill most of the charts' 5-minute window
Screenshot = Callable[[Page, str], Path]
Sensors = Callable[..., Sensor]
TURBOFAN = builtin_profiles()["turbofan"]
HORIZON = TURBOFAN.model.rul.horizon if TURBOFAN.model.rul else 30.0
UNIT = TURBOFAN.model.rul.unit if TURBOFAN.model.rul else "cycles"
# What Chart.tsx draws (MachineView.tsx): the band's fill and the limit line's colour, as canvas pixels.
BAND_RGBA = (79, 209, 197, 0.25)
LIMIT_RGB = (224, 161, 0)
ANOMALY_RGB = (255, 107, 107)


class WorkerPublisher:
    """Publishes predictions and alerts as the inference worker does (worker role, QoS 1)."""

    def __init__(self, broker: LocalBroker) -> None:
        name = f"worker-{uuid.uuid4().hex[:8]}"
        settings = broker.settings(name, broker.add_user(name, "worker"))
        self.topics: Topics = broker.topics
        self.client = create_client(settings, status_topic=None)
        connect_client(self.client, settings)
        if not wait_connected(self.client):
            raise RuntimeError("the worker-role publisher could not connect")

    def prediction(self, prediction: Prediction) -> None:
        topic = self.topics.predictions(prediction.machine_id)
        assert publish_and_wait(self.client, topic, prediction.to_json()) == 0

    def alert(self, alert: Alert) -> None:
        assert publish_and_wait(self.client, self.topics.alerts(alert.machine_id), alert.to_json()) == 0

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def worker(e2e_stack: E2eStack) -> Iterator[WorkerPublisher]:
    publisher = WorkerPublisher(e2e_stack.broker)
    yield publisher
    publisher.close()


def engine_history() -> list[tuple[dict[str, float], int]]:
    """Engine 1's last CYCLES readings as the profile's values, each with its true remaining life."""
    mapping = TURBOFAN.csv_columns
    with FD001.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["unit"] == "1"]
    last = int(rows[-1]["cycle"])
    fields = {f.name for f in TURBOFAN.numeric_fields}
    history = []
    for row in rows[-CYCLES:]:
        values = {mapping.get(column, column): float(text) for column, text in row.items()}
        history.append(({k: v for k, v in values.items() if k in fields}, last - int(row["cycle"])))
    return history


def engine_prediction(machine: str, n: int, values: dict[str, float], ago: float, **model: Any) -> Prediction:
    status = "predictive" if model.get("rul", HORIZON) < HORIZON else "normal"
    if model.get("model_kind") == "anomaly":
        status = "predictive" if model["anomaly_score"] > model["anomaly_threshold"] else "normal"
    ts = seconds_ago(ago)
    made = {
        "reading_id": f"{machine}-c{int(values['cycle'])}", "machine_id": machine, "profile": TURBOFAN.id, "ts": ts,
        "scored_at": ts, "status": status, "failure_probability": None, "predicted_mode": None,
        "model_version": f"{model.get('model_kind')}-e2e-{n}", "threshold": None, "values": values, "failure": 0,
    }  # fmt: skip
    return Prediction.from_dict(made | model)


def canvas_pixels(chart: Locator) -> dict[str, int]:
    """How many pixels of the chart's canvas are the band's fill, the limit line, the anomaly marks."""
    return dict(
        chart.locator("canvas").evaluate(
            """(canvas, [band, limit, marks]) => {
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                const near = (i, rgb, d) => Math.abs(data[i] - rgb[0]) <= d && Math.abs(data[i + 1] - rgb[1]) <= d
                    && Math.abs(data[i + 2] - rgb[2]) <= d;
                const counts = { band: 0, limit: 0, marks: 0 };
                for (let i = 0; i < data.length; i += 4) {
                    const alpha = data[i + 3] / 255;
                    if (near(i, band, 12) && Math.abs(alpha - band[3]) < 0.08) counts.band += 1;
                    if (near(i, limit, 16) && alpha > 0.8) counts.limit += 1;
                    if (near(i, marks, 16) && alpha > 0.8) counts.marks += 1;
                }
                return counts;
            }""",
            [list(BAND_RGBA), list(LIMIT_RGB), list(ANOMALY_RGB)],
        )
    )


def wait_drawn(chart: Locator, **least: int) -> dict[str, int]:
    """The chart's pixel counts once each one named reaches its least value (TimeoutError if never)."""
    found: dict[str, int] = {}

    def enough() -> bool:
        found.update(canvas_pixels(chart))
        return all(found[name] >= count for name, count in least.items())

    try:
        wait_for(enough, what=f"at least {least} pixels drawn")
    except TimeoutError:
        raise AssertionError(f"the chart drew {found}, not at least {least}") from None
    return found


def test_a_turbofan_engines_remaining_life_beside_a_mill_and_an_engines_anomaly_score(
    page: Page, e2e_stack: E2eStack, sensors: Sensors, worker: WorkerPublisher, screenshot: Screenshot
) -> None:
    engine, drifting, mill = new_machine_id("engine"), new_machine_id("engine"), new_machine_id("mill")
    history = engine_history()
    # the RUL model's verdicts: the true remaining life, a little off, with an interval around it
    for n, (values, true_rul) in enumerate(history):
        rul = true_rul + 2.0
        worker.prediction(
            engine_prediction(
                engine,
                n,
                values,
                ago=SPACING_S * (CYCLES - n),
                model_kind="rul",
                rul=rul,
                rul_low=max(0.0, rul - 6.0),  # a RUL model clips its interval at 0
                rul_high=rul + 8.0,
                rul_unit=UNIT,
                rul_horizon=HORIZON,
            )
        )
    entered = next(n for n, (_values, true_rul) in enumerate(history) if true_rul + 2.0 < HORIZON)
    worker.alert(
        Alert(
            alert_id=f"{engine}-rul-{entered}",
            machine_id=engine,
            kind="rul",
            severity="warning",
            state="open",
            opened_at=seconds_ago(SPACING_S * (CYCLES - entered)),
            reading_id=f"{engine}-c{int(history[entered][0]['cycle'])}",
            failure_probability=None,
            predicted_mode=None,
            profile=TURBOFAN.id,
            rul=history[entered][1] + 2.0,
            rul_unit=UNIT,
            message=f"{engine} entered its horizon",
        )
    )
    # an anomaly detector on the same kind of engine: its score grows past the threshold
    threshold = 4.0
    for n, (values, _true_rul) in enumerate(history):
        worker.prediction(
            engine_prediction(
                drifting,
                n,
                values,
                ago=SPACING_S * (CYCLES - n),
                model_kind="anomaly",
                anomaly_score=0.5 + n * 0.15,
                anomaly_threshold=threshold,
            )
        )
    flagged = sum(1 for n in range(CYCLES) if 0.5 + n * 0.15 > threshold)
    first = next(n for n in range(CYCLES) if 0.5 + n * 0.15 > threshold)
    worker.alert(
        Alert(
            alert_id=f"{drifting}-anomaly-{first}",
            machine_id=drifting,
            kind="anomaly",
            severity="warning",
            state="open",
            opened_at=seconds_ago(SPACING_S * (CYCLES - first)),
            reading_id=f"{drifting}-c{int(history[first][0]['cycle'])}",
            failure_probability=None,
            predicted_mode=None,
            profile=TURBOFAN.id,
            anomaly_score=0.5 + first * 0.15,
            anomaly_threshold=threshold,
            message=f"anomaly on {drifting}",
        )
    )
    sensors(mill).publish(torque_nm=44.5)  # scored by the stack's real worker
    wait_for(
        lambda: {engine, drifting, mill} <= {m["machine_id"] for m in e2e_stack.get("/api/machines")["machines"]},
        what="the API storing the engines and the mill",
    )
    wait_for(lambda: len(e2e_stack.get(f"/api/alerts?machine={drifting}")["alerts"]), what="the anomaly alert stored")
    last_rul = history[-1][1] + 2.0

    # the overview: each card says what its model found
    open_live(page)
    engine_card = page.get_by_test_id(f"machine-card-{engine}")
    drifting_card = page.get_by_test_id(f"machine-card-{drifting}")
    mill_card = page.get_by_test_id(f"machine-card-{mill}")
    expect(engine_card).to_have_attribute("data-profile", TURBOFAN.id)
    expect(engine_card.get_by_test_id("card-model-badge")).to_have_text(f"{last_rul:.0f} {UNIT} left")
    expect(engine_card.get_by_test_id("card-model-badge")).to_have_attribute("data-tone", "rul-near")
    expect(engine_card.get_by_test_id("card-rul")).to_have_text(f"{last_rul:.0f}")
    expect(engine_card).to_contain_text(f"{UNIT} left ({max(0.0, last_rul - 6):.0f}–{last_rul + 8:.0f})")
    expect(engine_card).to_contain_text(f"horizon {HORIZON:.0f} {UNIT}")
    expect(engine_card).to_contain_text("End of life near")
    expect(drifting_card.get_by_test_id("card-model-badge")).to_have_text("anomaly")
    expect(drifting_card.get_by_test_id("card-anomaly")).to_have_text(f"{0.5 + (CYCLES - 1) * 0.15:.3g}")
    expect(mill_card.get_by_test_id("card-probability")).to_have_text(re.compile(r"\d+%"))
    expect(mill_card.get_by_test_id("card-model-badge")).to_have_count(0)
    attention = page.get_by_test_id("attention")
    expect(attention.locator(f"[data-machine={engine}]").get_by_test_id("attention-model-badge")).to_have_text(
        f"{last_rul:.0f} {UNIT} left"
    )
    expect(attention.locator(f"[data-machine={drifting}]").get_by_test_id("attention-model-badge")).to_have_text(
        "anomaly"
    )
    screenshot(page, "model-kinds-overview")

    # the engine: its RUL chart, the interval as a band, the horizon as a line, in the profile's unit
    engine_card.click()
    expect(page).to_have_url(re.compile(f"#/machine/{engine}$"))
    rul_chart = page.get_by_test_id("chart-rul")
    expect(rul_chart).to_contain_text(f"Remaining useful life ({UNIT})")
    expect(rul_chart).to_have_attribute(
        "aria-label",
        f"Remaining useful life ({UNIT}): latest {last_rul:.0f} {UNIT} "
        f"({max(0.0, last_rul - 6):.0f}–{last_rul + 8:.0f}), horizon {HORIZON:.0f} {UNIT}",
    )
    expect(rul_chart).to_have_attribute(
        "data-series", f"Interval high|Interval low|Remaining life|Horizon {HORIZON:.0f} {UNIT}"
    )
    expect(page.get_by_test_id("chart-probability")).to_have_count(0)
    expect(page.get_by_test_id("fact-rul")).to_contain_text(f"{last_rul:.0f} {UNIT}")
    expect(page.get_by_test_id("chart-t50")).to_contain_text("LPT outlet temperature (T50) (°R)")
    drawn = wait_drawn(rul_chart, band=500, limit=50)  # the interval's band and the horizon's line
    assert drawn["marks"] == 0, drawn  # nothing of the anomaly chart's here
    kind = page.get_by_test_id("open-alerts").get_by_test_id("alert-kind")
    expect(kind).to_have_text("End of life")
    expect(page.get_by_test_id("open-alerts").get_by_test_id("alert-figure")).to_have_text(
        f"~{history[entered][1] + 2.0:.0f} {UNIT} left"
    )
    screenshot(page, "model-kinds-rul")

    # the drifting engine: its anomaly score, the threshold, the anomalous readings marked
    page.goto(f"/#/machine/{drifting}")
    anomaly_chart = page.get_by_test_id("chart-anomaly")
    expect(anomaly_chart).to_have_attribute("aria-label", re.compile(rf"threshold 4\.00, {flagged} anomalous$"))
    expect(page.get_by_test_id("chart-rul")).to_have_count(0)
    marked = wait_drawn(anomaly_chart, marks=100, limit=50)  # the anomalous readings and the threshold
    assert marked["band"] == 0, marked
    expect(page.get_by_test_id("open-alerts").get_by_test_id("alert-kind")).to_have_text("Anomaly")
    expect(page.get_by_test_id("fact-anomaly")).to_contain_text("threshold 4.00")
    screenshot(page, "model-kinds-anomaly")

    # the mill is drawn as before: its failure probability, no RUL
    page.goto(f"/#/machine/{mill}")
    expect(page.get_by_test_id("chart-probability")).to_be_visible()
    expect(page.get_by_test_id("chart-rul")).to_have_count(0)
    expect(page.get_by_test_id("chart-anomaly")).to_have_count(0)


@pytest.fixture(scope="module")
def served_stack(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2eStack]:
    """A stack of its own whose worker also serves the shipped turbofan RUL model (data/models/)."""
    dist = _needed(built_dashboard)
    models = tmp_path_factory.mktemp("served-models") / "models"
    shutil.copytree(models_dir, models)  # the session's mill model, untouched for the other tests
    assert [profile for profile, _version in install_shipped(models)] == [TURBOFAN.id]
    with LocalBroker.create() as broker:
        stack = E2eStack.start(broker, models, tmp_path_factory.mktemp("served-stack"), dist)
        try:
            yield stack
        finally:
            stack.destroy()


def _latest_reading_id(summary: Any) -> Any:
    """The id of a machine's latest stored reading (none while it is known only from its "online" status)."""
    return (summary.get("latest") or {}).get("reading_id")


def test_the_real_worker_serves_an_engines_remaining_life_and_the_dashboard_draws_it(
    browser: Any, served_stack: E2eStack, screenshot: Screenshot
) -> None:
    """FD001 engine 1 replayed cycle by cycle by its own sensor, scored by the worker's RUL model."""
    engine = new_machine_id("engine")
    sensor = Sensor(served_stack.broker, engine, profile=TURBOFAN.id)
    mapping = TURBOFAN.csv_columns
    fields = {f.name for f in TURBOFAN.fields}
    with FD001.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["unit"] == "1"]
    try:
        for n, row in enumerate(rows):
            values = {mapping.get(column, column): float(text) for column, text in row.items()}
            sensor.send(
                {"reading_id": f"{engine}-{n}", "ts": seconds_ago(1.2 * (len(rows) - n))}
                | {name: value for name, value in values.items() if name in fields}
            )
        last = f"{engine}-{len(rows) - 1}"
        latest = wait_for(
            lambda: _latest_reading_id(m := served_stack.get(f"/api/machines/{engine}")) == last and m,
            timeout=60,
            what="the worker's prediction of the engine's last cycle",
        )
    finally:
        sensor.close()
    prediction = latest["latest"]
    assert prediction["model_kind"] == "rul"
    assert prediction["rul"] < HORIZON  # engine 1 failed at its last cycle: under the horizon
    assert prediction["rul_low"] <= prediction["rul"] <= prediction["rul_high"]
    assert prediction["status"] == "predictive"
    alerts = wait_for(lambda: served_stack.get(f"/api/alerts?machine={engine}")["alerts"], what="the rul alert")
    assert [a["kind"] for a in alerts] == ["rul"]

    context = browser.new_context(base_url=served_stack.base, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"/#/machine/{engine}")
        rul_chart = page.get_by_test_id("chart-rul")
        expect(rul_chart).to_have_attribute("aria-label", re.compile(rf"latest {prediction['rul']:.0f} {UNIT} \("))
        drawn = wait_drawn(rul_chart, band=300, limit=50)
        assert drawn["marks"] == 0, drawn
        expect(page.get_by_test_id("open-alerts").get_by_test_id("alert-kind")).to_have_text("End of life")
        screenshot(page, "model-kinds-served-rul")
    finally:
        context.close()
