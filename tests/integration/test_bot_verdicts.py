"""Verdicts by inline buttons, maintenance by command, snoozes honoured: the bot against the
fake Bot API (callback_query, editMessageText, answerCallbackQuery), the real API and broker."""

# ruff: noqa: F811  (the fixtures of test_bot_commands, imported by name)

from __future__ import annotations

import httpx

from tests.integration.bot_harness import CHAT_A, RunningBot, make_alert
from tests.integration.test_bot_commands import (  # noqa: F401  (fixtures)
    _ask,
    _config,
    live_api,
    scene,
    telegram,
)
from tests.support.api import AUTH


def test_a_verdict_button_records_it_and_the_message_says_who_decided_what(broker, telegram, live_api, scene, tmp_path):
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        scene.publish_predictions()
        scene.publish_alert()
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) == 1)
        (message,) = telegram.messages_to(CHAT_A)
        buttons = dict(message.buttons())
        assert list(buttons) == ["✅ Real failure", "❌ False alarm", "🛠 Planned maintenance", "❔ Unsure"]
        assert buttons["❌ False alarm"] == f"v|fa|{scene.alert.alert_id}"
        telegram.user_presses(message, buttons["❌ False alarm"])
        assert telegram.wait_for(lambda t: len(t.callback_answers) == 1)
        edited = telegram.message(message.message_id)
        assert edited.text.splitlines()[-1] == "Verdict: false alarm — by Ada Lovelace"
        assert edited.text.startswith(message.text.splitlines()[0])  # the alert is still there
        assert dict(edited.buttons()) == buttons  # still changeable
        telegram.user_presses(edited, buttons["✅ Real failure"], first_name="Bo", last_name="Kim")
        assert telegram.wait_for(lambda t: len(t.callback_answers) == 2)
        changed = telegram.message(message.message_id)
        logged = _ask(telegram, f"/maintenance {scene.failing} tool_replaced new insert fitted")
        refused = _ask(telegram, f"/maintenance {scene.failing} polished")
        snoozed = _ask(telegram, f"/snooze machine {scene.healthy} 30")
        listed = _ask(telegram, "/snooze")
        bad_snooze = _ask(telegram, f"/snooze machine {scene.healthy} forever")
    finally:
        bot.stop()
    assert [a["text"] for a in telegram.callback_answers] == ["Recorded: false alarm", "Recorded: real failure"]
    assert changed.text.splitlines()[-1] == "Verdict: real failure (OSF) — by Bo Kim"  # replaced, not added
    assert sum("Verdict:" in line for line in changed.text.splitlines()) == 1
    history = scene.get(f"/api/verdicts?history=true&alert_id={scene.alert.alert_id}")["verdicts"]
    assert [(v["verdict"], v["by"], v["mode"]) for v in history] == [
        ("real_failure", "Bo Kim", "OSF"),  # a real failure takes the alert's mode when none is given
        ("false_alarm", "Ada Lovelace", None),
    ]
    assert f"Logged on {scene.failing}: tool replaced by Ada Lovelace" in logged
    entries = scene.get(f"/api/maintenance?machine={scene.failing}")["maintenance"]
    assert [(e["action"], e["note"], e["by"]) for e in entries] == [
        ("tool_replaced", "new insert fitted", "Ada Lovelace")
    ]
    assert refused.startswith("Usage: /maintenance MACHINE ACTION [note]")
    assert f"Machine {scene.healthy} snoozed until" in snoozed
    assert f"machine {scene.healthy} until" in listed
    assert "by Ada Lovelace" in listed
    assert bad_snooze.startswith("Usage: /snooze machine ID MINUTES")
    assert scene.get(f"/api/silences?machine={scene.healthy}")["silenced"] is True


def test_a_snoozed_machine_s_alerts_are_recorded_but_not_sent(broker, telegram, live_api, scene, tmp_path):
    snoozed = httpx.post(
        live_api.base + "/api/snoozes", json={"machine_id": scene.failing, "minutes": 30}, headers=AUTH, timeout=5
    )
    assert snoozed.status_code == 200
    bot = RunningBot(_config(broker, telegram, live_api, tmp_path), broker).start()
    try:
        scene.publish_predictions()
        scene.publish_alert()  # the snoozed machine's alert: stored by the API ...
        other = make_alert(scene.healthy)
        scene.worker.publish(other)  # ... and one of a machine nobody snoozed, as a witness
        assert telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) >= 1)
        telegram.wait_for(lambda t: len(t.messages_to(CHAT_A)) >= 2, timeout=2.0)  # a wrong second one
    finally:
        bot.stop()
    texts = [m.text for m in telegram.messages_to(CHAT_A)]
    assert len(texts) == 1
    assert scene.healthy in texts[0]
    assert scene.failing not in texts[0]
    assert any(a["alert_id"] == scene.alert.alert_id for a in scene.get("/api/alerts")["alerts"])  # recorded
