"""Verdicts, the maintenance log, snoozes and maintenance windows, and alert quality, through
the API on real SQLite and PostgreSQL (revision 0004)."""

# mypy: disable-error-code="index"

from __future__ import annotations

import csv
import io
import uuid

from flask import Flask

from tests.support.api import (  # noqa: F401  (fixtures)
    AUTH,
    alert,
    api_app_fixture,
    at,
    database_url_fixture,
    feed,
    prediction,
)


def _alerted(app: Flask, machine: str, model_version: str = "v-abc") -> str:
    alert_id = f"{machine}-predicted-{uuid.uuid4().hex[:6]}"
    feed(
        app,
        predictions=[prediction(machine, "r1", model_version=model_version)],
        alerts=[alert(machine, alert_id, kind="predicted", severity="warning", reading_id="r1", predicted_mode="TWF")],
    )
    return alert_id


def test_a_verdict_is_stored_with_who_when_and_the_model_and_can_be_changed(api_app: Flask) -> None:
    client = api_app.test_client()
    alert_id = _alerted(api_app, "press-1")
    first = client.post(f"/api/alerts/{alert_id}/verdict", json={"verdict": "false_alarm", "by": "Ana"}, headers=AUTH)
    assert first.status_code == 200
    assert (first.json["verdict"], first.json["by"], first.json["model_version"]) == ("false_alarm", "Ana", "v-abc")
    second = client.post(
        f"/api/alerts/{alert_id}/verdict",
        json={"verdict": "real_failure", "mode": "TWF", "note": "tool broke", "by": "Bo"},
        headers=AUTH,
    )
    assert second.status_code == 200
    latest = client.get("/api/verdicts").json["verdicts"]
    assert [(v["alert_id"], v["verdict"], v["mode"]) for v in latest] == [(alert_id, "real_failure", "TWF")]
    history = client.get(f"/api/verdicts?history=true&alert_id={alert_id}").json["verdicts"]
    assert [v["verdict"] for v in history] == ["real_failure", "false_alarm"]  # newest first, both kept
    exported = list(csv.DictReader(io.StringIO(client.get("/api/verdicts.csv").get_data(as_text=True))))
    assert [(r["alert_id"], r["verdict"], r["by"], r["kind"], r["machine_id"]) for r in exported] == [
        (alert_id, "real_failure", "Bo", "predicted", "press-1")
    ]
    assert list(exported[0]) == [
        "alert_id", "machine_id", "profile", "kind", "verdict", "mode", "note", "by", "at", "model_version",
        "alert_opened_at",
    ]  # fmt: skip


def test_bad_verdicts_are_clear_errors_and_store_nothing(api_app: Flask) -> None:
    client = api_app.test_client()
    alert_id = _alerted(api_app, "press-2")
    unknown = client.post("/api/alerts/no-such-alert/verdict", json={"verdict": "unsure"}, headers=AUTH)
    assert unknown.status_code == 404
    assert unknown.json == {
        "error": "unknown alert 'no-such-alert': no stored alert has this id (GET /api/alerts)",
        "field": "alert_id",
    }
    without_token = client.post(f"/api/alerts/{alert_id}/verdict", json={"verdict": "unsure"})
    assert without_token.status_code == 401
    wrong = client.post(f"/api/alerts/{alert_id}/verdict", json={"verdict": "maybe"}, headers=AUTH)
    assert (wrong.status_code, wrong.json["field"]) == (400, "verdict")
    extra = client.post(f"/api/alerts/{alert_id}/verdict", json={"verdict": "unsure", "x": 1}, headers=AUTH)
    assert (extra.status_code, extra.json["field"]) == (400, "x")
    assert client.get("/api/verdicts").json["verdicts"] == []


