"""The bench's own MQTT clients, each in its own process so none shares an interpreter lock.

* :func:`publisher` connects, says ``ready``, waits for ``go``, publishes readings (as
  fast as it can, or paced at a fixed rate) with QoS 1, waits for every PUBACK and sends
  back when each reading left.
* :func:`collector` subscribes and timestamps every message it receives, by reading id;
  the bench asks it for a count or for everything received so far.

Times are ``time.monotonic()``: one clock for every process on the machine.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from publisher.replay import load_rows
from publisher.sample import Sample

DATA = Path(__file__).resolve().parents[1] / "data"
_RID = b'"reading_id":"'


def readings(tag: str, count: int) -> list[bytes]:
    """`count` reading payloads replaying the seed's CSV rows; reading ids are ``tag-N``."""
    rows = _csv_rows()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return [_payload(f"{tag}-{n}", stamp, rows[n % len(rows)]) for n in range(count)]


def _csv_rows() -> list[Sample]:
    """The seed files' rows, read as the publisher replays them (the default profile's columns)."""
    rows: list[Sample] = []
    for name in ("slave1_data.csv", "slave2_data.csv"):
        with (DATA / name).open(newline="") as handle:
            good, _ = load_rows(handle, name)
            rows.extend(row.sample for row in good)
    return rows


def _payload(reading_id: str, ts: str, sample: Sample) -> bytes:
    return sample.to_reading(reading_id, ts).to_json()


def reading_id(payload: bytes | bytearray) -> bytes:
    """The reading id in a reading or prediction payload, found without decoding JSON."""
    start = payload.find(_RID) + len(_RID)
    return bytes(payload[start : payload.find(b'"', start)])


def _connected(settings: MqttSettings, **kwargs: Any) -> mqtt.Client:
    # paho's max_inflight scans every unconfirmed message on each PUBACK (at 1,000 it halves
    # a publisher's rate); 0 turns the scan off, as in the worker, so the echo is paho's best.
    client = create_client(settings, status_topic=None, max_inflight=0)
    for name, value in kwargs.items():
        setattr(client, name, value)
    return client


def publisher(conn: Connection, settings: MqttSettings, topic: str, *, tag: str, count: int, rate: float) -> None:
    """Publish `count` readings on `topic` (`rate` per second, 0 = as fast as possible)."""
    payloads = readings(tag, count)
    client = _connected(settings)
    connect_client(client, settings)
    if not wait_connected(client, 20):
        conn.send({"error": "publisher could not connect"})
        return
    conn.send("ready")
    conn.recv()  # go
    sent = [0.0] * count
    cpu = time.process_time()
    started = time.monotonic()
    info = None
    for n, payload in enumerate(payloads):
        if rate:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent[n] = time.monotonic()
        info = client.publish(topic, payload, qos=1)
    if info is not None:
        info.wait_for_publish(timeout=120)
    conn.send(
        {
            "sent": sent,
            "started": started,
            "finished": sent[-1] if sent else started,
            "acked": time.monotonic(),
            "cpu_s": time.process_time() - cpu,
        }
    )
    client.disconnect()
    client.loop_stop()


def collector(conn: Connection, settings: MqttSettings, filters: list[str], persistent: bool) -> None:
    """Record (reading id, arrival time) of every message on `filters` until told to stop.

    Commands on `conn`: "count" (unique ids so far), "take" (all records, then forget
    them), "stop" (disconnect, keeping a persistent session for the next start).
    """
    records: list[tuple[bytes, float]] = []
    seen: set[bytes] = set()
    lock = threading.Lock()
    now = time.monotonic

    def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        rid = reading_id(message.payload)
        with lock:
            records.append((rid, now()))
            seen.add(rid)

    settings = replace(settings, session_expiry_s=3600 if persistent else 0)
    subscribed: list[bool] = []
    client = _connected(settings, on_message=on_message, on_subscribe=lambda *_args: subscribed.append(True))
    connect_client(client, settings, subscriptions=[(f, 1) for f in filters])
    deadline = time.monotonic() + 20
    while not subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    conn.send("ready" if subscribed else {"error": "collector did not subscribe"})
    while True:
        command = conn.recv()
        if command == "count":
            conn.send(len(seen))
        elif command == "take":
            with lock:
                taken = list(records)
                records.clear()
                seen.clear()
            conn.send(taken)
        else:
            break
    client.disconnect()
    client.loop_stop()
    conn.send("stopped")
