"""merge_pubacks: queued PUBACKs at the head of paho's out-packet queue go out as one piece, in order."""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt

from common.paho_bulk import MAX_MERGED, BulkClient, bulk_client_class, merge_pubacks


def _packet(command: int, data: bytes, pos: int = 0) -> dict[str, Any]:
    return {
        "command": command,
        "mid": 1,
        "qos": 1,
        "pos": pos,
        "to_process": len(data) - pos,
        "packet": data,
        "info": None,
    }


def _puback(mid: int) -> dict[str, Any]:
    return _packet(mqtt.PUBACK, struct.pack("!BBH", mqtt.PUBACK, 2, mid))


def test_the_pubacks_at_the_head_become_one_packet_with_the_same_bytes() -> None:
    publish = _packet(mqtt.PUBLISH | 2, b"\x32\x05topic")
    queue: deque[Any] = deque([_puback(1), _puback(2), _puback(3), publish, _puback(4)])
    assert merge_pubacks(queue) == 3
    assert [p["packet"] for p in queue] == [
        struct.pack("!BBHBBHBBH", 0x40, 2, 1, 0x40, 2, 2, 0x40, 2, 3),
        publish["packet"],
        _puback(4)["packet"],
    ]
    assert (queue[0]["to_process"], queue[0]["pos"], queue[0]["command"]) == (12, 0, mqtt.PUBACK)


def test_a_packet_partly_written_or_another_kind_first_is_left_alone() -> None:
    partly = _packet(mqtt.PUBACK, struct.pack("!BBH", mqtt.PUBACK, 2, 9), pos=2)
    queue: deque[Any] = deque([partly, _puback(10)])
    assert merge_pubacks(queue) == 0
    assert queue[0] is partly
    assert len(queue) == 2
    pingreq = _packet(mqtt.PINGREQ, b"\xc0\x00")
    queue = deque([pingreq, _puback(11)])
    assert merge_pubacks(queue) == 0
    assert queue[0] is pingreq
    assert merge_pubacks(deque()) == 0


def test_a_long_run_is_cut_at_the_limit() -> None:
    queue: deque[Any] = deque(_puback(n % 65535 + 1) for n in range(MAX_MERGED + 5))
    assert merge_pubacks(queue) == MAX_MERGED
    assert (len(queue), queue[0]["to_process"]) == (6, 4 * MAX_MERGED)


def test_the_installed_paho_has_what_the_bulk_client_overrides() -> None:
    assert bulk_client_class() is BulkClient
