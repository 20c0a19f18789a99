"""The Sparkplug B host's decisions, fed an edge node's real protobuf messages (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.sparkplug import decode_payload, parse_topic
from publisher.gateway.mapping import check_sparkplug_mapping
from publisher.gateway.source import parse
from publisher.gateway.sparkplug import Emit, Online, Rebirth, SparkplugHost
from tests.support.sparkplug_edge import MILL_METRICS, EdgeMessages

MAPPING = """\
group: plant-1
host_id: spb-host
machines:
  - machine: mill-3
    profile: ai4i-mill
    edge_node: edge-7
    device: mill
    fields:
      air_temp_k: {metric: Air/Temp}
      process_temp_k: {metric: Process/Temp}
      rotational_speed_rpm: {metric: Spindle/Speed}
      torque_nm: {metric: Spindle/Torque}
      tool_wear_min: {metric: Tool/Wear}
      type: {metric: Product/Type}
"""


@pytest.fixture
def host() -> SparkplugHost:
    mapping, profiles, _ = check_sparkplug_mapping(parse(MAPPING, Path("spb.yaml")))
    return SparkplugHost(mapping, profiles)


@pytest.fixture
def edge() -> EdgeMessages:
    return EdgeMessages("plant-1", "edge-7", {"mill": MILL_METRICS, "conveyor": {"Belt/Speed": (10, 1.0)}})


def feed(host: SparkplugHost, message: tuple[str, bytes], now: float = 0.0) -> list[object]:
    topic, raw = message
    return list(host.handle(parse_topic(topic), decode_payload(raw), now))


def born(host: SparkplugHost, edge: EdgeMessages) -> list[object]:
    return [action for message in edge.births() for action in feed(host, message)]


def test_births_bring_the_machine_online_and_data_by_alias_becomes_a_reading(host, edge) -> None:
    assert born(host, edge) == [Online("mill-3", "online")]
    (reading,) = feed(host, edge.device_data("mill", {"Spindle/Torque": 55.5}))
    assert isinstance(reading, Emit)
    assert reading.machine_id == "mill-3"
    assert reading.values == {
        "air_temp_k": 298.1,
        "process_temp_k": 308.6,
        "rotational_speed_rpm": 1551.0,
        "torque_nm": 55.5,
        "tool_wear_min": 10.0,
        "type": "M",
    }
    assert host.counters.sequence_gaps == 0


def test_an_unknown_alias_asks_for_a_rebirth_once_until_the_pause_is_over(host, edge) -> None:
    born(host, edge)
    first = feed(host, edge.unknown_alias_data("mill"), now=10.0)
    assert Rebirth("plant-1", "edge-7") in first
    assert Rebirth("plant-1", "edge-7") not in feed(host, edge.unknown_alias_data("mill"), now=11.0)
    assert Rebirth("plant-1", "edge-7") in feed(host, edge.unknown_alias_data("mill"), now=16.0)
    assert host.counters.unknown_metrics == 3


def test_data_from_a_node_never_born_asks_for_a_rebirth_and_is_not_published(host, edge) -> None:
    edge.births()  # published before the host was listening
    assert feed(host, edge.device_data("mill", {"Spindle/Torque": 50.0})) == [Rebirth("plant-1", "edge-7")]
    born(host, edge)
    assert isinstance(feed(host, edge.device_data("mill", {"Spindle/Torque": 51.0}))[0], Emit)


def test_a_sequence_gap_is_counted_and_the_data_still_used(host, edge) -> None:
    born(host, edge)
    edge.skip(3)
    actions = feed(host, edge.device_data("mill", {"Tool/Wear": 11}))
    assert isinstance(actions[0], Emit)
    assert host.counters.sequence_gaps == 3


def test_the_sequence_wraps_after_255_without_a_gap(host, edge) -> None:
    born(host, edge)
    for wear in range(300):
        feed(host, edge.device_data("mill", {"Tool/Wear": wear}))
    assert host.counters.sequence_gaps == 0


def test_deaths_take_the_machine_offline_and_a_stale_ndeath_is_ignored(host, edge) -> None:
    born(host, edge)
    assert feed(host, edge.device_death("mill")) == [Online("mill-3", "offline")]
    assert feed(host, edge.device_birth("mill")) == [Online("mill-3", "online")]
    stale = edge.node_death(bd_seq=edge.bd_seq)
    edge.bd_seq += 1
    born(host, edge)  # the node came back before its old session's death arrived
    assert feed(host, stale) == []
    assert host.counters.stale_deaths == 1
    assert feed(host, edge.node_death()) == [Online("mill-3", "offline")]


def test_a_value_outside_the_profile_is_not_published(host, edge) -> None:
    born(host, edge)
    assert feed(host, edge.device_data("mill", {"Spindle/Torque": 5000.0})) == []


def test_after_the_host_reconnects_the_next_data_asks_for_births(host, edge) -> None:
    born(host, edge)
    host.forget_nodes()
    assert feed(host, edge.device_data("mill", {"Tool/Wear": 12})) == [Rebirth("plant-1", "edge-7")]


def test_messages_of_another_group_are_ignored(host) -> None:
    other = EdgeMessages("plant-2", "edge-7", {"mill": MILL_METRICS})
    assert [a for m in other.births() for a in feed(host, m)] == []
