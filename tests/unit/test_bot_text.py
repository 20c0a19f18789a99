"""The text of alert messages, digests and command replies (pure functions)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from contract import Alert
from contract.profiles import builtin_profiles
from telegram_bot.alert_text import alert_message, digest_message, explanation_lines, readings_that_matter
from telegram_bot.replies import alerts_reply, help_reply, machine_reply, menu, mutes_reply, status_reply
from telegram_bot.text import MAX_TEXT, machine_link, percent, when
from tests.support.payloads import example

DASH = "http://localhost:8000"
MILL = builtin_profiles()["ai4i-mill"].to_json_dict()  # as GET /api/profiles/ai4i-mill answers
FAN = {
    "id": "test-fan",
    "name": "Test fan",
    "fields": [
        {"name": "vibration_rms", "label": "vibration RMS", "kind": "sensor", "unit": "mm/s", "decimals": 2},
        {"name": "bearing_temp_c", "label": "bearing temperature", "kind": "sensor", "unit": "°C", "decimals": 1},
    ],
    "failure_modes": [{"code": "BRG", "name": "Bearing Failure"}],
}


def _alert(**changes: Any) -> Alert:
    return replace(Alert.from_dict(example("alert")), **changes)


def _prediction(values: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    base = example("prediction") | changes
    return base | {"values": base["values"] | (values or {})}


def _visible(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_an_opened_alert_names_everything_a_person_needs():
    text = _visible(alert_message(_alert(), _prediction(), DASH, MILL))
    assert text.splitlines() == [
        "🔴 Failure detected on slave1",
        "Power Failure (PWF), probability 93 %",
        "Readings: rotational speed 1,410 rpm, torque 65.7 Nm, power 9,701 W",
        "Opened 2026-11-27 08:15:02 UTC",
        "Acknowledge: /ack slave1-detected-slave1-000042",
        "http://localhost:8000/#/machine/slave1",
    ]


def test_a_predicted_alert_without_readings_still_makes_sense():
    text = _visible(alert_message(_alert(kind="predicted", predicted_mode=None), None, DASH))
    assert text.startswith("🟠 Failure predicted on slave1\nFailure mode unknown, probability 93 %")
    assert "Readings" not in text


def test_a_cleared_alert_says_back_to_normal_with_both_times():
    alert = _alert(state="cleared", cleared_at="2026-11-27T08:20:00.000Z")
    text = _visible(alert_message(alert, None, DASH))
    assert "✅ Cleared on slave1" in text
    assert "back to normal" in text
    assert "Opened 2026-11-27 08:15:02 UTC, cleared 2026-11-27 08:20:00 UTC" in text


def test_data_is_escaped_for_telegram_html():
    text = alert_message(_alert(machine_id="a<b>&c", predicted_mode="<x>"), None, DASH)
    assert "a&lt;b&gt;&amp;c" in text
    assert "&lt;x&gt;" in text
    assert "<b>a<b>" not in text


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("TWF", ["tool wear 191 min"]),
        (
            "HDF",
            ["air temperature 298.9 K", "process temperature 309.1 K", "rotational speed 1,410 rpm",
             "process − air 10.2 K"],
        ),
        ("PWF", ["rotational speed 1,410 rpm", "torque 65.7 Nm", "power 9,701 W"]),
        ("OSF", ["torque 65.7 Nm", "tool wear 191 min", "wear × torque 12,549 min·Nm"]),
        (
            None,
            ["air temperature 298.9 K", "process temperature 309.1 K", "rotational speed 1,410 rpm",
             "torque 65.7 Nm", "tool wear 191 min"],
        ),
    ],
)  # fmt: skip
def test_the_readings_that_matter_follow_the_failure_mode_from_the_profile(mode, expected):
    assert readings_that_matter(_prediction(), mode, MILL) == expected


def test_missing_or_broken_readings_are_left_out():
    assert readings_that_matter(_prediction({"torque_nm": None}), "PWF", MILL) == ["rotational speed 1,410 rpm"]
    assert readings_that_matter({"values": {"torque_nm": "65"}}, None, MILL) == []
    assert readings_that_matter({"torque_nm": 65.0}, None, MILL) == []  # not a version-2 prediction


def test_another_profile_names_its_own_fields_units_and_modes():
    fan = _prediction(profile="test-fan", predicted_mode="BRG") | {
        "values": {"vibration_rms": 7.5, "bearing_temp_c": 91.0}
    }
    text = _visible(alert_message(_alert(predicted_mode="BRG"), fan, DASH, FAN))
    assert "Bearing Failure (BRG), probability 93 %" in text
    assert "Readings: vibration RMS 7.50 mm/s, bearing temperature 91.0 °C" in text
    assert "torque" not in text


def test_without_a_profile_values_are_shown_by_their_names():
    text = _visible(alert_message(_alert(predicted_mode="BRG"), _prediction() | {"values": {"vib": 7.5}}, DASH))
    assert "BRG, probability 93 %" in text
    assert "Readings: vib 7.50" in text


@pytest.mark.parametrize(
    ("explanation", "expected"),
    [
        (None, []),
        ("not a mapping", []),
        ({"conditions": ["power 9.7 kW below 3.5 kW"]}, ["power 9.7 kW below 3.5 kW"]),
        ({"conditions": [{"text": "a"}, {"description": "b"}, {"nothing": 1}, 5]}, ["a", "b"]),
        (
            {"contributions": {"torque_nm": 0.31, "air_temp_k": -0.2, "tool_wear_min": 0.12}},
            ["raised by torque_nm +0.31, tool_wear_min +0.12"],
        ),
        (
            {"contributions": [{"feature": "torque_nm", "contribution": 0.4}, {"feature": 3}, "x"]},
            ["raised by torque_nm +0.40"],
        ),
        ({"contributions": {"torque_nm": -0.4}}, []),
        ({"conditions": ["1", "2", "3", "4"]}, ["1", "2", "3"]),
    ],
)
def test_explanations_of_any_shape_render_defensively(explanation, expected):
    assert explanation_lines(explanation) == expected


def test_an_explanation_appears_as_why_lines():
    prediction = _prediction(explanation={"conditions": ["wear × torque 11,840 min·Nm, 96 % of the limit"]})
    assert "Why: wear × torque 11,840 min·Nm, 96 % of the limit" in alert_message(_alert(), prediction, DASH, MILL)


def test_a_digest_lists_every_alert_when_they_fit():
    alerts = [_alert(alert_id=f"id-{n}", machine_id=f"m{n}") for n in range(8)]
    text, covered = digest_message(alerts, DASH, len(alerts))
    assert covered == 8
    assert "8 alert events at once" in text
    assert all(f"id-{n}" in text for n in range(8))


def test_a_huge_digest_is_split_into_messages_under_telegrams_limit():
    alerts = [_alert(alert_id="x" * 64 + str(n), machine_id="m" * 64) for n in range(200)]
    text, covered = digest_message(alerts, DASH, len(alerts))
    assert 0 < covered < 200
    assert len(_visible(text)) <= MAX_TEXT
    assert f"… {200 - covered} more follow." in text


def test_helpers_format_times_percentages_and_links():
    assert when("2026-11-27T08:15:02.262Z") == "2026-11-27 08:15:02 UTC"
    assert when("2026-11-27T09:15:02+01:00", with_date=False) == "08:15:02 UTC"
    assert when(None) == "?"
    assert when("yesterday") == "yesterday"
    assert percent(0.934) == "93 %"
    assert percent(float("nan")) == "?"
    assert percent(True) == "?"
    assert machine_link("http://h:8000/", "press 7") == "http://h:8000/#/machine/press%207"


def _summary(
    machine_id: str, status: str, online: bool = True, probability: float = 0.1, alerts: int = 0
) -> dict[str, Any]:
    return {
        "machine_id": machine_id,
        "online": online,
        "status": status,
        "last_seen": "2026-11-27T08:00:00Z",
        "latest": _prediction(machine_id=machine_id, status=status, failure_probability=probability),
        "open_alerts": [{"alert_id": f"a{n}"} for n in range(alerts)],
        "threshold": 0.41,
    }


def test_status_lists_counts_then_machines_worst_first():
    data = {
        "machines": [
            _summary("ok1", "normal"),
            _summary("bad", "failure", probability=0.93, alerts=1),
            _summary("gone", "normal", online=False),
            _summary("warn", "predictive"),
        ],
        "counts": {"normal": 2, "predictive": 1, "failure": 1, "offline": 1, "online": 3},
    }
    lines = _visible(status_reply(data)).splitlines()
    assert lines[0] == "4 machines: 🔴 1 failure · 🟠 1 predictive · 🟢 2 normal · ⚫ 1 offline"
    assert [line.split()[1] for line in lines[1:5]] == ["bad", "warn", "gone", "ok1"]
    assert lines[1] == "🔴 bad failure, 93 %, 1 open alert"
    assert lines[3] == "⚫ gone offline, last seen 2026-11-27 08:00:00 UTC"


def test_status_with_no_machines_and_with_too_many():
    assert status_reply({"machines": [], "counts": {}}) == "No machines have reported yet."
    many = {
        "machines": [_summary(f"machine-{n:04d}" + "x" * 30, "normal") for n in range(500)],
        "counts": None,
    }
    text = status_reply(many)
    assert len(text) <= MAX_TEXT
    assert "more (see the dashboard)" in text


def test_machine_reply_shows_values_status_and_open_alerts():
    machine = _summary("slave1", "failure", probability=0.93) | {"open_alerts": [example("alert") | {"acked_by": None}]}
    text = _visible(machine_reply(machine, DASH, MILL))
    assert text.startswith(
        "🔴 slave1: failure, online\nProfile: AI4I 2020 milling machine (ai4i-mill)\n"
        "Failure probability 93 % (threshold 41 %), Power Failure (PWF)"
    )
    assert (
        "Latest: air temperature 298.9 K, process temperature 309.1 K, rotational speed 1,410 rpm, "
        "torque 65.7 Nm, tool wear 191 min"
    ) in text
    assert "Open alerts: 1" in text
    assert "/ack slave1-detected-slave1-000042" in text
    assert text.endswith("http://localhost:8000/#/machine/slave1")


def test_machine_reply_of_a_machine_without_data():
    text = _visible(machine_reply({"machine_id": "new", "online": False, "status": None, "latest": None}, DASH))
    assert text.startswith("⚪ new: no data, offline\nNo open alerts.")


def test_alerts_reply_shows_who_acknowledged_and_how_to_ack():
    opened = example("alert") | {"acked_by": None}
    acked = example("alert") | {"alert_id": "other", "acked_by": "Ada"}
    text = _visible(alerts_reply({"alerts": [opened, acked, example("alert") | {"state": "cleared"}]}))
    assert text.startswith("2 open alerts")
    assert "/ack slave1-detected-slave1-000042" in text
    assert "acknowledged by Ada" in text
    assert alerts_reply({"alerts": []}) == "✅ No open alerts."


def test_help_and_mutes_replies():
    assert "/mute ID MINUTES — silence a machine's alerts in this chat" in help_reply(DASH)
    assert DASH in help_reply(DASH)
    assert "Nothing is muted" in mutes_reply([])
    until = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert _visible(mutes_reply([("press-7", until)])) == "Muted in this chat:\npress-7 until 2026-11-27 09:30 UTC"


def test_the_command_menu_fits_telegrams_rules():
    entries = menu()
    assert [name for name, _ in entries] == [
        "status", "machine", "alerts", "ack", "mute", "unmute", "maintenance", "snooze", "help",
    ]  # fmt: skip
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", name) for name, _ in entries)
    assert all(3 <= len(text) <= 256 for _, text in entries)
    assert dict(entries)["machine"] == (
        "ID: latest values, status, probability or remaining life or anomaly score, open alerts"
    )


# ----------------------------------------------------------------- remaining useful life, anomaly

TURBOFAN = builtin_profiles()["turbofan"].to_json_dict()


def _engine(**changes: Any) -> dict[str, Any]:
    """A RUL model's prediction: life and interval in cycles, no probability."""
    made = {
        "machine_id": "engine-7", "profile": "turbofan", "status": "predictive", "failure_probability": None,
        "threshold": None, "predicted_mode": None, "model_kind": "rul", "rul": 24.4, "rul_low": 18.2, "rul_high": 31.0,
        "rul_unit": "cycles", "rul_horizon": 30.0, "failure": 0, "failure_description": None,
    }  # fmt: skip
    return _prediction(**(made | changes)) | {"values": {"cycle": 170.0, "t50": 1431.5}}


