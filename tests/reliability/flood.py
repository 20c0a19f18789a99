"""A sensor gone wrong: publishes valid readings as fast as asked (QoS 1), then prints its figures.

    python -m tests.reliability.flood HOST PORT CA USER PASSWORD TOPIC --count 30000 --rate 10000

Runs as a process of its own, so the flood does not share the test's interpreter (and GIL)
with the API and the observers it is measured against. Prints one JSON line:
{"sent": N, "acked": N, "seconds": S, "rate": R}.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from tests.support.payloads import encode, reading

_CHUNK = 50  # readings published per pacing step


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("host", "port", "ca", "user", "password", "topic"):
        parser.add_argument(name)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    args = parser.parse_args()
    settings = MqttSettings(
        host=args.host,
        port=int(args.port),
        ca_file=Path(args.ca),
        username=args.user,
        password=args.password,
        client_id=args.user,
    )
    acked = _Acks()
    client = create_client(settings, None, max_inflight=200)
    client.on_publish = acked.on_publish
    connect_client(client, settings)
    if not wait_connected(client, 15):
        raise SystemExit("flood: not connected")
    tag = uuid.uuid4().hex[:6]
    payloads = [encode(reading(reading_id=f"flood-{tag}-{n:06d}")) for n in range(args.count)]
    started = time.monotonic()
    for start in range(0, args.count, _CHUNK):
        time.sleep(max(started + start / args.rate - time.monotonic(), 0.0))
        for payload in payloads[start : start + _CHUNK]:
            client.publish(args.topic, payload, qos=1)
    sent_s = time.monotonic() - started
    acked.wait(args.count, timeout=120)
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"sent": args.count, "acked": acked.count, "seconds": sent_s, "rate": args.count / sent_s}))


class _Acks:
    def __init__(self) -> None:
        self.count = 0
        self._done = threading.Condition()

    def on_publish(self, _client: mqtt.Client, _userdata: object, _mid: int, _reason: object, _props: object) -> None:
        with self._done:
            self.count += 1
            self._done.notify_all()

    def wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._done:
            while self.count < count and time.monotonic() < deadline:
                self._done.wait(deadline - time.monotonic())


if __name__ == "__main__":
    main()
