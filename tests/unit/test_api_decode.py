"""MQTT payloads into rows, rows into the API's JSON, and the log's cursor (pure functions)."""

from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from typing import Any

import pytest

from api.decode import MalformedError, alert_row, prediction_row, status_of
from api.rows import (
    MODEL_OUTPUT_FIELDS,
    PREDICTION_FIELDS,
    UNSTORED_ALERT_FIELDS,
    alert_view,
    decode_cursor,
    encode_cursor,
    ms_to_ts,
    prediction_view,
    ts_to_ms,
)
from contract import Alert, Prediction
from tests.support.api import alert, prediction, prediction_v1


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_a_prediction_survives_the_round_trip_through_a_row() -> None:
    payload = prediction("press-7", "r-1", ts="2026-11-27T08:15:02.250Z", explanation={"torque_nm": 0.4})
    row = prediction_row(_encode(payload), "press-7")
    assert json.loads(row["values_json"]) == payload["values"]
    view = prediction_view(row)
    assert list(view) == list(PREDICTION_FIELDS)
    complete = Prediction.from_dict(payload).to_dict()  # with the defaults of the fields it left out
    assert view == complete
    assert view["model_kind"] == "classifier"
    stored = {key: value for key, value in row.items() if key != "values"}  # as read back from the database
    assert prediction_view(stored) == complete


def test_the_api_serves_every_field_of_the_contracts_prediction() -> None:
    assert set(PREDICTION_FIELDS) == {item.name for item in dataclass_fields(Prediction)}


def test_a_remaining_useful_life_and_an_anomaly_score_are_stored_and_served_as_sent() -> None:
    rul = prediction(
        "engine-7", "c-1", ts="2026-11-27T08:15:02.250Z", model_kind="rul", rul=41.5, rul_low=33.0, rul_high=52.25,
        rul_unit="cycles", rul_horizon=30.0, failure_probability=None, threshold=None,
    )  # fmt: skip
    view = prediction_view(prediction_row(_encode(rul), "engine-7"))
    assert {key: view[key] for key in MODEL_OUTPUT_FIELDS} == {key: rul.get(key) for key in MODEL_OUTPUT_FIELDS}
    anomaly = prediction(
        "pump-2", "a-1", model_kind="anomaly", anomaly_score=7.5, anomaly_threshold=4.0, status="predictive",
        failure_probability=None, threshold=None,
    )  # fmt: skip
    row = prediction_row(_encode(anomaly), "pump-2")
    assert (row["model_kind"], row["anomaly_score"], row["anomaly_threshold"], row["rul"]) == (
        "anomaly",
        7.5,
        4.0,
        None,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_kind": "oracle"}, "model_kind"),
        ({"rul": "soon"}, "rul"),
        ({"rul_unit": ""}, "rul_unit"),
        ({"rul_unit": "c" * 33}, "rul_unit"),
    ],
)
def test_a_malformed_model_output_is_refused_naming_it(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedError) as caught:
        prediction_row(_encode(prediction("engine-7", "c-1", **change)), "engine-7")
    assert caught.value.field == field


def test_an_alert_of_kind_rul_or_anomaly_keeps_its_figures() -> None:
    rul = alert("engine-7", "engine-7-rul-1", kind="rul", rul=24.0, rul_unit="cycles", failure_probability=None)
    row = alert_row(_encode(rul), "engine-7")
    assert (row["kind"], row["rul"], row["rul_unit"], row["anomaly_score"]) == ("rul", 24.0, "cycles", None)
    assert alert_view({**row, "acked_by": None, "acked_at_ms": None})["rul"] == 24.0
    anomaly = alert("pump-2", "pump-2-anomaly-1", kind="anomaly", anomaly_score=9.0, anomaly_threshold=4.0)
    row = alert_row(_encode(anomaly), "pump-2")
    assert (row["kind"], row["anomaly_score"], row["anomaly_threshold"]) == ("anomaly", 9.0, 4.0)


def test_a_version_1_prediction_is_stored_as_version_2_of_the_default_profile() -> None:
    payload = prediction_v1("press-7", "r-1", ts="2026-11-27T08:15:02.250Z")
    view = prediction_view(prediction_row(_encode(payload), "press-7"))
    assert view["profile"] == "ai4i-mill"
    assert view["schema_version"] == 2
    assert view["values"]["torque_nm"] == payload["torque_nm"]
    assert "torque_nm" not in view


