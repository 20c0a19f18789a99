"""The bot's pure parts: planning what to send, pacing, retries, config parsing, decoding, redaction.

Loading the whole config reads files (the CA, secrets): tests/integration/test_bot_config.py.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from datetime import timedelta

import pytest
from telegram.error import RetryAfter

from common.settings import ConfigError
from contract import Alert
from telegram_bot import config
from telegram_bot.alert_text import escalation_message
from telegram_bot.escalation import decide, needs_watching
from telegram_bot.mqtt_feed import decode_alert
from telegram_bot.planner import ChatPace, Digest, Single, plan_next, split_muted
from telegram_bot.redact import MASK, TokenRedactor, install_redactor
from telegram_bot.sending import RetryPolicy, plain_text, retry_after_s
from telegram_bot.store import Delivery
from tests.support.payloads import example

TOKEN = "123456:AAE-secret_token"


def _deliveries(count: int, machine: str = "m") -> list[Delivery]:
    alert = Alert.from_dict(example("alert"))
    return [Delivery(n, 1, replace(alert, alert_id=f"a{n}", machine_id=f"{machine}{n % 2}")) for n in range(count)]


def test_few_pending_alerts_go_one_by_one_oldest_first():
    pending = _deliveries(5)
    assert plan_next(pending, digest_over=5) == Single(pending[0])
    assert plan_next([], digest_over=5) is None


def test_more_than_the_threshold_become_one_digest():
    pending = _deliveries(6)
    assert plan_next(pending, digest_over=5) == Digest(tuple(pending))


def test_muted_machines_are_split_off():
    pending = _deliveries(4)
    send, muted = split_muted(pending, {"m1"})
    assert [d.seq for d in send] == [0, 2]
    assert [d.seq for d in muted] == [1, 3]


def test_pace_keeps_a_gap_between_messages():
    pace = ChatPace(min_gap_s=1.0, max_per_minute=20)
    assert pace.wait_s(100.0) == 0.0
    pace.record(100.0)
    assert pace.wait_s(100.25) == pytest.approx(0.75)
    assert pace.wait_s(101.5) == 0.0


def test_pace_caps_messages_per_minute():
    pace = ChatPace(min_gap_s=0.0, max_per_minute=3)
    for moment in (0.0, 1.0, 2.0):
        pace.record(moment)
    assert pace.wait_s(3.0) == pytest.approx(57.0)  # the oldest leaves the window at 60
    assert pace.wait_s(60.5) == 0.0


def test_backoff_doubles_up_to_the_cap_with_jitter():
    policy = RetryPolicy(base_s=1.0, max_s=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay_s(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize("timedelta_mode", ["0", "1"])
def test_retry_after_is_read_in_seconds_either_way(monkeypatch, timedelta_mode):
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta_mode)
    assert retry_after_s(RetryAfter(7)) == 7.0
    assert retry_after_s(RetryAfter(timedelta(seconds=3))) == 3.0


def test_plain_text_fallback_removes_tags_and_entities():
    assert plain_text("<b>a &amp; b</b> <code>/ack x</code>") == "a & b /ack x"


def test_chat_ids_parse_with_spaces_and_groups():
    assert config.parse_chat_ids(" 123, -100456 ,,") == frozenset({123, -100456})
    assert config.parse_chat_ids("") == frozenset()
    with pytest.raises(ConfigError, match="'abc' is not a chat id"):
        config.parse_chat_ids("123,abc")


def test_the_bot_is_off_without_a_token(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert config.bot_token() is None
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert config.bot_token() == TOKEN


def test_alert_payloads_decode_or_are_refused():
    assert decode_alert(Alert.from_dict(example("alert")).to_json()).alert_id == "slave1-detected-slave1-000042"
    for bad in (
        b"not json",
        b"[]",
        b'{"alert_id": "x"}',
        example_bytes(state="closed"),
        example_bytes(kind="?"),
    ):
        with pytest.raises(ValueError, match="alert"):
            decode_alert(bad)


def example_bytes(**changes) -> bytes:
    return json.dumps(example("alert") | changes).encode()


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("httpx", logging.INFO, __file__, 1, msg, args, exc_info)


def test_the_redactor_hides_the_token_in_messages_args_and_tracebacks():
    redactor = TokenRedactor(TOKEN)
    record = _record("HTTP Request: POST %s", f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    assert redactor.filter(record)
    assert record.getMessage() == f"HTTP Request: POST https://api.telegram.org/bot{MASK}/getUpdates"
    failing = _record("failed", exc=True)
    redactor.filter(failing)
    formatted = logging.Formatter().format(failing)
    assert TOKEN not in formatted
    assert MASK in formatted


def test_install_redactor_covers_every_handler_and_can_be_removed():
    logger = logging.getLogger("test-bot-redaction")
    handler = logging.Handler()
    logger.addHandler(handler)
    remove = install_redactor(TOKEN, logger)
    assert any(isinstance(f, TokenRedactor) for f in handler.filters)
    remove()
    assert handler.filters == []
    logger.removeHandler(handler)


def test_escalation_settings_name_the_variable_at_fault(monkeypatch):
    monkeypatch.setenv("TELEGRAM_ESCALATION_CHAT_IDS", "-100777, 42")
    monkeypatch.setenv("TELEGRAM_ESCALATE_AFTER_MIN", "10")
    settings = config._escalation()
    assert (settings.chat_ids, settings.after_s, settings.enabled) == (frozenset({-100777, 42}), 600.0, True)
    monkeypatch.setenv("TELEGRAM_ESCALATION_CHAT_IDS", "ops")
    with pytest.raises(ConfigError, match="TELEGRAM_ESCALATION_CHAT_IDS: 'ops' is not a chat id"):
        config._escalation()
    monkeypatch.setenv("TELEGRAM_ESCALATION_CHAT_IDS", "")
    monkeypatch.setenv("TELEGRAM_ESCALATE_AFTER_MIN", "0")
    with pytest.raises(ConfigError, match="TELEGRAM_ESCALATE_AFTER_MIN"):
        config._escalation()
    monkeypatch.delenv("TELEGRAM_ESCALATE_AFTER_MIN")
    assert not config._escalation().enabled


def test_only_what_nobody_acknowledged_or_cleared_is_escalated():
    assert decide("a1", None) == "escalated"  # the API cannot say: better twice than never
    assert decide("a1", []) == "escalated"  # not stored there: nobody acknowledged it there
    assert decide("a1", [{"alert_id": "a2", "acked_by": "Dana"}, {"alert_id": "a1", "state": "open"}]) == "escalated"
    assert decide("a1", [{"alert_id": "a1", "state": "open", "acked_by": "Dana"}]) == "acknowledged"
    assert decide("a1", [{"alert_id": "a1", "state": "cleared", "acked_by": None}]) == "cleared"
    alert = Alert.from_dict(example("alert"))
    assert needs_watching(alert)
    assert not needs_watching(replace(alert, severity="warning", kind="predicted"))
    assert not needs_watching(replace(alert, state="cleared"))


def test_an_escalation_message_says_why_it_came_again():
    alert = Alert.from_dict(example("alert"))
    text = escalation_message(alert, None, "http://dash", 900.0)
    assert text.splitlines()[:2] == [
        "⏫ <b>Escalated</b>: not acknowledged within 15 min",
        "🔴 <b>Failure detected</b> on <b>slave1</b>",
    ]
