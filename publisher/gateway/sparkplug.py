"""The Sparkplug B host application's logic (no I/O): births, deaths, data, aliases and sequences.

Given each message of the group (topic + decoded Tahu payload), :meth:`SparkplugHost.handle` says
what to do: publish a reading for a machine, announce a machine online or offline, or ask an edge
node for its births again (NCMD `Node Control/Rebirth`) because it sent data the host cannot read
- an alias it never saw in a birth certificate, or data from a node or device that was never born
(the host started, or lost its broker connection, after the births).

Sequence numbers (0-255, per edge node, NBIRTH starts at 0) are checked: a gap is counted and
logged. An NDEATH whose bdSeq is not the current birth's is a stale death from an older session
and is ignored, as the specification says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contract import InvalidReading
from contract.sparkplug import BD_SEQ, MessageType, MetricValue, SparkplugTopic, metric_value
from publisher.gateway.assemble import Assembler, BadValue
from publisher.gateway.mapping import SparkplugMachine, SparkplugMapping
from publisher.gateway.profile import Profile

__all__ = ["Emit", "Online", "Rebirth", "SparkplugHost"]

log = logging.getLogger(__name__)

REBIRTH_AGAIN_S = 5.0  # a lost NCMD is repeated no more often than this


@dataclass(frozen=True, slots=True)
class Emit:
    """Publish a reading of `machine_id` with `values`."""

    machine_id: str
    values: dict[str, float | str]


@dataclass(frozen=True, slots=True)
class Online:
    """Announce `machine_id` online or offline."""

    machine_id: str
    state: Literal["online", "offline"]


@dataclass(frozen=True, slots=True)
class Rebirth:
    """Send NCMD Node Control/Rebirth to `edge_node` of `group`."""

    group: str
    edge_node: str


Action = Emit | Online | Rebirth
_Key = tuple[str, str | None]  # (edge node, device or None for the node's own metrics)


@dataclass
class _Machine:
    mapping: SparkplugMachine
    assembler: Assembler
    fields_of_metric: dict[str, str]
    online: bool = False


@dataclass
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    aliases: dict[tuple[str | None, int], str] = field(default_factory=dict)  # (device, alias) -> name
    datatypes: dict[tuple[str | None, str], int] = field(default_factory=dict)  # (device, name) -> type
    devices: set[str] = field(default_factory=set)  # born and not dead


@dataclass
class HostCounters:
    messages: int = 0
    sequence_gaps: int = 0  # messages missing between two we saw
    rebirths_requested: int = 0
    unknown_metrics: int = 0  # aliases not in the birth certificate
    bad_values: int = 0
    stale_deaths: int = 0


class SparkplugHost:
    """One group's edge nodes, mapped onto Forewarn machines."""

    def __init__(self, mapping: SparkplugMapping, profiles: Mapping[str, Profile]) -> None:
        self.group = mapping.group
        self.counters = HostCounters()
        self._machines: dict[_Key, _Machine] = {
            (m.edge_node, m.device): _machine(m, profiles[m.machine]) for m in mapping.machines
        }
        self._nodes: dict[str, _Node] = {}
        self._rebirth_asked: dict[str, float] = {}

    def forget_nodes(self) -> None:
        """The host missed messages (its broker connection dropped): every node must be born again."""
        self._nodes.clear()
        self._rebirth_asked.clear()

    def handle(self, topic: SparkplugTopic, payload: Any, now: float) -> list[Action]:
        """What to do about one message of the group."""
        if topic.group != self.group:
            return []
        self.counters.messages += 1
        kind = topic.message_type
        if kind is MessageType.NBIRTH:
            return self._node_birth(topic, payload)
        if kind is MessageType.NDEATH:
            return self._node_death(topic, payload)
        if kind in (MessageType.NCMD, MessageType.DCMD):
            return []
        node = self._nodes.get(topic.edge_node)
        if node is None or (kind in (MessageType.DDATA, MessageType.DDEATH) and topic.device not in node.devices):
            return self._rebirth(topic.edge_node, now, f"{kind} from {_name(topic)}, which was never born")
        self._check_seq(topic, node, payload)
        return self._node_message(topic, node, payload, now)

    def _node_message(self, topic: SparkplugTopic, node: _Node, payload: Any, now: float) -> list[Action]:
        if topic.message_type is MessageType.DBIRTH:
            return self._device_birth(topic, node, payload)
        if topic.message_type is MessageType.DDEATH:
            node.devices.discard(topic.device or "")
            return self._offline(self._machines.get((topic.edge_node, topic.device)))
        return self._data(topic, node, payload, now)

    # ------------------------------------------------------------ births and deaths

    def _node_birth(self, topic: SparkplugTopic, payload: Any) -> list[Action]:
        node = _Node(bd_seq=_bd_seq(payload), seq=payload.seq if payload.HasField("seq") else 0)
        self._nodes[topic.edge_node] = node
        self._rebirth_asked.pop(topic.edge_node, None)
        actions: list[Action] = [
            *self._offline_devices(topic.edge_node),  # their DBIRTHs follow
        ]
        self._learn(node, None, payload)
        log.info("NBIRTH of %s (bdSeq %s)", _name(topic), node.bd_seq)
        return actions + self._born(self._machines.get((topic.edge_node, None)), node, None, payload)

    def _device_birth(self, topic: SparkplugTopic, node: _Node, payload: Any) -> list[Action]:
        assert topic.device is not None
        node.devices.add(topic.device)
        self._learn(node, topic.device, payload)
        log.info("DBIRTH of %s", _name(topic))
        return self._born(self._machines.get((topic.edge_node, topic.device)), node, topic.device, payload)

    def _born(self, machine: _Machine | None, node: _Node, device: str | None, payload: Any) -> list[Action]:
        if machine is None:
            return []
        machine.assembler.forget()
        missing = [m for m in machine.fields_of_metric if (device, m) not in node.datatypes]
        if missing:
            log.error("%s: the birth certificate has no metric %s", machine.mapping.machine, ", ".join(missing))
        self._update(machine, node, device, payload)  # a birth carries every metric's current value
        machine.online = True
        return [Online(machine.mapping.machine, "online")]

    def _node_death(self, topic: SparkplugTopic, payload: Any) -> list[Action]:
        node = self._nodes.get(topic.edge_node)
        if node is None:
            return []
        bd_seq = _bd_seq(payload)
        if bd_seq is not None and node.bd_seq is not None and bd_seq != node.bd_seq:
            self.counters.stale_deaths += 1
            log.info(
                "ignoring NDEATH of %s with bdSeq %s: the node was born again (bdSeq %s)",
                _name(topic),
                bd_seq,
                node.bd_seq,
            )
            return []
        del self._nodes[topic.edge_node]
        log.info("NDEATH of %s", _name(topic))
        return [
            *self._offline(self._machines.get((topic.edge_node, None))),
            *self._offline_devices(topic.edge_node),
        ]

    def _offline_devices(self, edge_node: str) -> list[Action]:
        machines = [m for (node, device), m in self._machines.items() if node == edge_node and device is not None]
        return [action for machine in machines for action in self._offline(machine)]

    @staticmethod
    def _offline(machine: _Machine | None) -> list[Action]:
        if machine is None or not machine.online:
            return []
        machine.online = False
        machine.assembler.forget()
        return [Online(machine.mapping.machine, "offline")]

    @staticmethod
    def _learn(node: _Node, device: str | None, payload: Any) -> None:
        for metric in payload.metrics:
            if metric.name:
                node.datatypes[(device, metric.name)] = metric.datatype
                if metric.HasField("alias"):
                    node.aliases[(device, metric.alias)] = metric.name

    # ------------------------------------------------------------ data

    def _data(self, topic: SparkplugTopic, node: _Node, payload: Any, now: float) -> list[Action]:
        machine = self._machines.get((topic.edge_node, topic.device))
        unknown = self._update(machine, node, topic.device, payload)
        actions: list[Action] = []
        if unknown:
            self.counters.unknown_metrics += unknown
            actions += self._rebirth(
                topic.edge_node, now, f"{unknown} metric(s) of {_name(topic)} with unknown aliases"
            )
        if machine is not None and machine.online:
            actions += self._reading(machine)
        return actions

    def _update(self, machine: _Machine | None, node: _Node, device: str | None, payload: Any) -> int:
        """Feed the payload's mapped metrics to the machine; returns how many metrics could not be named."""
        unknown = 0
        for metric in payload.metrics:
            name = (
                metric.name or node.aliases.get((device, metric.alias))
                if metric.HasField("alias") or metric.name
                else None
            )
            if name is None:
                unknown += 1
                continue
            if machine is None or name not in machine.fields_of_metric:
                continue
            datatype = metric.datatype or node.datatypes.get((device, name), 0)
            self._set(machine, machine.fields_of_metric[name], metric_value(metric, datatype))
        return unknown

    def _set(self, machine: _Machine, field_name: str, value: MetricValue | None) -> None:
        if value is None:
            machine.assembler.update_missing(field_name)
            return
        try:
            machine.assembler.update(field_name, value)
        except BadValue as exc:
            self.counters.bad_values += 1
            log.warning("%s: %s", machine.mapping.machine, exc)

    def _reading(self, machine: _Machine) -> list[Action]:
        try:
            values = machine.assembler.values()
        except InvalidReading as exc:
            log.warning("%s: reading not sent: %s", machine.mapping.machine, exc)
            return []
        if values is None:
            log.warning(
                "%s: no reading yet, waiting for %s", machine.mapping.machine, ", ".join(machine.assembler.missing)
            )
            return []
        return [Emit(machine.mapping.machine, values)]

    # ------------------------------------------------------------ sequence and rebirth

    def _check_seq(self, topic: SparkplugTopic, node: _Node, payload: Any) -> None:
        if not payload.HasField("seq"):
            return
        seq = int(payload.seq)
        if node.seq is not None:
            missed = (seq - node.seq - 1) % 256
            if missed:
                self.counters.sequence_gaps += missed
                log.warning(
                    "%s: seq %d after %d: %d message(s) missing (%d gaps so far)",
                    _name(topic),
                    seq,
                    node.seq,
                    missed,
                    self.counters.sequence_gaps,
                )
        node.seq = seq

    def _rebirth(self, edge_node: str, now: float, why: str) -> list[Action]:
        asked = self._rebirth_asked.get(edge_node)
        if asked is not None and now - asked < REBIRTH_AGAIN_S:
            return []
        self._rebirth_asked[edge_node] = now
        self.counters.rebirths_requested += 1
        log.warning("asking %s/%s for a rebirth: %s", self.group, edge_node, why)
        return [Rebirth(self.group, edge_node)]


def _machine(mapping: SparkplugMachine, profile: Profile) -> _Machine:
    assembler = Assembler(profile, mapping.fields, mapping.constants)
    return _Machine(mapping, assembler, {f.metric: name for name, f in mapping.fields.items()})


def _bd_seq(payload: Any) -> int | None:
    for metric in payload.metrics:
        if metric.name == BD_SEQ:
            value = metric_value(metric, metric.datatype)
            return int(value) if isinstance(value, int | float) else None
    return None


def _name(topic: SparkplugTopic) -> str:
    return f"{topic.group}/{topic.edge_node}" + (f"/{topic.device}" if topic.device else "")
