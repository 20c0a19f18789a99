"""Commands sent through getUpdates get the right replies from live data.

The whole path is real but Telegram: a worker-role user publishes predictions and alerts
on a real Mosquitto, the real API (`api.create_app`, SQLite, served by waitress) stores
them, and the bot answers /status, /machine, /alerts and /ack from that API through the
fake Bot API server.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.local import LocalBroker
from telegram_bot.config import BotConfig
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.bot_harness import CHAT_A, CHAT_B, AlertPublisher, RunningBot, bot_config, make_alert

pytest.importorskip("api", reason="the API package (api.create_app) cannot be imported")

from api import create_app, runtime_of
from tests.support.api import TOKEN, Served, prediction, test_config

FAN_PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "fan.yaml"
EXPLANATION = {"conditions": [{"text": "wear × torque 12,483 min·Nm, 113 % of the 11,000 limit for type L"}]}


@pytest.fixture
def telegram(monkeypatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def live_api(broker: LocalBroker, tmp_path) -> Iterator[Served]:
    """The real API on a temp SQLite database, fed by its own viewer session on the broker.

    Its registry knows the test-only fan profile next to the built-in mill.
    """
    username = f"api-{uuid.uuid4().hex[:8]}"
    mqtt = broker.settings(username, broker.add_user(username, "viewer"), session_expiry_s=600)
    registry = tmp_path / "registry"
    (registry / "profiles").mkdir(parents=True)
    shutil.copy(FAN_PROFILE, registry / "profiles" / "fan.yaml")
    config = test_config(f"sqlite:///{tmp_path / 'api.db'}", mqtt=mqtt, topics=broker.topics, registry_dir=registry)
    app = create_app(config)
    served = Served(app)
    yield served
    served.close()
    runtime_of(app).stop()


class Scene:
    """Two machines (one failing, with an open alert) published as the worker would."""

    def __init__(self, broker: LocalBroker, api: Served, machine_id: str) -> None:
        self.api, self.worker = api, AlertPublisher(broker)
        self.failing, self.healthy = f"{machine_id}-press", f"{machine_id}-lathe"
        self.bad = prediction(
            self.failing,
            f"{self.failing}-r1",
            status="failure",
            failure_probability=0.93,
            predicted_mode="OSF",
            values={"torque_nm": 65.7, "tool_wear_min": 190.0},
            explanation=EXPLANATION,
        )
        self.good = prediction(self.healthy, f"{self.healthy}-r1")
        self.fan = f"{machine_id}-fan"
        self.fan_reading = prediction(
            self.fan,
            f"{self.fan}-r1",
            profile="fan",
            status="unscored",
            failure_probability=None,
            model_version=None,
            threshold=None,
        ) | {"values": {"vibration_mm_s": 7.25, "bearing_temp_c": 88.4}}
        self.alert = make_alert(self.failing, reading_id=self.bad["reading_id"], predicted_mode="OSF")

    def publish_predictions(self) -> None:
        def visible() -> bool:
            machines = self.get("/api/machines")["machines"]
            return {self.failing, self.healthy, self.fan} <= {m["machine_id"] for m in machines}

        self._until(visible, self._publish_predictions)

    def publish_alert(self) -> None:
        def visible() -> bool:
            return any(a["alert_id"] == self.alert.alert_id for a in self.get("/api/alerts?state=open")["alerts"])

        self._until(visible, lambda: self.worker.publish(self.alert))

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(self.api.base + path, timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def _publish_predictions(self) -> None:
        for payload in (self.bad, self.good, self.fan_reading):
            topic = self.worker.topics.predictions(payload["machine_id"])
            self.worker.client.publish(topic, json.dumps(payload).encode(), qos=1).wait_for_publish(5)

    @staticmethod
    def _until(visible, publish, timeout: float = 15.0) -> None:
        """Publish (again: the API may still be subscribing, and storing twice is harmless) until seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            publish()
            for _ in range(10):
                if visible():
                    return
                time.sleep(0.1)
        raise AssertionError("the API never showed what was published")


@pytest.fixture
def scene(broker, live_api, machine_id) -> Iterator[Scene]:
    made = Scene(broker, live_api, machine_id)
    yield made
    made.worker.close()


def _config(broker, telegram, live_api, tmp_path) -> BotConfig:
    return bot_config(broker, telegram, tmp_path, api_url=live_api.base, api_token=TOKEN)


