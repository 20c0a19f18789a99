"""Sparkplug B topics and metric values from the contract."""

from __future__ import annotations

import pytest

from contract.sparkplug import (
    DataType,
    MessageType,
    SparkplugTopic,
    add_metric,
    decode_payload,
    edge_node_filters,
    group_filter,
    metric_value,
    new_payload,
    parse_topic,
    rebirth_command,
    state_topic,
)


def test_topics_round_trip_through_their_string() -> None:
    for text in ("spBv1.0/plant-1/NBIRTH/edge-7", "spBv1.0/plant-1/DDATA/edge-7/mill 3"):
        assert str(parse_topic(text)) == text
    assert parse_topic("spBv1.0/g/DDATA/n/d") == SparkplugTopic("g", MessageType.DDATA, "n", "d")
    assert group_filter("plant-1") == "spBv1.0/plant-1/#"
    assert state_topic("forewarn") == "spBv1.0/STATE/forewarn"


@pytest.mark.parametrize(
    "bad",
    [
        "spBv1.0/g/NDATA",
        "spBv1.0/g/XDATA/n",
        "spAv1.0/g/NDATA/n",
        "spBv1.0/g/DDATA/n",
        "spBv1.0/g/NDATA/n/d",
        "pdm/machines/x/readings",
    ],
)
def test_anything_but_a_node_or_device_message_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_topic(bad)


def test_ids_with_wildcards_or_slashes_cannot_build_a_topic() -> None:
    for bad in ("+", "#", "a/b", ""):
        with pytest.raises(ValueError, match="without"):
            SparkplugTopic("g", MessageType.NDATA, bad)


def test_an_edge_node_account_reaches_only_its_own_node() -> None:
    writes, reads = edge_node_filters("edge-7")
    assert all("/edge-7" in topic for topic in writes)
    assert "spBv1.0/+/NCMD/edge-7" in reads
    with pytest.raises(ValueError, match="without"):
        edge_node_filters("+")


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.Int8, -5),
        (DataType.Int16, -300),
        (DataType.Int32, -70000),
        (DataType.Int64, -(2**40)),
        (DataType.UInt32, 4_000_000_000),
        (DataType.Float, 40.5),
        (DataType.Double, 1e-3),
        (DataType.Boolean, True),
        (DataType.String, "M"),
    ],
)
def test_metric_values_survive_encoding_with_their_sign(datatype: int, value: object) -> None:
    payload = new_payload(seq=4)
    add_metric(payload, datatype, value, name="x", alias=3)  # type: ignore[arg-type]
    (metric,) = decode_payload(payload.SerializeToString()).metrics
    assert metric_value(metric, metric.datatype) == value
    assert (metric.name, metric.alias) == ("x", 3)


def test_a_null_metric_has_no_value_and_garbage_is_not_a_payload() -> None:
    payload = new_payload()
    add_metric(payload, DataType.Double, None, alias=1)
    assert metric_value(decode_payload(payload.SerializeToString()).metrics[0], DataType.Double) is None
    with pytest.raises(ValueError, match="not a Sparkplug B payload"):
        decode_payload(b"\xff\xff\xff")


def test_the_rebirth_command_says_node_control_rebirth_true() -> None:
    (metric,) = decode_payload(rebirth_command()).metrics
    assert metric.name == "Node Control/Rebirth"
    assert metric_value(metric, metric.datatype) is True