def _pump(score: float = 9.25, **changes: Any) -> dict[str, Any]:
    return _prediction(
        machine_id="pump-2", profile="test-fan", status="predictive" if score > 4 else "normal",
        failure_probability=None, threshold=None, predicted_mode=None, model_kind="anomaly", anomaly_score=score,
        anomaly_threshold=4.0, failure=0, failure_description=None, **changes,
    ) | {"values": {"vibration_rms": 7.25}}  # fmt: skip


def test_a_rul_alert_says_the_engine_entered_its_horizon_with_the_cycles_left():
    alert = _alert(
        machine_id="engine-7", kind="rul", severity="warning", rul=24.4, rul_unit="cycles",
        failure_probability=None, predicted_mode=None, alert_id="engine-7-rul-1",
    )  # fmt: skip
    lines = _visible(alert_message(alert, _engine(), DASH, TURBOFAN)).splitlines()
    assert lines[0] == "⏳ engine-7 entered its horizon: ~24 cycles left (18–31)"
    assert lines[1] == "End of life near: remaining useful life under 30 cycles (Turbofan engine (C-MAPSS))"
    assert "probability" not in "\n".join(lines)
    assert "Acknowledge: /ack engine-7-rul-1" in lines
    # without the prediction (the API could not say): the alert's own figures, the profile's horizon
    alone = _visible(alert_message(alert, None, DASH, TURBOFAN)).splitlines()
    assert alone[:2] == [
        "⏳ engine-7 entered its horizon: ~24 cycles left",
        "End of life near: remaining useful life under 30 cycles (Turbofan engine (C-MAPSS))",
    ]