def test_the_maintenance_log_records_what_was_done_and_when(api_app: Flask) -> None:
    client = api_app.test_client()
    done = at(3600)
    posted = client.post(
        "/api/maintenance",
        json={"machine_id": "press-3", "action": "tool_replaced", "at": done, "note": "new insert", "by": "Ana"},
        headers=AUTH,
    )
    assert posted.status_code == 200
    client.post("/api/maintenance", json={"machine_id": "press-4", "action": "inspected"}, headers=AUTH)
    entries = client.get("/api/maintenance?machine=press-3").json["maintenance"]
    assert [(e["machine_id"], e["action"], e["note"], e["by"]) for e in entries] == [
        ("press-3", "tool_replaced", "new insert", "Ana")
    ]
    assert entries[0]["at"][:19] == done[:19]
    bad = client.post("/api/maintenance", json={"machine_id": "press-3", "action": "polished"}, headers=AUTH)
    assert (bad.status_code, bad.json["field"]) == (400, "action")
    bad_time = client.post(
        "/api/maintenance", json={"machine_id": "press-3", "action": "other", "at": "yesterday"}, headers=AUTH
    )
    assert (bad_time.status_code, bad_time.json["field"]) == (400, "at")


def test_snoozes_and_maintenance_windows_silence_alerts_while_in_force(api_app: Flask) -> None:
    client = api_app.test_client()
    assert client.get("/api/silences?machine=press-5").json == {"silenced": False, "silences": []}
    snooze = client.post("/api/snoozes", json={"machine_id": "press-5", "minutes": 30, "by": "Ana"}, headers=AUTH)
    assert snooze.status_code == 200
    silenced = client.get("/api/silences?machine=press-5").json
    assert silenced["silenced"] is True
    assert [s["type"] for s in silenced["silences"]] == ["snooze"]
    assert client.get("/api/silences?machine=press-6").json["silenced"] is False  # another machine
    one = client.post("/api/snoozes", json={"alert_id": "a-7", "minutes": 5}, headers=AUTH).json
    assert client.get("/api/silences?machine=press-6&alert_id=a-7").json["silenced"] is True
    assert client.delete(f"/api/snoozes/{one['id']}", headers=AUTH).status_code == 200
    assert client.get("/api/silences?machine=press-6&alert_id=a-7").json["silenced"] is False
    window = {"machine_id": "press-6", "start": at(600), "end": at(-600), "note": "planned stop"}
    assert client.post("/api/maintenance-windows", json=window, headers=AUTH).status_code == 200
    found = client.get("/api/silences?machine=press-6").json["silences"]
    assert [(s["type"], s["note"]) for s in found] == [("maintenance_window", "planned stop")]
    after = client.get(f"/api/silences?machine=press-6&at={at(-1200).replace('+', '%2B')}").json
    assert after["silenced"] is False  # after the window's end
    both = client.post("/api/snoozes", json={"machine_id": "m", "alert_id": "a", "minutes": 5}, headers=AUTH)
    assert both.status_code == 400
    assert "one of them" in both.json["error"]
    backwards = client.post(
        "/api/maintenance-windows", json={"machine_id": "m", "start": at(0), "end": at(60)}, headers=AUTH
    )
    assert (backwards.status_code, backwards.json["field"]) == (400, "end")


def test_alert_quality_counts_rates_and_the_noisiest_machines(api_app: Flask) -> None:
    client = api_app.test_client()
    noisy = [_alerted(api_app, "noisy", model_version="v1") for _ in range(3)]
    calm = _alerted(api_app, "calm", model_version="v2")
    for alert_id, verdict in zip(noisy, ("false_alarm", "false_alarm", "real_failure"), strict=True):
        client.post(f"/api/alerts/{alert_id}/verdict", json={"verdict": verdict}, headers=AUTH)
    client.post(f"/api/alerts/{calm}/verdict", json={"verdict": "unsure"}, headers=AUTH)
    client.post(f"/api/alerts/{noisy[0]}/ack", json={"by": "Ana"}, headers=AUTH)
    report = client.get("/api/alerts/quality").json
    assert report["alerts"] == 4
    assert report["with_verdict"] == 4
    assert report["verdict_share"] == 1.0
    assert report["acknowledged"] == 1
    assert report["time_to_acknowledge_s"]["median"] >= 0
    assert report["false_alarm_rate"]["overall"] == {"judged": 3, "false_alarms": 2, "rate": 0.6667}
    assert report["false_alarm_rate"]["by_model_version"]["v1"]["rate"] == 0.6667
    assert report["false_alarm_rate"]["by_model_version"]["v2"]["judged"] == 0  # unsure is not a judgement
    assert report["false_alarm_rate"]["by_mode"]["TWF"]["false_alarms"] == 2
    assert report["noisiest_machines"][0] == {"machine_id": "noisy", "alerts": 3, "per_day": 0.1, "false_alarms": 2}
