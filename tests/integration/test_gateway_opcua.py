"""The OPC UA gateway end to end: a real asyncua server, the gateway process, Mosquitto, the worker."""

from __future__ import annotations

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
    statuses,
    wait_prediction,
    watch_predictions,
)
from tests.support.mqtt import Collector
from tests.support.opcua_device import OpcUaDevice, make_certificates
from tests.support.stack import start_worker, worker_config

MAPPING = """\
profile: ai4i-mill
interval_s: 0.25
sampling_interval_ms: 50
fields:
  air_temp_k: {node: "ns=2;s=Mill.AirTemp", offset: 273.15}
  process_temp_k: {browse_path: "2:Mill/2:ProcessTemp", unit: degC, offset: 273.15}
  rotational_speed_rpm: {node: "ns=2;s=Mill.Speed"}
  torque_nm: {node: "ns=2;s=Mill.Torque", unit: Nm}
  tool_wear_min: {node: "ns=2;s=Mill.ToolWear"}
  type: {node: "ns=2;s=Mill.Type"}
"""


@pytest.fixture(scope="module")
def worker(broker: LocalBroker, models_dir: Path) -> Iterator[Worker]:
    running = start_worker(worker_config(broker, models_dir, "opcua-test"))
    yield running
    running.stop()


@pytest.fixture
def viewer(broker: LocalBroker, machine_id: str) -> Iterator[Collector]:
    collector = watch_predictions(broker, [machine_id], f"v-{machine_id}")
    yield collector
    collector.close()


def write_map(tmp_path: Path, text: str = MAPPING) -> Path:
    path = tmp_path / "mill-opcua.yaml"
    path.write_text(text)
    return path


def test_a_value_changed_on_the_plc_is_predicted_within_2_s_and_again_after_a_server_restart(
    worker: Worker, viewer: Collector, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    topic = broker.topics.predictions(machine_id)
    env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
    args = ["opcua", "--machine", machine_id, "--endpoint", "", "--map", str(write_map(tmp_path))]
    with OpcUaDevice(free_port()) as device:
        args[4] = device.endpoint
        with gateway(args, env, tmp_path / "gateway.log"):
            first = wait_prediction(viewer, topic, lambda p: True, 30)
            assert first is not None, (tmp_path / "gateway.log").read_text()[-3000:]
            assert first.values["air_temp_k"] == pytest.approx(298.15)  # 25 degC on the PLC, offset by the mapping
            assert (first.values["rotational_speed_rpm"], first.values["type"]) == (1500, "M")
            changed_at = time.monotonic()
            device.set("Torque", 61.25)
            seen = wait_prediction(viewer, topic, lambda p: p.values["torque_nm"] == 61.25, 5)
            assert seen is not None
            assert time.monotonic() - changed_at < 2.0

            device.restart()  # the PLC reboots: asyncua reconnects and re-creates the subscription
            device.set("ToolWear", 77)
            assert wait_prediction(viewer, topic, lambda p: p.values["tool_wear_min"] == 77, 45) is not None
    assert "online" in statuses(viewer, broker.topics.status(machine_id))


def test_a_secured_endpoint_with_certificates_and_a_password(
    worker: Worker, viewer: Collector, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path / "pki")
    security = (
        "security:\n  policy: Basic256Sha256\n  mode: SignAndEncrypt\n"
        f"  certificate: {certs.client_cert}\n  private_key: {certs.client_key}\n"
        f"  server_certificate: {certs.server_cert}\n  application_uri: {certs.client_uri}\nusername: gateway\n"
    )
    env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
    with OpcUaDevice(free_port(), secure=certs, users={"gateway": "plc-s3cret"}) as device:
        args = ["opcua", "--machine", machine_id, "--endpoint", device.endpoint, "--map", ""]
        args[-1] = str(write_map(tmp_path, MAPPING + security))
        refused = run_gateway(args, env | {"FOREWARN_OPCUA_PASSWORD": "wrong"})
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines()[-1].startswith(f"error: {args[-1]}:")
        assert "refuses us: BadUserAccessDenied" in refused.stderr
        assert "Traceback" not in refused.stderr
        with gateway(args, env | {"FOREWARN_OPCUA_PASSWORD": "plc-s3cret"}, tmp_path / "gateway.log"):
            device.set("Torque", 44.5)
            found = wait_prediction(
                viewer, broker.topics.predictions(machine_id), lambda p: p.values["torque_nm"] == 44.5, 30
            )
            assert found is not None, (tmp_path / "gateway.log").read_text()[-3000:]


def test_a_mapping_that_does_not_fit_the_server_stops_with_one_line_per_problem(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    bad = MAPPING.replace("Mill.Torque", "Mill.Nope").replace(
        '{node: "ns=2;s=Mill.Type"}', '{node: "ns=2;s=Mill.Speed"}'
    )
    env = gateway_env(broker, machine_id, broker.add_user(machine_id, "sensor"), tmp_path)
    with OpcUaDevice(free_port()) as device:
        path = write_map(tmp_path, bad)
        done = run_gateway(["opcua", "--machine", machine_id, "--endpoint", device.endpoint, "--map", str(path)], env)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("20")]  # log lines carry a date
    assert errors == [
        f"error: {path}:8: fields.torque_nm.node: ns=2;s=Mill.Nope: the server says BadNodeIdUnknown",
        f"{path}:10: fields.type.node: holds Int32: type is a category (a string, or an integer with an enum)",
    ]


def test_a_mapping_error_is_reported_before_anything_connects(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    path = write_map(tmp_path, MAPPING.replace("tool_wear_min:", "tool_wear:"))
    unused = f"opc.tcp://127.0.0.1:{free_port()}/"
    done = run_gateway(
        ["opcua", "--machine", machine_id, "--endpoint", unused, "--map", str(path)],
        gateway_env(broker, machine_id, "x", tmp_path),
        timeout=20,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"error: {path}:9: fields.tool_wear: profile ai4i-mill has no field tool_wear (it has type, air_temp_k, "
        "process_temp_k, rotational_speed_rpm, torque_nm, tool_wear_min, product_id)"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_no_reading_is_lost_when_the_broker_restarts(
    own_broker: LocalBroker, models_dir: Path, machine_id: str, tmp_path: Path
) -> None:
    worker = start_worker(worker_config(own_broker, models_dir, "opcua-restart"))
    viewer = watch_predictions(own_broker, [machine_id], f"v-{machine_id}")
    topic = own_broker.topics.predictions(machine_id)
    env = gateway_env(own_broker, machine_id, own_broker.add_user(machine_id, "sensor"), tmp_path)
    try:
        with OpcUaDevice(free_port()) as device:
            args = ["opcua", "--machine", machine_id, "--endpoint", device.endpoint, "--map", str(write_map(tmp_path))]
            with gateway(args, env, tmp_path / "gateway.log"):
                assert wait_prediction(viewer, topic, lambda p: True, 30) is not None
                own_broker.stop()
                time.sleep(3)  # the gateway goes on reading the PLC into its outbox
                own_broker.start()
                device.set("Torque", 52.0)
                assert wait_prediction(viewer, topic, lambda p: p.values["torque_nm"] == 52.0, 60) is not None
        assert_every_reading_scored(viewer, topic, tmp_path / "gateway.log")
    finally:
        viewer.close()
        worker.stop()
