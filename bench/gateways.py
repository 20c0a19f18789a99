"""How fast the gateways go: readings/s one gateway process sustains, and change -> prediction delay.

    python -m bench.gateways                      # ~2 minutes on 2 cores
    python -m bench.gateways --seconds 5 --changes 40 --models-dir var/models --only modbus

For each protocol, against its real device (an asyncua server, a pymodbus server, an edge node on
Tahu's protobuf; in this process) and this project's Mosquitto (TLS, QoS 1):

1. throughput - the gateway runs flat out (OPC UA and Modbus with a 0.5 ms interval, the edge node
   publishing DDATA as fast as paho sends them) for --seconds; readings/s = readings that reached
   the broker's readings topic / seconds (counted by a subscriber, after the first one arrived);
2. latency - with the worker (`python -m inference_worker`) running, the torque is changed on the
   device --changes times, 0.3 s apart, each to a new value; delay = change -> its prediction
   received, p50/p99/max. OPC UA and Modbus run with a 0.1 s interval (one reading per interval:
   about half of it is waiting for the next interval); Sparkplug reports by exception.

Prints one table. Not a test: figures depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml

from bench.harness import Services, StatusWatcher, service_env
from broker.local import LocalBroker, free_port
from common.mqtt import MqttSettings, connect_client, create_client
from common.settings import run_cli
from contract import Prediction
from contract.registry import bind_machine
from tests.support.gateways import gateway, gateway_env
from tests.support.modbus_device import ModbusDevice
from tests.support.opcua_device import OpcUaDevice
from tests.support.sparkplug_edge import MILL_METRICS, EdgeMessages, EdgeNode
from tests.support.stack import REPO_ROOT

PROTOCOLS = ("opcua", "modbus", "sparkplug")
# The mappings are data (bench/maps/): the bench only sets each phase's interval and unique names.
MAPS_DIR = Path(__file__).parent / "maps"


def _write_map(path: Path, name: str, **overrides: object) -> None:
    """bench/maps/<name>.yaml with top-level keys replaced by `overrides`, written to `path`."""
    mapping = yaml.safe_load((MAPS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    mapping.update(overrides)
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")


def _timed_field() -> str:
    """The profile field the devices' torque lands in (the value the latency phase changes)."""
    fields = yaml.safe_load((MAPS_DIR / "mill-opcua.yaml").read_text(encoding="utf-8"))["fields"]
    return next(str(name) for name, spec in fields.items() if spec["node"] == "ns=2;s=Mill.Torque")


def _sparkplug_map(path: Path, *, group: str, host: str, machine: str, edge: str) -> str:
    """Writes the edge node's mapping under these names; returns the machine's profile."""
    mapping = yaml.safe_load((MAPS_DIR / "mill-sparkplug.yaml").read_text(encoding="utf-8"))
    mapping.update(group=group, host_id=host)
    mapping["machines"][0].update(machine=machine, edge_node=edge)
    path.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return str(mapping["machines"][0]["profile"])


@dataclass
class Result:
    protocol: str
    readings_per_s: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    changes_seen: int = 0
    changes: int = 0
    note: str = ""


