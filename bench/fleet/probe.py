"""The probe: times the middle hops for a sample of machines, from a process of its own.

* sensor -> prediction: an MQTT subscription to the sampled machines' prediction topics (as a
  viewer); the arrival minus the reading's ``ts``. Only a sample, so the probe adds little to
  the broker's fan-out.
* sensor -> stored: the store is polled every `poll_s` for the sampled machines' recent rows
  (by machine and reading time, an indexed range on both engines); the first poll that sees a
  row minus its ``ts`` -- so this hop reads up to `poll_s` late (the report says so).
* rejections: every machine's ``rejected`` topic is counted (a realistic fleet sends none).

The store's query is in :func:`recent_rows`: the one place to change when the storage changes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from bench.fleet.readings import ts_text_to_ms
from bench.fleet.windows import Tallies
from common.mqtt import MqttSettings, connect_client, create_client, wait_connected
from contract import Channel, Topics

__all__ = ["Probe", "recent_rows"]

_SPAWN = multiprocessing.get_context("spawn")
_TS = b'"ts":"'
LOOKBACK_MS = 10_000  # rows stored later than this after their reading are not timed (they count as missing)


def recent_rows(conn: sa.Connection, machines: list[str], since_ms: int) -> list[tuple[str, int]]:
    """(reading_id, ts_ms) of the stored predictions of `machines` read at or after `since_ms`."""
    statement = sa.text(
        "SELECT reading_id, ts_ms FROM predictions WHERE machine_id IN :machines AND ts_ms >= :since"
    ).bindparams(sa.bindparam("machines", expanding=True))
    return [(row[0], int(row[1])) for row in conn.execute(statement, {"machines": machines, "since": since_ms})]


class _Probe:
    def __init__(self, database_url: str, machines: list[str], poll_s: float) -> None:
        self.engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
        self.machines, self.poll_s = machines, poll_s
        self.stored = Tallies()
        self.predicted = Tallies()
        self.rejected = 0
        self.lock = threading.Lock()
        self._seen: set[str] = set()
        self._since_ms = 0
        self._stop = threading.Event()
        self.poll_errors = 0
        self.poller = threading.Thread(target=self._poll_loop, name="store-poller", daemon=True)

    def begin(self, step: int, send_start: float, measure_start: float, measure_end: float, send_end: float) -> None:
        with self.lock:
            self.stored.begin(step, send_start, measure_start, measure_end, send_end)
            self.predicted.begin(step, send_start, measure_start, measure_end, send_end)
            self._seen.clear()
            self._since_ms = round(send_start * 1000)

    def _poll_loop(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.wait(self.poll_s):
                self._poll(conn)

    def _poll(self, conn: sa.Connection) -> None:
        if not self._since_ms or not self.machines:
            return
        now_ms = time.time() * 1000
        since = max(self._since_ms, int(now_ms) - LOOKBACK_MS)
        try:
            rows = recent_rows(conn, self.machines, since)
            conn.rollback()  # end the read transaction: SQLite's WAL can then be checkpointed
        except sa.exc.SQLAlchemyError:
            self.poll_errors += 1
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.rollback()
            return
        with self.lock:
            for reading_id, ts_ms in rows:
                if reading_id not in self._seen:
                    self._seen.add(reading_id)
                    self.stored.add(ts_ms, now_ms)

    def on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        arrived = time.time() * 1000
        payload = message.payload
        if message.topic.endswith("/rejected"):
            self.rejected += 1
            return
        at = payload.find(_TS)
        if at >= 0:
            with self.lock:
                self.predicted.add(ts_text_to_ms(bytes(payload[at + 6 : at + 30])), arrived)

    def take(self, step: int) -> dict[str, Any]:
        with self.lock:
            return {
                "stored": self.stored.take(step),
                "predicted": self.predicted.take(step),
                "rejected": self.rejected,
                "poll_errors": self.poll_errors,
            }

    def stop(self) -> None:
        self._stop.set()
        self.poller.join(timeout=10)
        self.engine.dispose()


def _main(
    conn: Connection, database_url: str, machines: list[str], *, poll_s: float, viewer: MqttSettings, topics: Topics
) -> None:
    probe = _Probe(database_url, machines, poll_s)
    client = create_client(viewer, status_topic=None)  # an account of its own: the broker binds its client id
    client.on_message = probe.on_message
    filters = [(topics.predictions(machine), 1) for machine in machines] + [(topics.all_of(Channel.REJECTED), 1)]
    connect_client(client, viewer, subscriptions=filters)
    if not wait_connected(client, 30):
        conn.send({"error": "probe could not connect to the broker"})
        return
    probe.poller.start()
    conn.send("ready")
    while True:
        command, argument = conn.recv()
        if command == "begin":
            probe.begin(*argument)
            conn.send("ok")
        elif command == "take":
            conn.send(probe.take(argument))
        else:
            break
    probe.stop()
    client.disconnect()
    client.loop_stop()
    conn.send("stopped")


class Probe:
    """The bench's handle on the probe process."""

    def __init__(
        self, database_url: str, machines: list[str], poll_s: float, viewer: MqttSettings, topics: Topics
    ) -> None:
        self.machines = machines
        self._conn, theirs = _SPAWN.Pipe()
        self.process = _SPAWN.Process(
            target=_main,
            args=(theirs, database_url, machines),
            kwargs={"poll_s": poll_s, "viewer": viewer, "topics": topics},
            daemon=True,
        )
        self.process.start()
        if not self._conn.poll(60):
            raise RuntimeError("probe did not start within 60 s")
        answer = self._conn.recv()
        if isinstance(answer, dict):
            raise RuntimeError(answer["error"])

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def begin(self, step: int, send_start: float, measure_start: float, measure_end: float, send_end: float) -> None:
        self._conn.send(("begin", (step, send_start, measure_start, measure_end, send_end)))
        self._conn.recv()

    def take(self, step: int) -> dict[str, Any]:
        self._conn.send(("take", step))
        if not self._conn.poll(60):
            raise RuntimeError("probe did not answer within 60 s")
        answer: dict[str, Any] = self._conn.recv()
        return answer

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            self._conn.send(("stop", None))
            self._conn.poll(30)
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