def test_an_anomaly_alert_says_it_is_a_deviation_from_normal_not_a_failure_label():
    alert = _alert(
        machine_id="pump-2", kind="anomaly", severity="warning", anomaly_score=9.25, anomaly_threshold=4.0,
        failure_probability=None, predicted_mode=None,
    )  # fmt: skip
    text = _visible(alert_message(alert, _pump(), DASH, FAN))
    assert text.splitlines()[0] == (
        "🔶 Anomaly on pump-2: score 9.25 above threshold 4 — no failure label; a deviation from normal"
    )
    assert "Failure" not in text
    assert "probability" not in text


def test_cleared_rul_and_anomaly_alerts_and_their_digest_lines():
    rul = _alert(machine_id="engine-7", kind="rul", rul=24.0, rul_unit="cycles", failure_probability=None)
    anomaly = _alert(machine_id="pump-2", kind="anomaly", anomaly_score=9.25, anomaly_threshold=4.0)
    done = replace(rul, state="cleared", cleared_at="2026-11-27T09:00:00.000Z")
    assert (
        _visible(alert_message(done, None, DASH, TURBOFAN)).splitlines()[1]
        == "End of life near is over: back to normal"
    )
    digest, covered = digest_message([rul, anomaly], DASH, 2)
    lines = _visible(digest).splitlines()
    assert covered == 2
    assert lines[1].startswith("⏳ engine-7 rul ~24 cycles left 08:15:02 UTC")
    assert lines[2].startswith("🔶 pump-2 anomaly score 9.25 > 4 08:15:02 UTC")