def _ask(telegram: FakeTelegram, text: str, chat: int = CHAT_A) -> str:
    """Say `text` in `chat` and return the bot's reply."""
    before = len(telegram.messages_to(chat))
    telegram.user_says(chat, text)
    assert telegram.wait_for(lambda t: len(t.messages_to(chat)) > before), f"no reply to {text!r}"
    return telegram.messages_to(chat)[before].text


def test_commands_answer_from_the_live_api(broker, telegram, live_api, scene, tmp_path):
    scene.publish_predictions()
    scene.publish_alert()
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        status = _ask(telegram, "/status")
        machine = _ask(telegram, f"/machine {scene.failing}")
        unknown = _ask(telegram, "/machine no-such-machine")
        alerts = _ask(telegram, "/alerts")
        acked = _ask(telegram, f"/ack {scene.alert.alert_id}")
        after = _ask(telegram, "/alerts", chat=CHAT_B)
        missing = _ask(telegram, "/ack no-such-alert")
        usage = _ask(telegram, "/machine")
    finally:
        bot.stop()
    assert "1 failure" in status
    assert "1 normal" in status
    assert status.index(scene.failing) < status.index(scene.healthy)  # worst first
    assert f"{scene.failing}: failure, online" in machine
    assert "93 %" in machine
    assert "torque 65.7 Nm" in machine
    assert "Open alerts: 1" in machine
    assert scene.alert.alert_id in machine
    assert "No machine no-such-machine" in unknown
    assert f"/ack {scene.alert.alert_id}" in alerts
    assert scene.failing in alerts
    assert "acknowledged by Ada Lovelace" in acked
    assert "acknowledged by Ada Lovelace" in after
    (view,) = [a for a in scene.get("/api/alerts?state=open")["alerts"] if a["alert_id"] == scene.alert.alert_id]
    assert view["acked_by"] == "Ada Lovelace"
    assert "No alert no-such-alert" in missing
    assert usage == "Usage: /machine ID"


def test_an_alert_message_carries_the_readings_and_explanation_from_the_api(
    broker, telegram, live_api, scene, tmp_path
):
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        scene.publish_predictions()
        scene.publish_alert()
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1 and len(t.messages_to(CHAT_B)) == 1)
    finally:
        bot.stop()
    text = telegram.messages_to(CHAT_A)[0].text
    assert "Overstrain Failure (OSF)" in text
    assert "tool wear 190 min" in text
    assert "torque 65.7 Nm" in text
    assert "wear × torque 12,483 min·Nm" in text
    assert "Why: wear × torque 12,483 min·Nm, 113 % of the 11,000 limit for type L" in text


def test_machine_names_the_fields_and_units_of_its_own_profile(broker, telegram, live_api, scene, tmp_path):
    """The proof that nothing is hard-coded, bot part: a fan's reply names a fan's fields."""
    scene.publish_predictions()
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        fan = _ask(telegram, f"/machine {scene.fan}")
        mill = _ask(telegram, f"/machine {scene.failing}")
    finally:
        bot.stop()
    assert f"{scene.fan}: unscored, online" in fan
    assert "Profile: Industrial fan (fan)" in fan
    assert "Latest: vibration (RMS) 7.25 mm/s, bearing temperature 88.4 °C" in fan
    assert "torque" not in fan
    assert "Profile: AI4I 2020 milling machine (ai4i-mill)" in mill
    assert "vibration" not in mill


def test_ack_without_an_api_token_says_how_to_enable_it(broker, telegram, live_api, scene, tmp_path):
    scene.publish_predictions()
    scene.publish_alert()
    config = bot_config(broker, telegram, tmp_path, api_url=live_api.base, api_token=None)
    bot = RunningBot(config, broker).start()
    try:
        reply = _ask(telegram, f"/ack {scene.alert.alert_id}")
    finally:
        bot.stop()
    assert "FOREWARN_API_TOKEN" in reply
    (view,) = [a for a in scene.get("/api/alerts?state=open")["alerts"] if a["alert_id"] == scene.alert.alert_id]
    assert view["acked_by"] is None


