"""The API renders machines from their profiles: two machine classes side by side.

The test-only fan (tests/profiles/fan.yaml: two sensors, one failure mode) is
added to a registry folder next to the built-in AI4I mill; its predictions are "unscored"
(it has no model), the mill's are scored. Real SQLite and PostgreSQL.
"""

# response.json is "Any | None" to mypy: indexing it is what these tests do
# mypy: disable-error-code="index"

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app, runtime_of
from contract.profiles import builtin_profiles
from tests.support.api import (  # noqa: F401  (fixtures)
    at,
    database_url_fixture,
    feed,
    fresh_now_fixture,
    prediction,
    test_config,
)

FAN = Path(__file__).resolve().parents[1] / "profiles" / "fan.yaml"


def fan_prediction(machine_id: str, reading_id: str, ts: str, vibration: float, temp: float) -> dict[str, Any]:
    """What the worker publishes for a machine whose profile has no model yet."""
    return prediction(
        machine_id,
        reading_id,
        ts,
        profile="fan",
        status="unscored",
        failure_probability=None,
        model_version=None,
        threshold=None,
        values=None,
    ) | {"values": {"vibration_mm_s": vibration, "bearing_temp_c": temp}}


@pytest.fixture
def two_profiles(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    registry = tmp_path / "registry"
    (registry / "profiles").mkdir(parents=True)
    shutil.copy(FAN, registry / "profiles" / "fan.yaml")
    app = create_app(test_config(database_url, registry_dir=registry))
    feed(
        app,
        predictions=[
            *(fan_prediction("fan-1", f"f{n}", at(50 - n), 2.0 + n, 40.0 + n / 2) for n in range(5)),
            prediction("mill-1", "m0", at(40), values={"torque_nm": 41.5}),
            prediction("mill-1", "m1", at(30), values={"torque_nm": 42.5}),
        ],
    )
    yield app
    runtime_of(app).stop()


def test_profiles_are_listed_and_each_one_is_served(two_profiles: Flask) -> None:
    client = two_profiles.test_client()
    listed = client.get("/api/profiles").json["profiles"]
    assert [p["id"] for p in listed] == sorted([*builtin_profiles(), "fan"])
    fan = client.get("/api/profiles/fan").json
    assert [(f["name"], f["label"], f["unit"], f["kind"]) for f in fan["fields"]] == [
        ("vibration_mm_s", "vibration (RMS)", "mm/s", "sensor"),
        ("bearing_temp_c", "bearing temperature", "°C", "sensor"),
    ]
    assert [m["code"] for m in fan["failure_modes"]] == ["BRG"]
    assert client.get("/api/profiles/nope").status_code == 404
    assert client.get("/api/profiles/Not_An_Id").json["field"] == "profile"  # 404, naming the parameter


def test_machines_of_two_profiles_side_by_side_with_their_own_values(two_profiles: Flask) -> None:
    client = two_profiles.test_client()
    body = client.get("/api/machines").json
    machines = {m["machine_id"]: m for m in body["machines"]}
    assert (machines["fan-1"]["profile"], machines["mill-1"]["profile"]) == ("fan", "ai4i-mill")
    assert machines["fan-1"]["status"] == "unscored"
    assert machines["fan-1"]["latest"]["values"] == {"vibration_mm_s": 6.0, "bearing_temp_c": 42.0}
    assert machines["fan-1"]["latest"]["failure_probability"] is None
    assert body["counts"]["unscored"] == 1
    history = client.get("/api/machines/fan-1/history").json
    assert [p["values"] for p in history["points"]] == [
        {"vibration_mm_s": 2.0 + n, "bearing_temp_c": 40.0 + n / 2} for n in range(5)
    ]
    assert {p["status"] for p in history["points"]} == {"unscored"}
    assert history["points"][0]["failure_probability"] is None
    buckets = client.get("/api/machines/fan-1/history?limit=2").json
    assert buckets["downsampled"] is True
    assert set(buckets["points"][0]["values"]) == {"vibration_mm_s", "bearing_temp_c"}
    assert buckets["points"][0]["status"] == "unscored"


def test_the_log_filters_by_profile_and_the_export_has_the_profiles_columns(two_profiles: Flask) -> None:
    client = two_profiles.test_client()
    fans = client.get("/api/log?profile=fan").json["items"]
    assert {item["machine_id"] for item in fans} == {"fan-1"}
    assert client.get("/api/log?profile=Bad!").status_code == 400

    fan_csv = list(csv.reader(io.StringIO(client.get("/api/export.csv?profile=fan").text)))
    header = fan_csv[0]
    assert header[header.index("threshold") + 1 : header.index("failure")] == ["vibration_mm_s", "bearing_temp_c"]
    assert len(fan_csv) == 6
    assert fan_csv[1][header.index("vibration_mm_s")] == "6.0"

    mixed = list(csv.DictReader(io.StringIO(client.get("/api/export.csv").text)))
    assert {"vibration_mm_s", "torque_nm", "type"} <= set(mixed[0])
    mill = next(row for row in mixed if row["machine_id"] == "mill-1")
    assert (mill["torque_nm"], mill["vibration_mm_s"]) == ("42.5", "")


def test_drift_follows_the_machines_profile(two_profiles: Flask) -> None:
    client = two_profiles.test_client()
    fan = client.get("/api/drift?machine=fan-1").json
    assert (fan["profile"], fan["model_version"]) == ("fan", None)
    assert fan["reason"] == "no model of profile fan is in service (train one: python -m training --profile fan)"
    clash = client.get("/api/drift?machine=fan-1&profile=ai4i-mill")
    assert (clash.status_code, clash.json["field"]) == (400, "profile")
    assert client.get("/api/drift").json["profile"] == "ai4i-mill"  # the default profile's fleet