def test_machine_reply_of_a_rul_machine_says_the_cycles_left_with_the_interval():
    machine = {"machine_id": "engine-7", "online": True, "status": "predictive", "latest": _engine(),
               "open_alerts": [], "threshold": None}  # fmt: skip
    lines = _visible(machine_reply(machine, DASH, TURBOFAN)).splitlines()
    assert lines[0] == "🟠 engine-7: within horizon, online"
    assert lines[1] == "Profile: Turbofan engine (C-MAPSS) (turbofan)"
    assert lines[2] == "Remaining useful life ~24 cycles (18–31), horizon 30 cycles"
    assert lines[3].startswith("Latest: operating cycle 170 cycles, LPT outlet temperature (T50) 1,431.50 °R")
    warming = machine | {"status": "unscored", "latest": _engine(rul=None, status="unscored", rul_low=None)}
    assert "Remaining useful life: not estimated yet" in _visible(machine_reply(warming, DASH, TURBOFAN))


def test_machine_reply_of_an_anomaly_machine_gives_the_score_against_its_threshold():
    machine = {"machine_id": "pump-2", "online": True, "status": "predictive", "latest": _pump(),
               "open_alerts": [], "threshold": None}  # fmt: skip
    text = _visible(machine_reply(machine, DASH, FAN))
    assert "pump-2: anomaly, online" in text
    assert "Anomaly score 9.25 vs threshold 4 (above: an anomaly — no failure label; a deviation from normal)" in text
    calm = machine | {"status": "normal", "latest": _pump(score=1.5)}
    assert "Anomaly score 1.5 vs threshold 4 (below: normal behaviour)" in _visible(machine_reply(calm, DASH, FAN))
    assert "Failure probability" not in text


def test_status_and_alerts_replies_say_what_each_kind_of_model_found():
    data = {
        "counts": {"normal": 0, "predictive": 2},
        "machines": [
            {"machine_id": "engine-7", "online": True, "status": "predictive", "latest": _engine(), "open_alerts": []},
            {"machine_id": "pump-2", "online": True, "status": "predictive", "latest": _pump(), "open_alerts": []},
        ],
    }
    status = _visible(status_reply(data))
    assert "engine-7 within horizon, ~24 cycles left" in status
    assert "pump-2 anomaly, anomaly score 9.25" in status
    alerts = {
        "alerts": [
            _alert(machine_id="engine-7", kind="rul", rul=24.0, rul_unit="cycles", alert_id="r1").to_dict()
            | {"acked_by": None},
            _alert(
                machine_id="pump-2", kind="anomaly", anomaly_score=9.25, anomaly_threshold=4.0, alert_id="a1"
            ).to_dict()
            | {"acked_by": None},
        ]
    }
    listed = _visible(alerts_reply(alerts))
    assert "engine-7 rul, entered its horizon, ~24 cycles left, since" in listed
    assert "pump-2 anomaly, anomaly, score 9.25 above 4, since" in listed


