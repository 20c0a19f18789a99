"""The bot says what the alert says: a real worker's early warning, stale and duplicate closings.

A real Mosquitto and a real inference worker produce the alerts; the bot renders them to the
fake Bot API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from broker.local import LocalBroker
from common.mqtt import connect_client, create_client, wait_connected
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.bot_harness import CHAT_A, CHAT_B, AlertPublisher, RunningBot, bot_config, make_alert
from tests.support.mqtt import publish_and_wait
from tests.support.payloads import encode, reading
from tests.support.stack import start_worker, wait_online, worker_config


@pytest.fixture
def telegram(monkeypatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    with FakeTelegram() as fake:
        yield fake


def test_a_worn_tool_s_early_warning_reaches_telegram_as_one(
    broker: LocalBroker, telegram: FakeTelegram, models_dir: Path, machine_id: str, tmp_path: Path
) -> None:
    config = worker_config(broker, models_dir, "bot-early")
    worker = start_worker(config)
    wait_online(broker, config.instance)
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    settings = broker.settings(machine_id, broker.add_user(machine_id, "sensor"))
    sensor = create_client(settings, None)
    connect_client(sensor, settings)
    assert wait_connected(sensor)
    try:
        for wear in (186, 188, 190):  # a worn tool on a healthy machine: the model says normal
            publish_and_wait(sensor, broker.topics.readings(machine_id), encode(reading(tool_wear_min=wear)))
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) >= 1, timeout=20)
        time.sleep(1.0)
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        bot.stop()
        worker.stop()
    (message,) = telegram.messages_to(CHAT_A)
    lines = message.text.splitlines()
    assert lines[0] == f"🟡 Early warning on {machine_id}"
    assert lines[1] == "Tool Wear Failure (TWF) in about 14 min of tool use"  # 200 - 186 min
    assert "tool wear 186 min" in lines[2].lower()
    assert "failure mode unknown" not in message.text.lower()


def test_stale_and_duplicate_closings_say_why(
    broker: LocalBroker, telegram: FakeTelegram, machine_id: str, tmp_path: Path
) -> None:
    publisher = AlertPublisher(broker)
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    stale, duplicate = make_alert(f"{machine_id}-a"), make_alert(f"{machine_id}-b")
    try:
        for alert in (stale, duplicate):
            publisher.publish(alert)
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) == 2 for c in (CHAT_A, CHAT_B)))
        publisher.publish(
            replace(stale, state="cleared", cleared_at="2026-11-27T09:00:00.000Z", cleared_reason="offline")
        )
        publisher.publish(
            replace(duplicate, state="cleared", cleared_at="2026-11-27T08:15:03.000Z", cleared_reason="superseded")
        )
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) == 4 for c in (CHAT_A, CHAT_B)))
    finally:
        bot.stop()
        publisher.close()
    closings = [m.text.splitlines()[0] for m in telegram.messages_to(CHAT_A)[2:]]
    assert sorted(closings) == sorted(
        [f"⚪ Closed as stale on {machine_id}-a", f"✅ Duplicate closed on {machine_id}-b"]
    )
