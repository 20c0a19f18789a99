"""The load generator: one process holding many simulated sensors, each its own MQTT session.

Every sensor connects with its own broker account and its machine id as client id (as a real
machine does, and as the broker's account binding requires), announces a retained "online"
status with an "offline" last will, and publishes one reading a second with QoS 1 on its own
readings topic. No thread per sensor: one thread selects over all sockets (epoll) and drives
paho by hand (loop_read / loop_write / loop_misc), so a process carries a thousand sessions.
The publishers hold no outbox (a real sensor's publisher does): the bench counts instead what
the broker acknowledged, and the drain checks it was all stored.

Each sensor publishes at a fixed phase within the second, spread evenly over the fleet, so the
load is smooth. The schedule is wall-clock (``time.time()``) and a reading's ``ts`` is when it
was handed to paho, so every later hop is timed from it. If the process itself falls behind
its schedule, the slip is measured and reported: a step where the load generator could not
keep up says so instead of passing for a result.

Commands arrive on a pipe from the bench (see :class:`Loadgen` for the bench's side).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import selectors
import time
from array import array
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import paho.mqtt.client as mqtt

from bench.fleet.readings import SimulatedMachine, TimestampCache
from common.mqtt import MqttSettings, connect_client, create_client
from contract import Topics

__all__ = ["Loadgen", "SensorAccount", "StepPlan"]

_SPAWN = multiprocessing.get_context("spawn")
CONNECTS_IN_FLIGHT = 32  # TLS handshakes started before waiting for CONNACKs: do not flood the broker
CONNECT_TIMEOUT_S = 60.0
PUBACK_WAIT_S = 20.0  # after the last publish of a step, how long to wait for outstanding PUBACKs
MISC_INTERVAL_S = 1.0  # keepalive checks of every session
FAILURE = 0x80  # MQTT 5 reason codes from here on are refusals
NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(frozen=True)
class SensorAccount:
    machine_id: str
    password: str


@dataclass(frozen=True)
class StepPlan:
    """One step's schedule in wall-clock seconds: send from `send_start` to `send_end`;
    latencies count for readings stamped within [measure_start, measure_end)."""

    send_start: float
    measure_start: float
    measure_end: float
    send_end: float
    timed_machines: frozenset[str] = frozenset()  # their readings are counted one by one (see probe)


@dataclass(eq=False)
class _Sensor:
    machine: SimulatedMachine
    client: mqtt.Client
    phase: float  # offset within the second at which it publishes
    fd: int = -1  # the socket registered with the selector (-1: none)
    in_flight: dict[int, float] = field(default_factory=dict)  # mid -> sent (wall clock; 0.0: not timed)


@dataclass
class _Counters:
    sent: int = 0
    acked: int = 0
    refused: int = 0
    unrouted: int = 0
    last_ts: float = 0.0
    sent_timed: dict[str, int] = field(default_factory=dict)
    puback_ms: array[float] = field(default_factory=lambda: array("f"))
    slip_ms: array[float] = field(default_factory=lambda: array("f"))


class _Generator:
    """The process's side: sensors, their sockets, the schedule."""

    def __init__(self, base: MqttSettings, topics: Topics, run: str, sent: Synchronized[int]) -> None:
        self.base, self.topics, self.run = base, topics, run
        self.sensors: list[_Sensor] = []
        self.selector = selectors.DefaultSelector()
        self.stamps = TimestampCache()
        self.sent_total = sent  # shared with the bench: readings handed to paho so far
        self.counters = _Counters()
        self.window: StepPlan | None = None
        self.disconnects = 0
        self._unwritten: set[_Sensor] = set()  # sessions with bytes paho could not write at once

    # ------------------------------------------------------------------ sessions

    def connect(self, accounts: list[tuple[SensorAccount, float, int]]) -> dict[str, Any]:
        """Open the sessions of new sensors (account, phase, seed); wait for every CONNACK."""
        started = time.monotonic()
        new: list[_Sensor] = []
        for account, phase, seed in accounts:
            machine = SimulatedMachine(account.machine_id, seed, self.run)
            sensor = _Sensor(machine, self._client(account), phase)
            sensor.client.user_data_set(sensor)
            new.append(sensor)
        for first in range(0, len(new), CONNECTS_IN_FLIGHT):
            batch = new[first : first + CONNECTS_IN_FLIGHT]
            for sensor in batch:
                self._open(sensor)
            self._serve_until(lambda b=batch: all(s.client.is_connected() for s in b if s.fd >= 0))
        connected = [s for s in new if s.client.is_connected()]
        for sensor in new:
            if not sensor.client.is_connected():  # refused or timed out: not part of the fleet
                self._forget_socket(sensor)
                with contextlib.suppress(OSError, ValueError):
                    sensor.client.disconnect()
        self.sensors.extend(connected)
        self.sensors.sort(key=lambda s: s.phase)
        return {
            "connected": len(connected),
            "failed": len(new) - len(connected),
            "seconds": round(time.monotonic() - started, 2),
        }

    def _client(self, account: SensorAccount) -> mqtt.Client:
        settings = replace(self.base, username=account.machine_id, password=account.password)
        settings = replace(settings, client_id=account.machine_id)
        status = self.topics.status(account.machine_id)
        client = create_client(settings, status_topic=status)
        client.on_publish = self._on_publish
        connect_client(client, settings, status_topic=status, start_loop=False)
        return client

    def _open(self, sensor: _Sensor) -> None:
        """Connect (TCP, TLS handshake, CONNECT sent); CONNACK arrives through the selector."""
        try:
            sensor.client.reconnect()
        except (OSError, ValueError):
            return
        sock = sensor.client.socket()
        if sock is not None:
            sensor.fd = sock.fileno()
            self.selector.register(sensor.fd, selectors.EVENT_READ, sensor)
            self._written(sensor)

    def _forget_socket(self, sensor: _Sensor) -> None:
        if sensor.fd >= 0:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sensor.fd)
            sensor.fd = -1
        self._unwritten.discard(sensor)

    def _written(self, sensor: _Sensor) -> None:
        """Remember a session paho still has bytes to write for (a full socket buffer)."""
        if sensor.client.want_write():
            self._unwritten.add(sensor)

    def close(self) -> None:
        for sensor in self.sensors:
            with contextlib.suppress(OSError, ValueError):
                sensor.client.disconnect()  # clean: the broker discards the will
        self.selector.close()

    # ------------------------------------------------------------------ the step

    def run_step(self, plan: StepPlan) -> dict[str, Any]:
        self.window = plan
        self.counters = _Counters(sent_timed=dict.fromkeys(plan.timed_machines, 0))
        cpu_before = time.process_time()
        order = self.sensors
        count = len(order)
        second = int(plan.send_start)
        index = 0
        next_misc = time.time() + MISC_INTERVAL_S
        while count:
            sensor = order[index]
            due = second + sensor.phase
            if due < plan.send_start:
                index, second = _advance(index, second, count)
                continue
            if due >= plan.send_end:
                break
            now = time.time()
            if due > now:
                self._serve(min(due - now, 0.05))
                if now >= next_misc:
                    self._misc()
                    next_misc = now + MISC_INTERVAL_S
                continue
            self._publish(sensor, due, now)
            index, second = _advance(index, second, count)
            if index % 32 == 0:  # behind schedule or in a burst: still read the PUBACKs
                self._serve(0)
        deadline = time.monotonic() + PUBACK_WAIT_S
        self._serve_until(lambda: self._outstanding() == 0, deadline)
        counters = self.counters
        return {
            "sensors": count,
            "sent": counters.sent,
            "acked": counters.acked,
            "refused": counters.refused,
            "unrouted": counters.unrouted,
            "unacked": self._outstanding(),
            "sent_timed": counters.sent_timed,
            "puback_ms": counters.puback_ms,
            "slip_ms": counters.slip_ms,
            "disconnects": self.disconnects,
            "last_ts": counters.last_ts,  # the latest reading time stamped (after send_end when behind schedule)
            "cpu_s": time.process_time() - cpu_before,
            "nice": os.nice(0),  # as the process runs, not as asked
        }

    def _publish(self, sensor: _Sensor, due: float, now: float) -> None:
        window = self.window
        assert window is not None
        machine = sensor.machine
        info = sensor.client.publish(
            self.topics.readings(machine.machine_id), machine.payload(self.stamps.text(now)), qos=1
        )
        self._written(sensor)
        counters = self.counters
        counters.sent += 1
        counters.last_ts = now
        self.sent_total.value += 1
        if window.measure_start <= now < window.measure_end:
            counters.slip_ms.append((now - due) * 1000)
            sensor.in_flight[info.mid] = now
            if machine.machine_id in counters.sent_timed:  # the probe times these one by one
                counters.sent_timed[machine.machine_id] += 1
        else:
            sensor.in_flight[info.mid] = 0.0  # acknowledged but not timed

    def _on_publish(self, _client: mqtt.Client, sensor: _Sensor, mid: int, reason: Any, _props: object) -> None:
        sent = sensor.in_flight.pop(mid, None)
        if sent is None:
            return  # the retained "online" status
        counters = self.counters
        code = getattr(reason, "value", 0)
        if code >= FAILURE:
            counters.refused += 1
            return
        counters.acked += 1
        if code == NO_MATCHING_SUBSCRIBERS:
            counters.unrouted += 1  # nobody will ever score it: no worker subscribed
        if sent:
            counters.puback_ms.append((time.time() - sent) * 1000)

    def _outstanding(self) -> int:
        return sum(len(sensor.in_flight) for sensor in self.sensors)

    # ------------------------------------------------------------------ network

    def _serve(self, timeout: float) -> None:
        """Read what arrived (within `timeout`), write what paho could not send at once."""
        for key, _mask in self.selector.select(timeout):
            self._read(key.data)
        for sensor in list(self._unwritten):
            sensor.client.loop_write()
            if not sensor.client.want_write():
                self._unwritten.discard(sensor)

    def _read(self, sensor: _Sensor) -> None:
        client = sensor.client
        if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or client.socket() is None:
            self._lost(sensor)
            return
        pending = getattr(client.socket(), "pending", None)
        while pending is not None and pending():  # TLS bytes select() cannot see
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                break

    def _lost(self, sensor: _Sensor) -> None:
        """The broker closed a session: count it and connect again (paho resends what was in flight)."""
        self.disconnects += 1
        self._forget_socket(sensor)
        self._open(sensor)

    def _misc(self) -> None:
        for sensor in self.sensors:
            sensor.client.loop_misc()
            self._written(sensor)

    def _serve_until(self, done: Any, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + CONNECT_TIMEOUT_S
        while not done() and time.monotonic() < deadline:
            self._serve(0.05)


def _advance(index: int, second: int, count: int) -> tuple[int, int]:
    index += 1
    if index == count:
        return 0, second + 1
    return index, second


def _main(
    conn: Connection, base: MqttSettings, topics: Topics, run: str, sent: Synchronized[int], *, nice: int
) -> None:
    logging.getLogger("common.mqtt").setLevel(logging.ERROR)  # a line per session would drown the bench's output
    os.nice(nice)  # the sensors yield the shared cores to the stack under test (bench/README.md)
    generator = _Generator(base, topics, run, sent)
    conn.send("ready")
    try:
        while True:
            command, argument = conn.recv()
            if command == "connect":
                conn.send(generator.connect(argument))
            elif command == "step":
                conn.send(generator.run_step(argument))
            else:
                break
    finally:
        generator.close()
    conn.send("stopped")


class Loadgen:
    """The bench's handle on one load-generator process."""

    def __init__(self, base: MqttSettings, topics: Topics, run: str, nice: int = 0) -> None:
        self.sent = _SPAWN.Value("q", 0, lock=False)  # readings handed to MQTT so far
        self._conn, theirs = _SPAWN.Pipe()
        args = (theirs, base, topics, run, self.sent)
        self.process = _SPAWN.Process(target=_main, args=args, kwargs={"nice": nice}, daemon=True)
        self.process.start()
        self._expect(60, "start")
        self.sensors = 0

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def _expect(self, timeout: float, what: str) -> Any:
        if not self._conn.poll(timeout):
            raise RuntimeError(f"load generator {self.pid}: no answer to {what} within {timeout:.0f} s")
        return self._conn.recv()

    def connect(self, accounts: list[tuple[SensorAccount, float, int]]) -> None:
        """Start opening sessions (answer with :meth:`connected`)."""
        self._conn.send(("connect", accounts))

    def connected(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._expect(CONNECT_TIMEOUT_S * 4, "connect")
        self.sensors += answer["connected"]
        return answer

    def start_step(self, plan: StepPlan) -> None:
        self._conn.send(("step", plan))

    def step_result(self, timeout: float) -> dict[str, Any]:
        result: dict[str, Any] = self._expect(timeout, "step")
        return result

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            self._conn.send(("stop", None))
            self._expect(30, "stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