class ModelKindsScene(Scene):
    """An engine scored by a RUL model (the built-in turbofan profile) and a fan by an anomaly
    detector, published with their alerts as the worker does."""

    def __init__(self, broker: LocalBroker, api: Served, machine_id: str) -> None:
        super().__init__(broker, api, machine_id)
        self.engine, self.pump = f"{machine_id}-engine", f"{machine_id}-fan2"
        self.engine_reading = prediction(
            self.engine, f"{self.engine}-c170", profile="turbofan", status="predictive", failure_probability=None,
            threshold=None, predicted_mode=None, failure=0, model_version="rul-test", model_kind="rul", rul=24.4,
            rul_low=18.2, rul_high=31.0, rul_unit="cycles", rul_horizon=30.0,
        ) | {"values": {"cycle": 170.0, "t50": 1431.5}}  # fmt: skip
        self.pump_reading = prediction(
            self.pump, f"{self.pump}-r9", profile="fan", status="predictive", failure_probability=None,
            threshold=None, predicted_mode=None, failure=0, model_version="anomaly-test", model_kind="anomaly",
            anomaly_score=9.25, anomaly_threshold=4.0,
        ) | {"values": {"vibration_mm_s": 7.25, "bearing_temp_c": 88.4}}  # fmt: skip
        self.rul_alert = make_alert(
            self.engine, kind="rul", severity="warning", reading_id=self.engine_reading["reading_id"],
            profile="turbofan", failure_probability=None, predicted_mode=None, rul=24.4, rul_unit="cycles",
            message=f"{self.engine} entered its horizon",
        )  # fmt: skip
        self.anomaly_alert = make_alert(
            self.pump, kind="anomaly", severity="warning", reading_id=self.pump_reading["reading_id"], profile="fan",
            failure_probability=None, predicted_mode=None, anomaly_score=9.25, anomaly_threshold=4.0,
            message=f"anomaly on {self.pump}",
        )  # fmt: skip

    def publish_all(self) -> None:
        def stored() -> bool:
            machines = {m["machine_id"] for m in self.get("/api/machines")["machines"]}
            return {self.engine, self.pump} <= machines

        def publish() -> None:
            for payload in (self.engine_reading, self.pump_reading):
                topic = self.worker.topics.predictions(payload["machine_id"])
                self.worker.client.publish(topic, json.dumps(payload).encode(), qos=1).wait_for_publish(5)

        self._until(stored, publish)


@pytest.fixture
def kinds_scene(broker, live_api, machine_id) -> Iterator[ModelKindsScene]:
    made = ModelKindsScene(broker, live_api, machine_id)
    yield made
    made.worker.close()


def test_machine_says_the_cycles_left_of_a_rul_machine_and_the_score_of_an_anomaly_machine(
    broker, telegram, live_api, kinds_scene, tmp_path
):
    kinds_scene.publish_all()
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        engine = _ask(telegram, f"/machine {kinds_scene.engine}")
        pump = _ask(telegram, f"/machine {kinds_scene.pump}")
        status = _ask(telegram, "/status")
    finally:
        bot.stop()
    assert f"{kinds_scene.engine}: within horizon, online" in engine
    assert "Profile: Turbofan engine (C-MAPSS) (turbofan)" in engine
    assert "Remaining useful life ~24 cycles (18–31), horizon 30 cycles" in engine
    assert "probability" not in engine
    assert f"{kinds_scene.pump}: anomaly, online" in pump
    assert "Anomaly score 9.25 vs threshold 4 (above: an anomaly — no failure label; a deviation from normal)" in pump
    assert f"{kinds_scene.engine} within horizon, ~24 cycles left" in status
    assert f"{kinds_scene.pump} anomaly, anomaly score 9.25" in status


def test_rul_and_anomaly_alert_messages_say_what_they_are(broker, telegram, live_api, kinds_scene, tmp_path):
    kinds_scene.publish_all()
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        kinds_scene.worker.publish(kinds_scene.rul_alert)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        kinds_scene.worker.publish(kinds_scene.anomaly_alert)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 2)
    finally:
        bot.stop()
    rul, anomaly = (message.text for message in telegram.messages_to(CHAT_A))
    # the interval comes from the alert's prediction, fetched from the API
    assert f"{kinds_scene.engine} entered its horizon: ~24 cycles left (18–31)" in rul
    assert "End of life near: remaining useful life under 30 cycles (Turbofan engine (C-MAPSS))" in rul
    assert (
        f"Anomaly on {kinds_scene.pump}: score 9.25 above threshold 4 — no failure label; a deviation from normal"
    ) in anomaly
    assert "probability" not in rul + anomaly
