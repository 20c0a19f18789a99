"""Sparkplug B: every topic (built and parsed here only) and the payloads (Eclipse Tahu's protobuf).

    SparkplugTopic("plant-1", MessageType.DDATA, "edge-7", "mill-3")  # 'spBv1.0/plant-1/DDATA/edge-7/mill-3'
    parse_topic("spBv1.0/plant-1/NBIRTH/edge-7")
    group_filter("plant-1")                                           # 'spBv1.0/plant-1/#'

Payloads are Tahu's `org.eclipse.tahu.protobuf.Payload` (contract/sparkplug_b_pb2.py); the helpers
here read a metric's value the way its datatype says and build the few payloads Forewarn sends.
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from contract import sparkplug_b_pb2 as _pb

__all__ = [
    "BD_SEQ",
    "NAMESPACE",
    "REBIRTH",
    "DataType",
    "MessageType",
    "MetricValue",
    "SparkplugTopic",
    "add_metric",
    "decode_payload",
    "edge_node_filters",
    "group_filter",
    "host_filters",
    "metric_value",
    "new_payload",
    "parse_topic",
    "rebirth_command",
    "state_topic",
]

NAMESPACE = "spBv1.0"
REBIRTH = "Node Control/Rebirth"  # the NCMD metric that asks an edge node for new births
BD_SEQ = "bdSeq"  # birth/death sequence: ties an NDEATH to the NBIRTH it ends
_ID = re.compile(r"^[^/+#]{1,128}$")  # the specification forbids these three in ids
DataType: Any = _pb.DataType  # the protobuf enum: DataType.Int32, DataType.Name(9) == 'Float'
MetricValue = bool | int | float | str


class MessageType(enum.StrEnum):
    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    NDATA = "NDATA"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    DDATA = "DDATA"
    DCMD = "DCMD"

    @property
    def of_device(self) -> bool:
        return self.value.startswith("D")


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    """One concrete Sparkplug B topic: a node message, or a device message with its device id."""

    group: str
    message_type: MessageType
    edge_node: str
    device: str | None = None

    def __post_init__(self) -> None:
        for name in ("group", "edge_node", "device"):
            value = getattr(self, name)
            if value is not None and not _ID.fullmatch(value):
                raise ValueError(f"Sparkplug {name} {value!r} must be 1-128 characters without / + #")
        if self.message_type.of_device != (self.device is not None):
            raise ValueError(f"{self.message_type} {'needs' if self.message_type.of_device else 'takes no'} device id")

    def __str__(self) -> str:
        base = f"{NAMESPACE}/{self.group}/{self.message_type}/{self.edge_node}"
        return base if self.device is None else f"{base}/{self.device}"


def parse_topic(topic: str) -> SparkplugTopic:
    """The topic's parts; ValueError for anything that is not a node or device message."""
    levels = topic.split("/")
    if len(levels) not in (4, 5) or levels[0] != NAMESPACE:
        raise ValueError(f"{topic!r} is not {NAMESPACE}/GROUP/TYPE/NODE[/DEVICE]")
    try:
        message_type = MessageType(levels[2])
    except ValueError:
        raise ValueError(f"{topic!r}: unknown message type {levels[2]!r}") from None
    return SparkplugTopic(levels[1], message_type, levels[3], levels[4] if len(levels) == 5 else None)


def group_filter(group: str) -> str:
    """Every message of a group."""
    SparkplugTopic(group, MessageType.NDATA, "x")  # validates the group id
    return f"{NAMESPACE}/{group}/#"


def state_topic(host_id: str) -> str:
    """A host application's STATE topic (Sparkplug 3.0)."""
    return f"{NAMESPACE}/STATE/{_checked_id(host_id, 'host id')}"


def edge_node_filters(edge_node: str) -> tuple[list[str], list[str]]:
    """(write, read) topic filters an edge node's broker account needs, in any group: its own only."""
    node = _checked_id(edge_node, "edge node")
    writes = [f"{NAMESPACE}/+/{kind}/{node}" for kind in ("NBIRTH", "NDEATH", "NDATA")]
    writes += [f"{NAMESPACE}/+/{kind}/{node}/+" for kind in ("DBIRTH", "DDEATH", "DDATA")]
    reads = [f"{NAMESPACE}/+/NCMD/{node}", f"{NAMESPACE}/+/DCMD/{node}/+", f"{NAMESPACE}/STATE/+"]
    return writes, reads


def host_filters(host_id: str) -> tuple[list[str], list[str]]:
    """(write, read) topic filters a host application's broker account needs: every group's nodes."""
    writes = [f"{NAMESPACE}/+/NCMD/+", f"{NAMESPACE}/+/DCMD/+/+", state_topic(host_id)]
    return writes, [f"{NAMESPACE}/#"]


def _checked_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"Sparkplug {what} {value!r} must be 1-128 characters without / + #")
    return value


# ---------------------------------------------------------------- payloads

_SIGNED_BITS = {"Int8": 8, "Int16": 16, "Int32": 32, "Int64": 64}


def decode_payload(raw: bytes) -> Any:
    """A Tahu Payload message; ValueError if the bytes are not one."""
    payload = _pb.Payload()
    try:
        payload.ParseFromString(raw)
    except DecodeError as exc:
        raise ValueError(f"not a Sparkplug B payload: {exc}") from None
    return payload


def new_payload(seq: int | None = None, timestamp_ms: int | None = None) -> Any:
    payload = _pb.Payload()
    payload.timestamp = timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000
    if seq is not None:
        payload.seq = seq
    return payload


def metric_value(metric: Any, datatype: int) -> MetricValue | None:
    """The metric's value read as `datatype` says (the birth's datatype when the metric omits it)."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return None
    value = getattr(metric, which)
    bits = _SIGNED_BITS.get(DataType.Name(datatype)) if datatype in DataType.values() else None
    if bits is not None and isinstance(value, int) and value >= 1 << (bits - 1):
        value -= 1 << bits  # Sparkplug carries signed integers as two's complement in unsigned fields
    return value if isinstance(value, bool | int | float | str) else None


_FIELD_OF_TYPE = {
    **dict.fromkeys(("Int8", "Int16", "Int32", "UInt8", "UInt16", "UInt32"), "int_value"),
    **dict.fromkeys(("Int64", "UInt64", "DateTime"), "long_value"),
    "Float": "float_value",
    "Double": "double_value",
    "Boolean": "boolean_value",
    "String": "string_value",
    "Text": "string_value",
}


def add_metric(
    payload: Any, datatype: int, value: MetricValue | None, *, name: str | None = None, alias: int | None = None
) -> Any:
    """Append a metric (by name, alias or both) holding `value` as `datatype`."""
    metric = payload.metrics.add()
    if name is not None:
        metric.name = name
    if alias is not None:
        metric.alias = alias
    metric.datatype = datatype
    type_name = DataType.Name(datatype)
    if value is None:
        metric.is_null = True
        return metric
    bits = _SIGNED_BITS.get(type_name)
    if bits is not None and isinstance(value, int) and value < 0:
        value += 1 << bits
    setattr(metric, _FIELD_OF_TYPE[type_name], value)
    return metric


def rebirth_command() -> bytes:
    """The NCMD payload asking an edge node to publish its births again."""
    payload = new_payload()
    add_metric(payload, DataType.Boolean, True, name=REBIRTH)
    return bytes(payload.SerializeToString())