def test_a_rul_alert_says_what_shortened_the_life_and_an_anomaly_alert_what_raised_the_score():
    contributions = [
        {"feature": "t50_mean30", "value": 1431.2, "healthy": 1405.1, "contribution": -21.5},
        {"feature": "ps30_slopeall", "value": 0.02, "healthy": 0.0, "contribution": -4.25},
        {"feature": "nc", "value": 9050.0, "healthy": 9040.0, "contribution": 2.0},
    ]
    explanation = {"text": "24 cycles of useful life left", "contributions": contributions}
    alert = _alert(machine_id="engine-7", kind="rul", rul=24.4, rul_unit="cycles", failure_probability=None)
    text = _visible(alert_message(alert, _engine(explanation=explanation), DASH, TURBOFAN))
    assert "Why: shortened by t50_mean30 -21.5, ps30_slopeall -4.2" in text
    assert explanation_lines(explanation, kind="anomaly") == ["raised by nc +2.00"]


EARLY = {
    "mode": "TWF",
    "remaining": 12.0,
    "unit": "min",
    "text": "tool wear 188 min: about 12 min of tool use left before the tool-wear failure region (200 min)",
}


def _early_warning(**warning: Any) -> Alert:
    return _alert(
        kind="predicted",
        severity="warning",
        predicted_mode="TWF",
        failure_probability=0.01,
        message="slave1: early warning, ...",
        early_warning=EARLY | warning,
    )


def test_an_early_warning_says_the_warning_its_mode_and_the_time_left():
    text = _visible(alert_message(_early_warning(), None, DASH, MILL))
    assert text.splitlines()[:4] == [
        "🟡 Early warning on slave1",
        "Tool Wear Failure (TWF) in about 12 min of tool use",
        "Tool wear 188 min: about 12 min of tool use left before the tool-wear failure region (200 min)",
        "Model probability now 1 %: the forecast sees it coming first",
    ]
    assert "failure mode unknown" not in text.lower()
    assert "Acknowledge: /ack" in text


@pytest.mark.parametrize(
    ("warning", "expected"),
    [
        ({"remaining": 3.5, "unit": "cycles", "mode": "OSF"}, "Overstrain Failure (OSF) in about 3.5 cycles"),
        ({"remaining": 0.0}, "Tool Wear Failure (TWF) now: inside the failure region"),
        ({"remaining": None, "remaining_min": 7.0, "unit": None}, "Tool Wear Failure (TWF) in about 7 min of tool use"),
        ({"remaining": "soon"}, "Tool Wear Failure (TWF) ahead"),
    ],
)
def test_the_time_left_reads_well_in_any_unit(warning, expected):
    assert _visible(alert_message(_early_warning(**warning), None, DASH, MILL)).splitlines()[1] == expected


def test_an_early_warning_in_a_digest_says_so():
    text, _covered = digest_message([_early_warning(), _alert()], DASH, 2)
    lines = _visible(text).splitlines()
    assert lines[1].startswith("🟡 slave1 early warning TWF in about 12 min of tool use")
    assert lines[2].startswith("🔴 slave1 detected PWF 93 %")


def test_an_alert_closed_as_stale_says_the_machine_went_offline():
    alert = _alert(
        state="cleared",
        cleared_at="2026-11-27T09:00:00.000Z",
        cleared_reason="offline",
        message="slave1: offline since 2026-11-27T08:30:00.000Z, closed as stale after 30 min",
    )
    lines = _visible(alert_message(alert, None, DASH)).splitlines()
    assert lines[0] == "⚪ Closed as stale on slave1"
    assert "stayed offline" in lines[1]
    assert "closed as stale after 30 min" in lines[2]
    assert "back to normal" not in "\n".join(lines)
    digest, _ = digest_message([alert], DASH, 1)
    assert "stale" in _visible(digest).splitlines()[1]


def test_a_duplicate_closed_is_not_called_back_to_normal():
    alert = _alert(state="cleared", cleared_at="2026-11-27T08:15:03.000Z", cleared_reason="superseded")
    text = _visible(alert_message(alert, None, DASH))
    assert text.startswith("✅ Duplicate closed on slave1")
    assert "back to normal" not in text
