"""Alerts published on MQTT reach each allowed chat exactly once, through a fake Bot API.

A real Mosquitto (TLS, ACL) carries the alerts; the bot talks HTTP to a local fake of
Telegram's Bot API, which records every message and answers 429 and 500 on demand.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.local import LocalBroker
from telegram_bot.store import Store
from tests.fakes.telegram_api import Failure, FakeTelegram
from tests.integration.bot_harness import (
    CHAT_A,
    CHAT_B,
    DASHBOARD,
    STRANGER,
    AlertPublisher,
    RunningBot,
    bot_config,
    cleared,
    make_alert,
)

SETTLE_S = 1.0  # after the expected messages arrived, time for any duplicate to show up


@pytest.fixture
def telegram(monkeypatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 23's RetryAfter.retry_after type, without the warning
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def publisher(broker: LocalBroker) -> Iterator[AlertPublisher]:
    worker = AlertPublisher(broker)
    yield worker
    worker.close()


def _count_mentions(telegram: FakeTelegram, chat_id: int, needle: str) -> int:
    return sum(needle in m.raw_text for m in telegram.messages_to(chat_id))


def test_an_alert_becomes_one_message_per_allowed_chat(broker, telegram, publisher, machine_id, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    try:
        alert = make_alert(machine_id)
        publisher.publish(alert)
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) == 1 for c in (CHAT_A, CHAT_B)))
        publisher.publish(alert)  # the same event again, as after a worker restart: no new message
        publisher.publish(cleared(alert))
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) == 2 for c in (CHAT_A, CHAT_B)))
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    for chat in (CHAT_A, CHAT_B):
        opened, closed = telegram.messages_to(chat)
        assert machine_id in opened.text
        assert "Failure detected" in opened.text
        assert "Power Failure (PWF)" in opened.text  # the profile's name of the mode
        assert "93 %" in opened.text
        assert f"{DASHBOARD}/#/machine/{machine_id}" in opened.text
        assert f"/ack {alert.alert_id}" in opened.text
        assert "Cleared" in closed.text
        assert machine_id in closed.text
    assert telegram.messages_to(STRANGER) == []
    assert len(telegram.messages) == 4


def test_the_command_menu_is_registered(broker, telegram, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    bot.stop()
    names = [command["command"] for command in telegram.commands]
    assert names == ["status", "machine", "alerts", "ack", "mute", "unmute", "maintenance", "snooze", "help"]


def test_a_chat_not_on_the_list_gets_nothing_and_its_text_is_not_logged(broker, telegram, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    try:
        telegram.user_says(STRANGER, "/status my-secret-words")
        telegram.user_says(STRANGER, "/help")
        telegram.user_says(CHAT_A, "/help")  # an allowed chat, so we know the bot has read all three
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        assert telegram.wait_for(lambda t: t.pending_updates() == 0, timeout=5)
    finally:
        bot.stop()
    assert telegram.messages_to(STRANGER) == []
    assert "/status" in telegram.messages_to(CHAT_A)[0].text  # the help text lists the commands
    ignored = [r.getMessage() for r in caplog.records if "not in TELEGRAM_ALLOWED_CHAT_IDS" in r.getMessage()]
    assert len(ignored) == 2
    assert all(str(STRANGER) in line for line in ignored)
    assert "my-secret-words" not in caplog.text


def test_429s_and_500s_delay_but_never_drop_or_duplicate_an_alert(broker, telegram, publisher, machine_id, tmp_path):
    telegram.fail_next(
        "sendMessage",
        Failure(429, retry_after=1),
        Failure(500),
        Failure(502),
        Failure(500),
        Failure(429, retry_after=1),
        Failure(500),
        Failure(500),
        Failure(429, retry_after=1),
    )
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    alerts = [make_alert(f"{machine_id}-{n}") for n in range(3)]
    try:
        for alert in alerts:
            publisher.publish(alert)
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) == 3 for c in (CHAT_A, CHAT_B)), 30)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert telegram.failures_left("sendMessage") == 0  # every failure was really met
    for chat in (CHAT_A, CHAT_B):
        assert [_count_mentions(telegram, chat, a.alert_id) for a in alerts] == [1, 1, 1]
    assert len(telegram.calls("sendMessage")) == 6 + 8


def test_a_restart_does_not_resend_old_alerts(broker, telegram, publisher, machine_id, tmp_path):
    config = bot_config(broker, telegram, tmp_path)
    first, second = make_alert(machine_id), make_alert(f"{machine_id}-b")
    bot = RunningBot(config, broker).start()
    try:
        publisher.publish(first)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1 and len(t.messages_to(CHAT_B)) == 1)
    finally:
        bot.stop()
    publisher.publish(second)  # while the bot is away: its persistent session keeps it
    publisher.publish(first)  # and a republished old event: already delivered, so never again
    bot = RunningBot(config, broker).start()
    try:
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 2 and len(t.messages_to(CHAT_B)) == 2)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    for chat in (CHAT_A, CHAT_B):
        assert _count_mentions(telegram, chat, first.alert_id) == 1
        assert _count_mentions(telegram, chat, second.alert_id) == 1


def test_deliveries_pending_at_a_stop_go_out_after_the_restart(broker, telegram, publisher, machine_id, tmp_path):
    config = bot_config(broker, telegram, tmp_path)
    alert = make_alert(machine_id)
    telegram.fail_next("sendMessage", *[Failure(500)] * 1000)  # Telegram down: nothing can go out
    bot = RunningBot(config, broker).start()
    try:
        publisher.publish(alert)
        assert telegram.wait_for(lambda t: len(t.calls("sendMessage")) >= 4)
    finally:
        bot.stop()
    store = Store(Path(config.state_dir) / "bot.sqlite3")
    assert store.outcomes(alert.alert_id) == {("open", CHAT_A): None, ("open", CHAT_B): None}
    store.close()
    telegram.clear_failures()  # Telegram is back
    bot = RunningBot(config, broker).start()
    try:
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1 and len(t.messages_to(CHAT_B)) == 1)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert _count_mentions(telegram, CHAT_A, alert.alert_id) == 1
    assert _count_mentions(telegram, CHAT_B, alert.alert_id) == 1


def test_a_burst_of_alerts_becomes_one_digest_per_chat(broker, telegram, publisher, machine_id, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    alerts = [make_alert(f"{machine_id}-{n}") for n in range(8)]
    try:
        for alert in alerts:
            publisher.publish(alert)
        assert telegram.wait_for(lambda t: all(len(t.messages_to(c)) >= 1 for c in (CHAT_A, CHAT_B)))
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    for chat in (CHAT_A, CHAT_B):
        (digest,) = telegram.messages_to(chat)
        assert "8 alert events at once" in digest.text
        assert all(alert.alert_id in digest.text for alert in alerts)


def test_a_muted_machine_sends_nothing_to_that_chat_until_unmuted(broker, telegram, publisher, machine_id, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    try:
        telegram.user_says(CHAT_A, f"/mute {machine_id} 30")
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        assert "muted in this chat until" in telegram.messages_to(CHAT_A)[0].text
        muted = make_alert(machine_id)
        publisher.publish(muted)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_B)) == 1)
        telegram.user_says(CHAT_A, f"/unmute {machine_id}")
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 2)
        heard = make_alert(machine_id)
        publisher.publish(heard)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 3 and len(t.messages_to(CHAT_B)) == 2)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert _count_mentions(telegram, CHAT_A, muted.alert_id) == 0
    assert _count_mentions(telegram, CHAT_A, heard.alert_id) == 1
    assert _count_mentions(telegram, CHAT_B, muted.alert_id) == 1


def test_a_malformed_alert_is_dropped_and_the_next_one_still_arrives(broker, telegram, publisher, machine_id, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    try:
        publisher.publish_raw(machine_id, b'{"alert_id": "x", "nonsense": true}')
        publisher.publish_raw(machine_id, b"not json")
        good = make_alert(machine_id)
        publisher.publish(good)
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert [good.alert_id in m.raw_text for m in telegram.messages] == [True, True]


def test_the_token_never_appears_in_a_log_line(broker, telegram, publisher, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram"):
        caplog.set_level(logging.DEBUG, logger=name)
    telegram.fail_next("sendMessage", Failure(500))
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()
    try:
        publisher.publish(make_alert(f"m-{uuid.uuid4().hex[:12]}"))
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
    finally:
        bot.stop()
    secret = telegram.token.split(":")[1]
    assert any("sendMessage" in r.getMessage() for r in caplog.records)  # the URLs were logged...
    assert secret not in caplog.text  # ...without the token
    assert "<bot-token>" in caplog.text


def test_commands_say_so_when_the_api_is_down(broker, telegram, tmp_path):
    bot = RunningBot(bot_config(broker, telegram, tmp_path), broker).start()  # its API URL: nothing listens
    try:
        telegram.user_says(CHAT_A, "/status")
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        telegram.user_says(CHAT_A, "/frobnicate")
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 2)
    finally:
        bot.stop()
    status, unknown = (m.text for m in telegram.messages_to(CHAT_A))
    assert status == "Cannot get the status: the Forewarn API is unreachable (ConnectError)"
    assert "/help" in unknown


def test_a_stop_during_a_send_lets_it_finish_so_a_restart_does_not_repeat_it(
    broker, telegram, publisher, machine_id, tmp_path
):
    config = bot_config(broker, telegram, tmp_path)
    alert = make_alert(machine_id)
    telegram.delay_next("sendMessage", 1.5, count=2)  # Telegram has the messages; its answers are late
    bot = RunningBot(config, broker).start()
    try:
        publisher.publish(alert)
        assert telegram.wait_for(lambda t: len(t.messages) == 2)
    finally:
        bot.stop()  # while both answers are still on their way
    bot = RunningBot(config, broker).start()
    try:
        time.sleep(SETTLE_S)
    finally:
        bot.stop()
    assert _count_mentions(telegram, CHAT_A, alert.alert_id) == 1
    assert _count_mentions(telegram, CHAT_B, alert.alert_id) == 1