def test_timestamps_with_any_offset_become_the_same_instant() -> None:
    assert ts_to_ms("2026-11-27T09:15:02.250+01:00") == ts_to_ms("2026-11-27T08:15:02.250Z")
    assert ms_to_ts(ts_to_ms("2026-11-27T08:15:02.250Z")) == "2026-11-27T08:15:02.250Z"
    assert ms_to_ts(0) == "1970-01-01T00:00:00.000Z"
    assert ms_to_ts(-1) == "1969-12-31T23:59:59.999Z"  # outside the fast path: same format
    assert ts_to_ms("0001-01-01T00:00:00+17:38") < 0  # far past with an offset: no overflow


def test_a_timestamp_without_offset_or_outside_1970_to_9999_is_refused() -> None:
    for ts in ("2026-11-27T08:15:02", "1960-01-01T00:00:00Z"):
        with pytest.raises(MalformedError) as caught:
            prediction_row(_encode(prediction("press-7", "r-1", ts=ts)), "press-7")
        assert caught.value.field == "ts"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "broken"}, "status"),
        ({"failure_probability": 1.5}, "failure_probability"),
        ({"failure_probability": "high"}, "failure_probability"),
        ({"values": {"torque_nm": None}}, "values.torque_nm"),
        ({"values": {"torque_nm": True}}, "values.torque_nm"),
        ({"values": {"Torque Nm": 1.0}}, "values"),
        ({"values": [1.0]}, "values"),
        ({"profile": ""}, "profile"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": "2026-11-27T08:15:02"}, "ts"),
        ({"reading_id": "a/b"}, "reading_id"),
        ({"reading_id": "x" * 129}, "reading_id"),
        ({"machine_id": "someone-else"}, "machine_id"),
        ({"failure": 2}, "failure"),
        ({"explanation": [1, 2]}, "explanation"),
        ({"model_version": ""}, "model_version"),
        ({"schema_version": -1}, "schema_version"),
    ],
)
def test_a_malformed_prediction_names_the_field(change: dict[str, Any], field: str) -> None:
    payload = {**prediction("press-7", "r-1"), **change}
    with pytest.raises(MalformedError) as caught:
        prediction_row(_encode(payload), "press-7")
    assert (caught.value.field or "").startswith(field)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"a": NaN', b"9" * 70_000])
def test_payloads_that_are_not_objects_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedError):
        prediction_row(raw, "press-7")


def test_an_infinite_number_is_refused() -> None:
    raw = _encode(prediction("press-7", "r-1")).replace(b'"torque_nm": 65.7', b'"torque_nm": 1e999')
    assert b"1e999" in raw
    with pytest.raises(MalformedError, match="JSON"):
        prediction_row(raw, "press-7")


def test_an_alert_becomes_a_row_and_back() -> None:
    payload = alert("press-7", "a-1", opened_at="2026-11-27T08:15:02.262Z")
    row = alert_row(_encode(payload), "press-7")
    view = alert_view({**row, "acked_by": None, "acked_at_ms": None})
    stored = {k: v for k, v in Alert.from_dict(payload).to_dict().items() if k not in UNSTORED_ALERT_FIELDS}
    assert view == {**stored, "acked_by": None, "acked_at": None}


def test_a_cleared_alert_keeps_its_clearing_time() -> None:
    payload = alert("press-7", "a-1", state="cleared", cleared_at="2026-11-27T09:00:00.000Z")
    assert alert_row(_encode(payload), "press-7")["cleared_at_ms"] == ts_to_ms("2026-11-27T09:00:00Z")


def test_statuses_decode_and_unknown_states_are_refused() -> None:
    assert status_of(b'{"state": "offline", "ts": "2026-11-27T08:15:00.000Z"}') == (
        "offline",
        ts_to_ms("2026-11-27T08:15:00Z"),
    )
    with pytest.raises(MalformedError):
        status_of(b'{"state": "sleeping", "ts": "2026-11-27T08:15:00.000Z"}')


def test_the_cursor_round_trips_and_refuses_forgeries() -> None:
    cursor = (1_795_000_000_000, "press-7", "r-1")
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for forged in ("", "!!!", "bm90IGpzb24", encode_cursor((1, "a", "b"))[:-2], "WzEsMl0"):
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(forged)
