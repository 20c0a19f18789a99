"""Machines, history, the log and readings, through app.test_client() on each database."""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from api import create_app, runtime_of
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


def test_machines_list_every_machine_with_latest_status_alerts_and_counts(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            prediction("m1", "r1", at(3)),
            prediction("m1", "r2", at(2), status="predictive", failure_probability=0.6),
            prediction("m2", "r1", at(2), status="failure", failure_probability=0.95, failure=1),
        ],
        alerts=[alert("m2", "m2-detected-r1")],
        statuses=[("m3", "offline", at(1))],
    )
    body = api_app.test_client().get("/api/machines").json
    by_id = {m["machine_id"]: m for m in body["machines"]}
    assert list(by_id) == ["m1", "m2", "m3"]
    assert by_id["m1"]["status"] == "predictive"
    assert by_id["m1"]["latest"]["reading_id"] == "r2"
    assert by_id["m1"]["counts"] == {"readings": 2, "predictive": 1, "failure": 0}
    assert by_id["m1"]["online"] is True
    assert by_id["m1"]["threshold"] == 0.41
    assert [a["alert_id"] for a in by_id["m2"]["open_alerts"]] == ["m2-detected-r1"]
    assert by_id["m3"] == {**by_id["m3"], "online": False, "latest": None, "status": None}
    assert body["counts"] == {"normal": 0, "predictive": 1, "failure": 1, "unscored": 0, "offline": 1, "online": 2}
    assert by_id["m1"]["profile"] == "ai4i-mill"
    assert by_id["m3"]["profile"] is None  # heard of, never a reading


def test_one_machine_and_an_unknown_one(api_app: Flask) -> None:
    feed(api_app, predictions=[prediction("m1", "r1")])
    client = api_app.test_client()
    assert client.get("/api/machines/m1").json["latest"]["reading_id"] == "r1"
    missing = client.get("/api/machines/nope")
    assert missing.status_code == 404
    assert missing.json["field"] == "machine_id"


def test_a_redelivered_prediction_is_stored_once_and_counted_once(api_app: Flask) -> None:
    first = feed(api_app, predictions=[prediction("m1", "r1"), prediction("m1", "r1")])
    again = feed(api_app, predictions=[prediction("m1", "r1"), prediction("m1", "r2")])
    assert [row["reading_id"] for row in first.predictions] == ["r1"]
    assert [row["reading_id"] for row in again.predictions] == ["r2"]
    client = api_app.test_client()
    assert client.get("/api/machines/m1").json["counts"]["readings"] == 2
    assert [i["reading_id"] for i in client.get("/api/log").json["items"]] == ["r2", "r1"]


def test_a_restarted_api_shows_the_same_machines(database_url: str) -> None:
    app = create_app(test_config(database_url))
    feed(
        app,
        predictions=[prediction("m1", "r1", at(1), status="failure")],
        alerts=[alert("m1", "a1")],
        statuses=[("m1", "online", at(1))],
    )
    before = app.test_client().get("/api/machines").json
    runtime_of(app).stop()
    again = create_app(test_config(database_url))
    try:
        after = again.test_client().get("/api/machines").json
    finally:
        runtime_of(again).stop()
    # arrival times are not stored: after a restart the newest message's time stands in for them
    assert after["machines"][0].pop("last_seen") == at(1)
    before["machines"][0].pop("last_seen")
    assert after == before


def test_history_is_oldest_first_and_raw_when_it_fits(api_app: Flask) -> None:
    feed(api_app, predictions=[prediction("m1", f"r{n}", at(100 - n)) for n in range(10)])
    body = api_app.test_client().get("/api/machines/m1/history?limit=10").json
    assert body["downsampled"] is False
    assert body["threshold"] == 0.41
    assert [p["ts"] for p in body["points"]] == [at(100 - n) for n in range(10)]
    assert set(body["points"][0]) == {
        "ts", "values", "failure_probability", "status", "rul", "rul_low", "rul_high", "anomaly_score",
    }  # fmt: skip
    assert [body["points"][0][key] for key in ("rul", "rul_low", "rul_high", "anomaly_score")] == [None] * 4
    # the numbers of the reading's values: categories and texts are not charted
    numbers = {k: v for k, v in prediction("m1", "x")["values"].items() if isinstance(v, float)}
    assert body["points"][0]["values"] == numbers


def test_history_is_bucketed_with_mean_values_max_probability_and_worst_status(api_app: Flask) -> None:
    readings = [
        prediction(
            "m1",
            f"r{n}",
            at(1000 - n),
            values={"torque_nm": float(n)},
            failure_probability=n / 100,
            status="failure" if n == 3 else "normal",
        )
        for n in range(100)
    ]
    feed(api_app, predictions=readings)
    body = api_app.test_client().get("/api/machines/m1/history?limit=10").json
    points = body["points"]
    assert body["downsampled"] is True
    assert len(points) == 10
    assert points[0]["values"]["torque_nm"] == 4.5  # mean of 0..9
    assert points[0]["failure_probability"] == 0.09  # max of the bucket
    assert points[0]["status"] == "failure"
    assert points[1]["status"] == "normal"
    assert [p["ts"] for p in points] == sorted(p["ts"] for p in points)


