"""The Modbus gateway end to end: a real pymodbus server, the gateway process, Mosquitto, the worker."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.local import LocalBroker, free_port
from inference_worker.service import Worker
from tests.support.gateways import (
    assert_every_reading_scored,
    gateway,
    gateway_env,
    run_gateway,
    wait_prediction,
    wait_until,
    watch_predictions,
)
from tests.support.modbus_device import ModbusDevice
from tests.support.mqtt import Collector
from tests.support.stack import start_worker, worker_config

MAPPING = """\
profile: ai4i-mill
interval_s: 0.25
fields:
  air_temp_k: {table: holding, address: 0, type: uint16, scale: 0.1}
  process_temp_k: {table: holding, address: 1, type: int16, scale: 0.1, offset: 273.15, unit: degC}
  rotational_speed_rpm: {table: input, address: 10, type: uint32, word_order: little}
  torque_nm: {table: holding, address: 20, type: float32, byte_order: little}
  tool_wear_min: {table: input, address: 30}
  type: {table: holding, address: 40, enum: {0: L, 1: M, 2: H}}
"""


def drive(port: int, serial: str | None = None) -> ModbusDevice:
    """A drive whose registers hold the mill's values the way the mapping says they are encoded."""
    device = ModbusDevice(port, serial=serial)
    device.set("holding", 0, "uint16", 2981)  # 298.1 K in tenths
    device.set("holding", 1, "int16", 358)  # 35.8 degC in tenths
    device.set("input", 10, "uint32", 1500, word_order="little")
    device.set("holding", 20, "float32", 40.5, byte_order="little")
    device.set("input", 30, "uint16", 12)
    device.set("holding", 40, "uint16", 2)
    return device


@pytest.fixture(scope="module")
def worker(broker: LocalBroker, models_dir: Path) -> Iterator[Worker]:
    running = start_worker(worker_config(broker, models_dir, "modbus-test"))
    yield running
    running.stop()


@pytest.fixture
def viewer(broker: LocalBroker, machine_id: str) -> Iterator[Collector]:
    collector = watch_predictions(broker, [machine_id], f"v-{machine_id}")
    yield collector
    collector.close()


def write_map(tmp_path: Path, text: str = MAPPING) -> Path:
    path = tmp_path / "drive-modbus.yaml"
    path.write_text(text)
    return path


def test_a_register_changed_on_the_drive_is_predicted_within_2_s_and_again_after_it_comes_back(
    worker: Worker, viewer: Collector, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    topic = broker.topics.predictions(machine_id)
    env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
    port = free_port()
    args = ["modbus", "--machine", machine_id, "--host", "127.0.0.1", "--port", str(port), "--unit", "1"]
    with drive(port) as device, gateway([*args, "--map", str(write_map(tmp_path))], env, tmp_path / "gw.log"):
        first = wait_prediction(viewer, topic, lambda p: True, 30)
        assert first is not None, (tmp_path / "gw.log").read_text()[-3000:]
        assert first.values["air_temp_k"] == pytest.approx(298.1)
        assert first.values["process_temp_k"] == pytest.approx(308.95)
        assert (first.values["rotational_speed_rpm"], first.values["torque_nm"], first.values["type"]) == (
            1500,
            40.5,
            "H",
        )
        changed_at = time.monotonic()
        device.set("holding", 20, "float32", 57.25, byte_order="little")
        assert wait_prediction(viewer, topic, lambda p: p.values["torque_nm"] == 57.25, 5) is not None
        assert time.monotonic() - changed_at < 2.0

        device.stop()  # the drive goes away (power cycle) ...
        time.sleep(2)
        device.set("input", 30, "uint16", 99)
        device.start()  # ... and comes back
        assert wait_prediction(viewer, topic, lambda p: p.values["tool_wear_min"] == 99, 30) is not None


def test_a_register_range_the_drive_refuses_stops_the_gateway_with_the_mappings_line(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    port = free_port()
    path = write_map(tmp_path, MAPPING.replace("{table: input, address: 30}", "{table: input, address: 500}"))
    env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
    with drive(port):
        done = run_gateway(
            ["modbus", "--machine", machine_id, "--host", "127.0.0.1", "--port", str(port), "--map", str(path)], env
        )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("20")]
    assert errors == [
        f"error: {path}:8: fields.tool_wear_min.address: input 500: the device refuses it (illegal address)"
    ]


@pytest.mark.slow
def test_no_reading_is_lost_when_the_broker_restarts(
    own_broker: LocalBroker, models_dir: Path, machine_id: str, tmp_path: Path
) -> None:
    worker = start_worker(worker_config(own_broker, models_dir, "modbus-restart"))
    viewer = watch_predictions(own_broker, [machine_id], f"v-{machine_id}")
    topic = own_broker.topics.predictions(machine_id)
    env = gateway_env(own_broker, machine_id, own_broker.add_user(machine_id, "sensor"), tmp_path)
    port = free_port()
    args = [
        "modbus",
        "--machine",
        machine_id,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--map",
        str(write_map(tmp_path)),
    ]
    try:
        with drive(port) as device, gateway(args, env, tmp_path / "gw.log"):
            assert wait_prediction(viewer, topic, lambda p: True, 30) is not None
            own_broker.stop()
            time.sleep(3)  # the gateway goes on polling the drive into its outbox
            own_broker.start()
            device.set("holding", 20, "float32", 50.5, byte_order="little")
            assert wait_prediction(viewer, topic, lambda p: p.values["torque_nm"] == 50.5, 60) is not None
        assert_every_reading_scored(viewer, topic, tmp_path / "gw.log")
    finally:
        viewer.close()
        worker.stop()


@pytest.mark.skipif(shutil.which("socat") is None, reason="no socat for the serial pair (scripts/test.sh installs it)")
def test_rtu_over_a_virtual_serial_pair(
    worker: Worker, viewer: Collector, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    device_end, gateway_end = tmp_path / "ttyDRIVE", tmp_path / "ttyGATEWAY"
    pair = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={device_end}", f"pty,raw,echo=0,link={gateway_end}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: device_end.exists() and gateway_end.exists(), 10)
        env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
        args = ["modbus", "--machine", machine_id, "--serial", str(gateway_end), "--baudrate", "19200", "--unit", "1"]
        with (
            drive(0, serial=str(device_end)) as device,
            gateway([*args, "--map", str(write_map(tmp_path))], env, tmp_path / "gw.log"),
        ):
            device.set("holding", 20, "float32", 45.75, byte_order="little")
            found = wait_prediction(
                viewer, broker.topics.predictions(machine_id), lambda p: p.values["torque_nm"] == 45.75, 30
            )
            assert found is not None, (tmp_path / "gw.log").read_text()[-3000:]
    finally:
        pair.terminate()
        pair.wait(timeout=10)
