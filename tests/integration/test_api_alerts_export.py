"""Alerts, acknowledgement, CSV export, retention and health, through app.test_client() on each database."""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Flask

from api import create_app, runtime_of
from api.db import history_minutes
from tests.support.api import (  # noqa: F401  (fixtures)
    AUTH,
    TOKEN,
    alert,
    api_app_fixture,
    at,
    database_url_fixture,
    feed,
    fresh_now_fixture,
    iso,
    prediction,
    test_config,
    test_now,
)


def test_alerts_open_first_newest_first_and_a_clearing_is_final(api_app: Flask) -> None:
    feed(
        api_app,
        alerts=[
            alert("m1", "old", opened_at=at(300)),
            alert("m1", "new", opened_at=at(100)),
            alert("m2", "gone", opened_at=at(50)),
        ],
    )
    feed(api_app, alerts=[alert("m2", "gone", state="cleared", opened_at=at(50))])
    feed(api_app, alerts=[alert("m2", "gone", opened_at=at(50))])  # a late redelivery of the opening
    client = api_app.test_client()
    assert [a["alert_id"] for a in client.get("/api/alerts").json["alerts"]] == ["new", "old", "gone"]
    assert [a["alert_id"] for a in client.get("/api/alerts?state=cleared").json["alerts"]] == ["gone"]
    assert [a["alert_id"] for a in client.get("/api/alerts?state=open&machine=m1").json["alerts"]] == [
        "new",
        "old",
    ]
    assert client.get("/api/machines/m2").json["open_alerts"] == []
    assert client.get("/api/alerts?state=closed").json["field"] == "state"


def test_acknowledging_records_who_and_when_once(api_app: Flask) -> None:
    feed(api_app, alerts=[alert("m1", "a1")])
    client = api_app.test_client()
    first = client.post("/api/alerts/a1/ack", json={"by": "ana"}, headers=AUTH)
    assert first.status_code == 200
    assert first.json["acked_by"] == "ana"
    assert first.json["acked_at"]
    second = client.post("/api/alerts/a1/ack", json={"by": "bo"}, headers=AUTH)
    assert second.json["acked_by"] == "ana"
    assert second.json["acked_at"] == first.json["acked_at"]
    assert client.get("/api/machines/m1").json["open_alerts"][0]["acked_by"] == "ana"
    assert client.post("/api/alerts/zz/ack", json={"by": "ana"}, headers=AUTH).status_code == 404
    for body in ({}, {"by": ""}, {"by": 5}, {"by": "x" * 65}, {"by": "a\nb"}):
        answer = client.post("/api/alerts/a1/ack", json=body, headers=AUTH)
        assert (answer.status_code, answer.json["field"]) == (400, "by"), body
    not_json = client.post("/api/alerts/a1/ack", data="by=ana", headers=AUTH)
    assert not_json.status_code == 400
    assert "JSON object" in not_json.json["error"]


def test_the_csv_export_streams_the_filtered_log(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            prediction("m1", "r1", at(3), status="failure", values={"product_id": "=HYPERLINK(1)"}),
            prediction("m1", "r2", at(2)),
            prediction("m2", "r3", at(1)),
        ],
    )
    client = api_app.test_client()
    answer = client.get("/api/export.csv?machine=m1")
    assert answer.mimetype == "text/csv"
    assert answer.is_streamed
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["reading_id"] for row in rows] == ["r2", "r1"]
    assert rows[1]["product_id"] == "'=HYPERLINK(1)"  # a formula is defused
    assert "explanation" not in rows[0]
    assert "values" not in rows[0]  # spread into one column per field of the machine's profile
    assert rows[0]["profile"] == "ai4i-mill"
    assert float(rows[0]["torque_nm"]) == prediction("m1", "x")["values"]["torque_nm"]
    limited = client.get("/api/export.csv?limit=1").get_data(as_text=True).splitlines()
    assert len(limited) == 2
    assert client.get("/api/export.csv?status=x").status_code == 400


def test_the_export_covers_more_than_one_page(api_app: Flask) -> None:
    feed(api_app, predictions=[prediction("m1", f"r{n}", at(n)) for n in range(1_050)])
    text = api_app.test_client().get("/api/export.csv").get_data(as_text=True)
    assert len(text.splitlines()) == 1_051


def test_pruning_removes_old_history_and_its_counts(database_url: str) -> None:
    app = create_app(test_config(database_url, retention_days=1))
    try:
        feed(
            app,
            predictions=[
                prediction("m1", "old", at(2 * 86_400), status="failure"),
                prediction("m1", "new", at(10)),
            ],
            alerts=[
                alert("m1", "a-old", state="cleared", opened_at=at(3 * 86_400), cleared_at=at(2 * 86_400)),
                alert("m1", "a-open", opened_at=at(3 * 86_400)),
            ],
        )
        runtime_of(app).prune()
        client = app.test_client()
        assert [i["reading_id"] for i in client.get("/api/log").json["items"]] == ["new"]
        assert client.get("/api/machines/m1").json["counts"] == {"readings": 1, "predictive": 0, "failure": 0}
        assert [a["alert_id"] for a in client.get("/api/alerts").json["alerts"]] == ["a-open"]
        with runtime_of(app).engine.connect() as conn:
            minutes = conn.execute(sa.select(history_minutes.c.n)).scalars().all()
        assert minutes == [1]  # the old reading's minute is gone from the rollup too
    finally:
        runtime_of(app).stop()
    again = create_app(test_config(database_url))
    try:
        assert again.test_client().get("/api/machines/m1").json["counts"]["readings"] == 1
    finally:
        runtime_of(again).stop()


def test_health_is_degraded_without_a_broker(api_app: Flask) -> None:
    answer = api_app.test_client().get("/api/health")
    assert answer.status_code == 503
    assert answer.json["broker_connected"] is False
    assert answer.json["database"] is True
    assert answer.json["status"] == "degraded"
    assert answer.json["version"]
