"""Escalation: a critical alert nobody acknowledged goes again to the escalation chats, once.

Real Mosquitto, the real API (SQLite, waitress) and the fake Bot API; the escalation delay
is shortened to a second or two.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from broker.local import LocalBroker
from contract import Alert
from telegram_bot.config import BotConfig, Escalation
from telegram_bot.store import Store
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.bot_harness import CHAT_A, CHAT_B, AlertPublisher, RunningBot, bot_config, cleared, make_alert

pytest.importorskip("api", reason="the API package (api.create_app) cannot be imported")

from api import create_app, runtime_of
from tests.support.api import AUTH, TOKEN, Served, test_config

CHAT_ESCALATION = -100_999_999
AFTER_S = 1.5
SETTLE_S = 2.5  # well past the due time and a few checks: any (extra) escalation has been sent


@pytest.fixture
def telegram(monkeypatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def live_api(broker: LocalBroker, tmp_path: Path) -> Iterator[Served]:
    username = f"api-{uuid.uuid4().hex[:8]}"
    mqtt = broker.settings(username, broker.add_user(username, "viewer"), session_expiry_s=600)
    app = create_app(test_config(f"sqlite:///{tmp_path / 'api.db'}", mqtt=mqtt, topics=broker.topics))
    served = Served(app)
    yield served
    served.close()
    runtime_of(app).stop()


@pytest.fixture
def publisher(broker: LocalBroker) -> Iterator[AlertPublisher]:
    worker = AlertPublisher(broker)
    yield worker
    worker.close()


def _config(broker: LocalBroker, telegram: FakeTelegram, tmp_path: Path, api: Served | None = None) -> BotConfig:
    config = bot_config(
        broker, telegram, tmp_path / "bot", escalation=Escalation(frozenset({CHAT_ESCALATION}), AFTER_S, 0.2)
    )
    return replace(config, api_url=api.base, api_token=TOKEN) if api is not None else config


@dataclass
class Scene:
    """The broker, the fake Bot API, the live API and a worker-role publisher of alerts."""

    broker: LocalBroker
    telegram: FakeTelegram
    api: Served
    publisher: AlertPublisher
    tmp_path: Path

    def bot(self) -> RunningBot:
        return RunningBot(_config(self.broker, self.telegram, self.tmp_path, self.api), self.broker).start()


@pytest.fixture
def scene(broker: LocalBroker, telegram: FakeTelegram, live_api: Served, publisher: AlertPublisher, tmp_path: Path):
    return Scene(broker, telegram, live_api, publisher, tmp_path)


def _stored(api: Served, alert: Alert) -> None:
    """Wait until the API shows the alert (it subscribes on its own session)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{api.base}/api/alerts?state=all&machine={alert.machine_id}", timeout=5).json()["alerts"]
        if any(a["alert_id"] == alert.alert_id for a in alerts):
            return
        time.sleep(0.1)
    raise AssertionError("the API never stored the alert")


def _escalations(telegram: FakeTelegram) -> list[str]:
    return [m.text for m in telegram.messages_to(CHAT_ESCALATION)]


def test_an_unacknowledged_critical_alert_is_escalated_once(scene: Scene, machine_id: str) -> None:
    telegram, publisher = scene.telegram, scene.publisher
    bot = scene.bot()
    alert = make_alert(machine_id)  # critical: a detected failure
    warning = make_alert(f"{machine_id}-w", kind="predicted", severity="warning")
    try:
        publisher.publish(alert)
        publisher.publish(warning)
        assert telegram.wait_for(lambda t: len(_escalations(t)) >= 1, timeout=AFTER_S + 10)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    (text,) = _escalations(telegram)
    lines = text.splitlines()
    assert lines[0] == f"⏫ Escalated: not acknowledged within {AFTER_S:g} s"
    assert lines[1] == f"🔴 Failure detected on {machine_id}"
    assert f"/ack {alert.alert_id}" in text
    for chat in (CHAT_A, CHAT_B):  # the first chats got the alerts once each, and no escalation
        assert [m.text.splitlines()[0] for m in telegram.messages_to(chat)] == [
            f"🔴 Failure detected on {machine_id}",
            f"🟠 Failure predicted on {machine_id}-w",
        ]


def test_an_alert_acknowledged_in_the_api_or_cleared_in_time_is_not_escalated(scene: Scene, machine_id: str) -> None:
    telegram, publisher, live_api = scene.telegram, scene.publisher, scene.api
    bot = scene.bot()
    acked, resolved = make_alert(f"{machine_id}-a"), make_alert(f"{machine_id}-b")
    try:
        publisher.publish(acked)
        publisher.publish(resolved)
        _stored(live_api, acked)
        answer = httpx.post(f"{live_api.base}/api/alerts/{acked.alert_id}/ack", json={"by": "Dana"}, headers=AUTH)
        assert answer.status_code == 200  # as in the dashboard: the bot never hears of it but from the API
        publisher.publish(cleared(resolved))
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 3)
        time.sleep(AFTER_S + SETTLE_S)
    finally:
        bot.stop()
    assert _escalations(telegram) == []
    store = Store(scene.tmp_path / "bot" / "bot.sqlite3")
    try:
        assert store.escalation_outcome(acked.alert_id) == "acknowledged"
        assert store.escalation_outcome(resolved.alert_id) == "cleared"
    finally:
        store.close()


def test_an_escalation_survives_a_restart_and_is_never_repeated(broker, telegram, publisher, machine_id, tmp_path):
    """With the API unreachable the bot cannot know of an acknowledgement: it escalates (fail-safe)."""
    config = _config(broker, telegram, tmp_path)
    bot = RunningBot(config, broker).start()
    alert = make_alert(machine_id)
    try:
        publisher.publish(alert)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
    finally:
        bot.stop()  # stopped before the alert is due
    time.sleep(AFTER_S)
    bot = RunningBot(config, broker).start()
    try:
        assert telegram.wait_for(lambda t: len(_escalations(t)) >= 1, timeout=10)
    finally:
        bot.stop()
    bot = RunningBot(config, broker).start()  # and once more: nothing is sent again
    try:
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert len(_escalations(telegram)) == 1
    assert len(telegram.messages_to(CHAT_A)) == 1