def test_long_windows_are_bucketed_from_the_minute_rollup(api_app: Flask) -> None:
    hour = test_now().replace(minute=0, second=0) - timedelta(hours=11)
    readings = [
        prediction(
            "m1",
            f"r{k}",
            iso(hour + timedelta(minutes=k, seconds=30)),
            values={"torque_nm": float(k)},
            failure_probability=k / 1000,
            status="failure" if k == 3 else "predictive" if k == 70 else "normal",
        )
        for k in range(600)  # ten hours, one reading a minute
    ]
    feed(api_app, predictions=readings)
    feed(api_app, predictions=readings[:60])  # redelivered: must not count twice
    since = iso(hour)
    body = api_app.test_client().get(f"/api/machines/m1/history?since={since}&limit=10").json
    points = body["points"]
    assert body["downsampled"] is True
    assert len(points) == 10  # hour-wide buckets of whole minutes
    assert [p["values"]["torque_nm"] for p in points] == [29.5 + 60 * b for b in range(10)]
    assert points[0]["failure_probability"] == 0.059
    assert [p["status"] for p in points[:3]] == ["failure", "predictive", "normal"]
    assert points[0]["ts"] == iso(hour + timedelta(minutes=29, seconds=60))  # mean of the bucket's times


def test_history_window_defaults_to_the_last_24_hours_and_checks_parameters(api_app: Flask) -> None:
    feed(api_app, predictions=[prediction("m1", "old", at(90_000)), prediction("m1", "new", at(10))])
    client = api_app.test_client()
    assert len(client.get("/api/machines/m1/history").json["points"]) == 1
    assert len(client.get(f"/api/machines/m1/history?since={at(100_000)}").json["points"]) == 2
    assert client.get(f"/api/machines/m1/history?since={at(0)}&until={at(100)}").json["points"] == []
    for query, field in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("since=yesterday", "since"),
        ("until=", "until"),
    ]:
        answer = client.get(f"/api/machines/m1/history?{query}")
        assert (answer.status_code, answer.json["field"]) == (400, field), query
    assert client.get("/api/machines/nope/history").status_code == 404


def test_the_log_pages_through_everything_once_newest_first(api_app: Flask) -> None:
    readings = [prediction(f"m{n % 3}", f"r{n}", at(n // 2)) for n in range(25)]  # ties in time
    feed(api_app, predictions=readings)
    client = api_app.test_client()
    seen: list[tuple[str, str]] = []
    url = "/api/log?limit=4"
    while True:
        page = client.get(url).json
        seen += [(item["ts"], item["machine_id"], item["reading_id"]) for item in page["items"]]  # type: ignore[misc]
        if page["next_cursor"] is None:
            break
        url = f"/api/log?limit=4&cursor={page['next_cursor']}"
    assert len(seen) == 25
    assert len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)


def test_the_log_filters_by_status_machine_and_time(api_app: Flask) -> None:
    feed(
        api_app,
        predictions=[
            prediction("m1", "a", at(30), status="failure"),
            prediction("m1", "b", at(20)),
            prediction("m2", "c", at(10), status="failure"),
        ],
    )
    client = api_app.test_client()

    def ids(query: str) -> list[str]:
        return [item["reading_id"] for item in client.get(f"/api/log?{query}").json["items"]]

    assert ids("status=failure") == ["c", "a"]
    assert ids("machine=m1") == ["b", "a"]
    assert ids("status=failure&machine=m1") == ["a"]
    assert ids(f"since={at(25)}") == ["c", "b"]
    assert ids(f"until={at(25)}") == ["a"]
    assert ids(f"since={at(0)}&until={at(100)}") == []  # an empty window
    for query, field in [
        ("status=bad", "status"),
        ("machine=a/b", "machine"),
        ("cursor=zzz", "cursor"),
        ("limit=501", "limit"),
        ("until=2026-01-01T00:00:00", "until"),
        ("status=", "status"),
    ]:
        answer = client.get(f"/api/log?{query}")
        assert (answer.status_code, answer.json["field"]) == (400, field), query


def test_one_reading_with_its_explanation(api_app: Flask) -> None:
    feed(api_app, predictions=[prediction("m1", "r1", explanation={"torque_nm": 0.31})])
    client = api_app.test_client()
    assert client.get("/api/readings/m1/r1").json["explanation"] == {"torque_nm": 0.31}
    assert client.get("/api/readings/m1/r2").status_code == 404