class Arrivals:
    """A subscriber that timestamps every message on arrival."""

    def __init__(self, settings: MqttSettings, topic: str) -> None:
        self.times: list[float] = []
        self.payloads: list[tuple[float, bytes]] = []
        self.keep_payloads = False
        self._subscribed = threading.Event()
        # The account's own client id: the broker binds it; one Arrivals at a time per account.
        self.client = create_client(settings, status_topic=None, max_inflight=1000)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        connect_client(self.client, settings, subscriptions=[(topic, 1)])
        if not self._subscribed.wait(15):
            raise RuntimeError("bench subscriber did not subscribe")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        self.times.append(now)
        if self.keep_payloads:
            self.payloads.append((now, bytes(message.payload)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _torque(index: int) -> float:
    return 30.0 + (index % 200) * 0.25  # exact in float32, so it comes back unchanged


def _throughput(arrivals: Arrivals, seconds: float) -> float:
    deadline = time.monotonic() + 60
    while not arrivals.times and time.monotonic() < deadline:
        time.sleep(0.05)
    if not arrivals.times:
        return 0.0
    start = time.monotonic()
    before = len(arrivals.times)
    time.sleep(seconds)
    return (len(arrivals.times) - before) / (time.monotonic() - start)


SPARKPLUG_RATES = (250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0)


def _stepped(arrivals: Arrivals, offer: Callable[[float], None], seconds: float) -> tuple[float, str]:
    """The highest offered DDATA rate the host turns into readings (>= 95 %), and what came out per step."""
    offer(20.0)  # the first data brings a Rebirth command and the births
    _throughput(arrivals, 1.0)
    sustained, steps = 0.0, []
    for rate in SPARKPLUG_RATES:
        offer(rate)
        time.sleep(1.0)
        out = _throughput(arrivals, seconds)
        steps.append(f"{rate:.0f}->{out:.0f}")
        if out < 0.95 * rate:
            break
        sustained = out
    offer(0.0)
    return sustained, "offered->out/s " + " ".join(steps)


def _latency(arrivals: Arrivals, change: Callable[[float], None], changes: int, result: Result) -> None:
    arrivals.keep_payloads = True
    field = _timed_field()
    _warm_up(arrivals, change, field)
    changed: dict[float, float] = {}
    for index in range(changes):
        value = _torque(index + 1)
        changed[value] = time.monotonic()
        change(value)
        time.sleep(0.3)
    time.sleep(3)
    first: dict[float, float] = {}
    for at, payload in arrivals.payloads:
        torque = Prediction.from_json(payload).values[field]
        if torque in changed and torque not in first and at >= changed[torque]:
            first[torque] = at
    delays = sorted((first[v] - changed[v]) * 1000 for v in first)
    result.changes, result.changes_seen = changes, len(delays)
    if delays:
        result.p50_ms = statistics.median(delays)
        result.p99_ms = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
        result.max_ms = delays[-1]


def _warm_up(arrivals: Arrivals, change: Callable[[float], None], field: str, timeout: float = 60.0) -> None:
    """Change the value until a prediction carries it: the gateway, its device and the worker are all up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        change(29.0)
        time.sleep(0.5)
        if any(Prediction.from_json(p).values[field] == 29.0 for _, p in list(arrivals.payloads)):
            return
    raise RuntimeError("no prediction within a minute of starting the gateway")


@contextmanager
def _device(
    protocol: str, broker: LocalBroker, tmp: Path, interval: float
) -> Iterator[tuple[list[str], dict[str, str], str, Callable[[float], None], Callable[[float], None]]]:
    """(gateway args, env, machine id, set torque, drive the device flat out) for one protocol."""
    machine = f"bench-{protocol}-{uuid.uuid4().hex[:6]}"
    map_file = tmp / f"{machine}.yaml"
    if protocol == "opcua":
        with OpcUaDevice(free_port()) as plc:
            _write_map(map_file, "mill-opcua", interval_s=interval)
            env = gateway_env(broker, machine, broker.add_user(machine, "sensor"), tmp)
            args = ["opcua", "--machine", machine, "--endpoint", plc.endpoint, "--map", str(map_file)]
            yield args, env, machine, lambda v: plc.set("Torque", v), lambda _rate: None
    elif protocol == "modbus":
        drive = ModbusDevice(free_port())
        for address, word in ((0, 2981), (1, 3086), (2, 1500)):
            drive.set("holding", address, "uint16", word)
        drive.set("holding", 10, "float32", 40.0)
        drive.set("input", 0, "uint16", 10)
        with drive:
            _write_map(map_file, "mill-modbus", interval_s=interval)
            env = gateway_env(broker, machine, broker.add_user(machine, "sensor"), tmp)
            args = [
                "modbus",
                "--machine",
                machine,
                "--host",
                "127.0.0.1",
                "--port",
                str(drive.port),
                "--map",
                str(map_file),
            ]
            yield args, env, machine, lambda v: drive.set("holding", 10, "float32", v), lambda _rate: None
    else:
        suffix = uuid.uuid4().hex[:6]
        group, host, edge_id = f"g-{suffix}", f"spb-{suffix}", f"edge-{suffix}"
        profile = _sparkplug_map(map_file, group=group, host=host, machine=machine, edge=edge_id)
        # The operator binds the machines a host publishes for (`python -m broker bind`).
        bind_machine(broker.registry_dir, machine, profile)
        env = gateway_env(broker, host, broker.add_user(host, "sparkplug-host"), tmp)
        node = EdgeNode(
            broker.settings(edge_id, broker.add_user(edge_id, "sparkplug-node")),
            EdgeMessages(group, edge_id, {"mill": MILL_METRICS}),
        )
        node.connect()  # born before the host listens: its first data brings a Rebirth command
        rate = [0.0]  # DDATA/s the edge node offers; 0 = paused

        def machining() -> None:
            index, due = 0, time.monotonic()
            while rate[0] >= 0:
                if rate[0] == 0:
                    time.sleep(0.01)
                    due = time.monotonic()
                    continue
                index += 1
                node.set("mill", {"Tool/Wear": index % 200})
                due += 1.0 / rate[0]
                time.sleep(max(due - time.monotonic(), 0.0))

        feeder = threading.Thread(target=machining, daemon=True)
        feeder.start()

        def offer(per_second: float) -> None:
            rate[0] = per_second

        try:
            yield (
                ["sparkplug", "--map", str(map_file)],
                env,
                machine,
                lambda v: node.set("mill", {"Spindle/Torque": v}),
                offer,
            )
        finally:
            rate[0] = -1
            feeder.join(timeout=5)
            node.close()


def measure(
    protocol: str,
    broker: LocalBroker,
    tmp: Path,
    *,
    seconds: float,
    changes: int,
    worker: Services,
    status: StatusWatcher,
) -> Result:
    result = Result(protocol)
    viewer = broker.settings("bench-viewer", broker.add_user("bench-viewer", "viewer"))
    with _device(protocol, broker, tmp, interval=0.0005) as (args, env, machine, _change, offer):
        arrivals = Arrivals(viewer, broker.topics.readings(machine))
        with gateway(args, env, tmp / f"{protocol}-throughput.log"):
            if protocol == "sparkplug":
                result.readings_per_s, result.note = _stepped(arrivals, offer, seconds)
            else:
                result.readings_per_s = _throughput(arrivals, seconds)
        arrivals.close()
    (topic,) = worker.status_topics()
    before = status.online_count(topic)
    worker.start()
    status.wait_online(topic, before)
    try:
        with _device(protocol, broker, tmp, interval=0.1) as (args, env, machine, change, _flat_out):
            arrivals = Arrivals(viewer, broker.topics.predictions(machine))
            with gateway(args, env, tmp / f"{protocol}-latency.log"):
                _latency(arrivals, change, changes, result)
            arrivals.close()
    finally:
        worker.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateways", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PROTOCOLS), help="protocols: opcua, modbus, sparkplug")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the throughput phase (s)")
    parser.add_argument("--changes", type=int, default=60, help="value changes timed in the latency phase")
    parser.add_argument("--keep-logs", type=Path, help="write the gateways' and worker's logs here")
    parser.add_argument("--models-dir", type=Path, help="serve this model folder instead of training one")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="forewarn-bench-gw-") as folder, LocalBroker.create() as broker:
        tmp = args.keep_logs or Path(folder)
        tmp.mkdir(parents=True, exist_ok=True)
        models = args.models_dir or _train(tmp / "models")
        env = service_env(broker, models, "benchgw")  # Services makes the worker's own account
        worker = Services(broker, "inference_worker", ["bench-gw"], env, tmp / "worker.log")
        status = StatusWatcher(
            broker.settings("bench-status", broker.add_user("bench-status", "viewer")),
            broker.topics.all_service_statuses(),
        )
        try:
            results = [
                measure(p, broker, tmp, seconds=args.seconds, changes=args.changes, worker=worker, status=status)
                for p in args.only.split(",")
            ]
        finally:
            status.close()
    _print(results)
    return 0


def _train(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "training", "--models-dir", str(folder)], cwd=REPO_ROOT, check=True, capture_output=True
    )
    return folder


def _print(results: list[Result]) -> None:
    print(f"{'protocol':<10} {'readings/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'seen':>7}")
    for r in results:
        seen = f"{r.changes_seen}/{r.changes}"
        figures = f"{r.readings_per_s:>11.0f} {r.p50_ms:>8.0f} {r.p99_ms:>8.0f} {r.max_ms:>8.0f} {seen:>7}"
        print(f"{r.protocol:<10} {figures}  {r.note}".rstrip())


if __name__ == "__main__":
    run_cli(main)
