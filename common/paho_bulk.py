"""A paho client that reads and acknowledges in bulk, for a consumer that shares its process.

paho reads each packet with three socket reads (its type, its length, its body) and writes
each PUBACK as a TLS record of its own, and every read and write lets go of the interpreter
lock. In the API, where a batch writer and the event streams keep the lock busy, taking it
back waits up to the switch interval (5 ms) each time, so at 2,000 messages a second these
hand-overs, not the work, set the pace of the ingest.

`BulkClient` reads the socket in pieces of up to 64 KiB and handles every whole packet they
hold before it lets go, writes the PUBACKs queued together as one piece, and `ack_many`
queues a batch's acknowledgements with one wake-up of the network thread. What goes over
the wire is unchanged: the same packets, in the same order.

It overrides private paho methods (`_sock_recv`, `_sock_close`, `_packet_write`) and uses
its out-packet queue; `bulk_client_class()` checks they are there and falls back to paho's
own client (as slow as before, never wrong) when paho changed.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

__all__ = ["BulkClient", "ack_many", "bulk_client_class", "merge_pubacks"]

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024  # a TLS record holds at most 16 KiB: one read takes what the socket has
MAX_MERGED = 4_096  # PUBACKs written as one piece (4 bytes each)
_PUBACK = mqtt.PUBACK


def merge_pubacks(out_packets: deque[Any]) -> int:
    """Join the PUBACKs at the head of paho's out-packet queue into one packet; how many were joined.

    Only whole, unsent PUBACKs at the head are joined: a packet partly written, or any other
    packet, keeps its place, so the order on the wire is unchanged.
    """
    parts: list[bytes] = []
    while (
        out_packets
        and len(parts) < MAX_MERGED
        and (out_packets[0]["command"] & 0xF0) == _PUBACK
        and out_packets[0]["pos"] == 0
    ):
        parts.append(out_packets.popleft()["packet"])
    if parts:
        out_packets.appendleft(_puback_packet(b"".join(parts), mid=0))
    return len(parts)


def _puback_packet(data: bytes, mid: int) -> Any:  # paho's _OutPacket (a private TypedDict)
    # the shape of paho's _packet_queue entries (qos 1, no MQTTMessageInfo: nothing waits on it)
    return {"command": _PUBACK, "mid": mid, "qos": 1, "pos": 0, "to_process": len(data), "packet": data, "info": None}


class BulkClient(mqtt.Client):
    """paho's client, reading in large pieces and writing queued PUBACKs together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_pos = 0

    def ack_many(self, mids: Sequence[int]) -> None:
        """PUBACK each of `mids` (QoS 1 messages, manual acks), in order, with one wake-up."""
        if not mids:
            return
        for mid in mids[:-1]:
            self._out_packet.append(_puback_packet(struct.pack("!BBH", _PUBACK, 2, mid), mid))
        self.ack(mids[-1], 1)  # paho's own path for the last one wakes (or runs) the writer

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle the packets waiting, then every whole packet already read from the socket."""
        rc = super().loop_read(max_packets)
        while (
            rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None and self._read_pos < len(self._read_buffer)
        ):
            rc = super().loop_read(max_packets)
        return rc

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._read_pos >= len(self._read_buffer):
            chunk = super()._sock_recv(max(bufsize, READ_CHUNK))  # BlockingIOError when nothing came
            if len(chunk) <= bufsize:  # all of it asked for (or b"": the connection closed)
                self._read_buffer, self._read_pos = b"", 0
                return chunk
            self._read_buffer, self._read_pos = chunk, 0
        start = self._read_pos
        self._read_pos = min(start + bufsize, len(self._read_buffer))
        return self._read_buffer[start : self._read_pos]

    def _sock_close(self) -> None:
        self._read_buffer, self._read_pos = b"", 0  # a new connection starts with its own bytes
        super()._sock_close()

    def _packet_write(self) -> MQTTErrorCode:
        merge_pubacks(self._out_packet)
        return super()._packet_write()


def bulk_client_class() -> type[mqtt.Client]:
    """BulkClient, or paho's own client when paho no longer has what BulkClient overrides."""
    needed = ("_sock_recv", "_sock_close", "_packet_write", "_packet_read", "ack")
    if all(callable(getattr(mqtt.Client, name, None)) for name in needed):
        return BulkClient
    if not _warned:
        _warned.append(True)
        log.warning("paho changed: reading and acknowledging one packet at a time (slower, still correct)")
    return mqtt.Client


_warned: list[bool] = []


def ack_many(client: mqtt.Client, mids: Sequence[int]) -> None:
    """PUBACK `mids` (QoS 1, manual acks): together on a BulkClient, one by one on another client."""
    if isinstance(client, BulkClient):
        client.ack_many(mids)
        return
    for mid in mids:
        client.ack(mid, 1)
