"""The contract: topics are built and parsed in one place; readings validated with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.decode import prediction_row
from api.rows import ts_to_ms
from contract import (
    ALERT_KINDS,
    MODEL_KINDS,
    PREDICTION_STATUSES,
    REJECTION_REASONS,
    Alert,
    Channel,
    InvalidName,
    InvalidPayload,
    InvalidReading,
    Prediction,
    Rejection,
    Status,
    Topics,
    parse_alert,
    parse_prediction,
    parse_reading,
    parse_rejection,
    parse_status,
)
from tests.support.payloads import encode, example, reading

EXAMPLES_V1 = Path(__file__).resolve().parents[1] / "support" / "examples"


def test_topics_are_built_from_one_prefix() -> None:
    topics = Topics("plant-a/pdm")
    assert topics.readings("press-7") == "plant-a/pdm/machines/press-7/readings"
    assert topics.all_of(Channel.PREDICTIONS) == "plant-a/pdm/machines/+/predictions"
    assert topics.service_status("api") == "plant-a/pdm/services/api/status"
    assert topics.shared("inference", "x/y") == "$share/inference/x/y"


@pytest.mark.parametrize("name", ["a/b", "a+b", "a#", "", "x" * 65, "spa ce", "ünï"])
def test_names_that_could_escape_their_subtree_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        Topics().readings(name)


def test_parse_round_trips_and_refuses_extra_levels() -> None:
    topics = Topics()
    ref = topics.parse(topics.alerts("m1"))
    assert (ref.channel, ref.machine_id) == (Channel.ALERTS, "m1")
    for bad in ["pdm/machines/m1/readings/extra", "pdm/machines/m1/nope", "other/machines/m1/readings"]:
        with pytest.raises(ValueError, match="topic"):
            topics.parse(bad)
    assert topics.machine_id_of("pdm/machines/m1/readings/extra") == "m1"


def test_the_readings_filter_reaches_deeper_levels_of_readings_only() -> None:
    topics = Topics("plant-a/pdm")
    assert topics.all_readings_any_depth() == "plant-a/pdm/machines/+/readings/#"
    assert topics.all_machine_topics() == "plant-a/pdm/machines/#"


def test_service_status_topics_parse_and_round_trip() -> None:
    topics = Topics("plant-a/pdm")
    assert topics.parse_service_status(topics.service_status("api")) == "api"
    assert topics.is_service_topic(topics.service_status("api"))
    assert not topics.is_service_topic(topics.status("api"))
    for bad in [
        "plant-a/pdm/services/api/status/extra",
        "plant-a/pdm/services/api/readings",
        "plant-a/pdm/services/api",
        "pdm/services/api/status",
        "plant-a/pdm/services/a+b/status",
    ]:
        with pytest.raises(ValueError, match=r"topic|name"):
            topics.parse_service_status(bad)


def test_every_example_payload_loads_into_its_dataclass() -> None:
    payloads: list[tuple[str, type[Prediction | Alert | Rejection | Status]]] = [
        ("prediction", Prediction),
        ("alert", Alert),
        ("rejection", Rejection),
        ("status", Status),
    ]
    for name, cls in payloads:
        data = example(name)
        assert cls.from_dict(data).to_dict() == data
    assert parse_reading(encode(example("reading"))).reading_id == "slave1-000042"


def test_every_example_payload_passes_its_validating_parser() -> None:
    assert parse_prediction(encode(example("prediction"))).to_dict() == example("prediction")
    assert parse_alert(encode(example("alert"))).to_dict() == example("alert")
    assert parse_rejection(encode(example("rejection"))).to_dict() == example("rejection")
    assert parse_status(encode(example("status"))).to_dict() == example("status")


def test_a_reading_keeps_its_values_and_its_wire_form() -> None:
    parsed = parse_reading(encode(example("reading")), "slave1")
    assert parsed.profile == "ai4i-mill"
    assert parsed.values["type"] == "L"
    assert parsed.values["torque_nm"] == 65.7
    assert parse_reading(parsed.to_json(), "slave1") == parsed


def test_a_valid_reading_is_normalised_to_utc() -> None:
    parsed = parse_reading(encode(reading(ts="2026-11-27T10:00:00+02:00", extra_field="ignored")))
    assert parsed.ts == "2026-11-27T08:00:00.000Z"


@pytest.mark.parametrize(
    ("payload", "reason", "field"),
    [
        (b"not json", "not_json", None),
        (b"\xff\xfe", "not_json", None),
        (b"[1, 2]", "not_object", None),
        (b"x" * 17_000, "too_large", None),
        (encode({k: v for k, v in reading().items() if k != "torque_nm"}), "missing_field", "torque_nm"),
        (encode(reading(torque_nm="40")), "wrong_type", "torque_nm"),
        (encode(reading(torque_nm=True)), "wrong_type", "torque_nm"),
        (encode(reading(air_temp_k=-5)), "out_of_bounds", "air_temp_k"),
        (encode(reading(ts="yesterday")), "bad_timestamp", "ts"),
        (encode(reading(ts="2026-11-27T10:00:00")), "bad_timestamp", "ts"),
        (encode(reading(ts="1969-12-31T23:59:59Z")), "bad_timestamp", "ts"),
        (encode(reading(ts="1970-01-01T00:30:00+01:00")), "bad_timestamp", "ts"),
        (encode(reading(type="X")), "bad_value", "type"),
        (encode(reading(failure=2)), "bad_value", "failure"),
        (encode(reading(reading_id="a/b")), "bad_value", "reading_id"),
        (encode(reading(machine_id="someone-else")), "machine_mismatch", "machine_id"),
        (encode(reading(machine_id="someone-else", torque_nm="x")), "machine_mismatch", "machine_id"),
        (encode(reading(torque_nm=None)), "missing_field", "torque_nm"),
        (encode(reading(type=5)), "wrong_type", "type"),
        (encode(reading(failure=True)), "bad_value", "failure"),
        (encode(reading(product_id="x" * 65)), "wrong_type", "product_id"),
        (encode(reading(ts=5)), "wrong_type", "ts"),
    ],
)
def test_bad_readings_are_rejected_with_a_reason(payload: bytes, reason: str, field: str | None) -> None:
    with pytest.raises(InvalidReading) as caught:
        parse_reading(payload, machine_id="m1")
    assert (caught.value.reason, caught.value.field) == (reason, field)


def test_empty_optional_text_means_not_given() -> None:
    # Found by the S4 fuzzing: "" passed the parser and then failed the API's non-empty check.
    parsed = parse_reading(encode(reading(product_id="", failure_description="")))
    assert ("product_id" in parsed.values, parsed.failure_description) == (False, None)


@pytest.mark.parametrize("ts", ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.9999Z", "2026-11-27T10:00:00-12:00"])
def test_a_reading_at_the_edges_makes_a_prediction_the_api_stores(ts: str) -> None:
    """The worker's parser and the API's decoder agree on the edges (1970, year 9999, empty text)."""
    parsed = parse_reading(encode(reading(ts=ts, failure_description="", product_id="")))
    prediction = Prediction(
        reading_id=parsed.reading_id,
        machine_id="m1",
        profile="ai4i-mill",
        ts=parsed.ts,
        scored_at=parsed.ts,
        status="normal",
        failure_probability=0.1,
        predicted_mode=None,
        model_version="v1",
        threshold=0.5,
        values=parsed.values,
        failure_description=parsed.failure_description,
    )
    row = prediction_row(prediction.to_json(), "m1")
    assert row["ts_ms"] == ts_to_ms(parsed.ts)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_rejected(literal: str) -> None:
    text = json.dumps(reading()).replace('"torque_nm": 40.0', f'"torque_nm": {literal}')
    with pytest.raises(InvalidReading) as caught:
        parse_reading(text.encode())
    assert caught.value.reason == "not_finite"


def test_a_version_1_prediction_is_read_as_version_2_of_an_ai4i_machine() -> None:
    old = json.loads((EXAMPLES_V1 / "prediction_v1.json").read_text())
    upgraded = parse_prediction(json.dumps(old).encode())
    assert (upgraded.schema_version, upgraded.profile) == (2, "ai4i-mill")
    assert upgraded.values["torque_nm"] == old["torque_nm"]
    assert upgraded.values["type"] == old["type"]
    assert upgraded.failure_probability == old["failure_probability"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "fine"}, "status"),
        ({"failure_probability": "0.5"}, "failure_probability"),
        ({"failure_probability": 1.5}, "failure_probability"),
        ({"values": {"torque_nm": True}}, "values.torque_nm"),
    ],
)
def test_a_prediction_outside_the_contract_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_prediction(example("prediction") | change)
    assert str(caught.value.field).startswith(field)


def test_an_unscored_prediction_has_no_probability() -> None:
    unscored = example("prediction") | {
        "status": "unscored",
        "failure_probability": None,
        "model_version": None,
        "threshold": None,
        "predicted_mode": None,
    }
    assert parse_prediction(unscored).failure_probability is None


def test_the_vocabularies_include_the_new_reason_and_status() -> None:
    assert "unknown_profile" in REJECTION_REASONS
    assert "unscored" in PREDICTION_STATUSES


def test_a_rul_prediction_carries_its_interval_unit_and_horizon() -> None:
    rul = example("prediction") | {
        "profile": "turbofan",
        "status": "predictive",
        "failure_probability": None,
        "threshold": None,
        "predicted_mode": None,
        "failure": None,
        "failure_description": None,
        "model_kind": "rul",
        "rul": 18.5,
        "rul_low": 9.0,
        "rul_high": 27,
        "rul_unit": "cycles",
        "rul_horizon": 30,
    }
    parsed = parse_prediction(encode(rul))
    assert (parsed.model_kind, parsed.rul, parsed.rul_low, parsed.rul_high) == ("rul", 18.5, 9.0, 27)
    assert (parsed.rul_unit, parsed.rul_horizon, parsed.anomaly_score) == ("cycles", 30, None)
    assert parse_prediction(parsed.to_json()) == parsed


def test_an_anomaly_prediction_carries_its_score_and_threshold() -> None:
    anomaly = example("prediction") | {
        "status": "predictive",
        "failure_probability": None,
        "threshold": None,
        "model_kind": "anomaly",
        "anomaly_score": 7.25,
        "anomaly_threshold": 4.0,
    }
    parsed = parse_prediction(anomaly)
    assert (parsed.model_kind, parsed.anomaly_score, parsed.anomaly_threshold, parsed.rul) == (
        "anomaly",
        7.25,
        4.0,
        None,
    )


def test_a_prediction_without_model_kind_was_made_by_a_classifier() -> None:
    older = {key: value for key, value in example("prediction").items() if key != "model_kind" and "rul" not in key}
    parsed = parse_prediction(older)
    assert (parsed.model_kind, parsed.rul, parsed.anomaly_score) == ("classifier", None, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_kind": "forecaster"}, "model_kind"),
        ({"rul": "12"}, "rul"),
        ({"rul_low": [1.0]}, "rul_low"),
        ({"anomaly_score": True}, "anomaly_score"),
        ({"rul_unit": 3}, "rul_unit"),
    ],
)
def test_rul_and_anomaly_fields_outside_the_contract_are_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_prediction(example("prediction") | change)
    assert str(caught.value.field).startswith(field)


def test_rul_and_anomaly_alerts_round_trip_with_their_figures() -> None:
    assert {"rul", "anomaly"} <= set(ALERT_KINDS)
    assert MODEL_KINDS == ("classifier", "rul", "anomaly")
    rul_alert = example("alert") | {
        "alert_id": "engine-7-rul-000180",
        "kind": "rul",
        "severity": "warning",
        "failure_probability": None,
        "predicted_mode": None,
        "profile": "turbofan",
        "rul": 24.0,
        "rul_unit": "cycles",
    }
    parsed = parse_alert(encode(rul_alert))
    assert (parsed.kind, parsed.rul, parsed.rul_unit, parsed.anomaly_score) == ("rul", 24.0, "cycles", None)
    anomaly_alert = rul_alert | {
        "kind": "anomaly",
        "rul": None,
        "rul_unit": None,
        "anomaly_score": 6.5,
        "anomaly_threshold": 4.0,
    }
    assert parse_alert(anomaly_alert).to_dict() == anomaly_alert
    with pytest.raises(InvalidPayload) as caught:
        parse_alert(rul_alert | {"kind": "forecast"})
    assert caught.value.field == "kind"
