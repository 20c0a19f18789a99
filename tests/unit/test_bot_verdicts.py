"""Inline verdict buttons: their callback data, and the message line saying who decided what."""

from __future__ import annotations

from telegram_bot.verdicts import parse_callback, verdict_keyboard, verdict_line, with_verdict


def test_each_button_carries_its_verdict_and_the_alert_id_within_telegrams_64_bytes() -> None:
    keyboard = verdict_keyboard("slave1-detected-slave1-000042")
    assert keyboard is not None
    data = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert [parse_callback(str(d)) for d in data] == [
        ("real_failure", "slave1-detected-slave1-000042"),
        ("false_alarm", "slave1-detected-slave1-000042"),
        ("planned_maintenance", "slave1-detected-slave1-000042"),
        ("unsure", "slave1-detected-slave1-000042"),
    ]
    assert verdict_keyboard("x" * 61) is None  # the message then says how by command only


def test_foreign_or_broken_callback_data_is_not_a_verdict() -> None:
    assert parse_callback(None) is None
    assert parse_callback("v|zz|a-1") is None
    assert parse_callback("v|fa|") is None
    assert parse_callback("other|fa|a-1") is None


def test_a_changed_verdict_replaces_the_line_instead_of_adding_one() -> None:
    first = with_verdict("🔴 Failure detected\nOpened 08:15", verdict_line("false_alarm", "Ada"))
    second = with_verdict(first, verdict_line("real_failure", "Bo <b>", "OSF"))
    assert second.splitlines() == [
        "🔴 Failure detected",
        "Opened 08:15",
        "<b>Verdict:</b> real failure (OSF) — by Bo &lt;b&gt;",
    ]
