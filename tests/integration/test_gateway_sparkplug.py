"""The Sparkplug B host end to end: an edge node on Tahu's protobuf publishing through Mosquitto
(TLS, its own account and ACL), the host process, the worker."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from broker.local import LocalBroker
from contract.registry import bind_machine
from contract.sparkplug import group_filter
from inference_worker.service import Worker
from tests.support.gateways import (
    assert_every_reading_scored,
    gateway,
    gateway_env,
    run_gateway,
    statuses,
    wait_prediction,
    wait_until,
)
from tests.support.mqtt import Collector, publish_and_wait
from tests.support.sparkplug_edge import MILL_METRICS, EdgeMessages, EdgeNode
from tests.support.stack import start_worker, worker_config

MAPPING = """\
group: {group}
host_id: {host}
machines:
  - machine: {machine}
    profile: ai4i-mill
    edge_node: {edge}
    device: mill
    fields:
      air_temp_k: {{metric: Air/Temp}}
      process_temp_k: {{metric: Process/Temp}}
      rotational_speed_rpm: {{metric: Spindle/Speed}}
      torque_nm: {{metric: Spindle/Torque}}
      tool_wear_min: {{metric: Tool/Wear}}
      type: {{metric: Product/Type}}
"""


class Plant:
    """One test's Sparkplug group: a host account and process, an edge node account and node."""

    def __init__(self, broker: LocalBroker, machine: str, tmp_path: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.broker = broker
        self.group, self.host, self.edge = f"plant-{suffix}", f"spb-{suffix}", f"edge-{suffix}"
        self.machine = machine
        self.map_file = tmp_path / "plant.yaml"
        self.map_file.write_text(MAPPING.format(group=self.group, host=self.host, machine=machine, edge=self.edge))
        self.log = tmp_path / "host.log"
        self.env = gateway_env(broker, self.host, broker.add_user(self.host, "sparkplug-host"), tmp_path)
        self.edge_password = broker.add_user(self.edge, "sparkplug-node")
        # The operator binds the machines a host publishes for (`python -m broker bind`).
        bind_machine(broker.registry_dir, machine, "ai4i-mill")
        self.messages = EdgeMessages(self.group, self.edge, {"mill": MILL_METRICS})

    def host_process(self) -> AbstractContextManager[subprocess.Popen[bytes]]:
        return gateway(["sparkplug", "--map", str(self.map_file)], self.env, self.log)

    def edge_node(self) -> EdgeNode:
        node = EdgeNode(self.broker.settings(self.edge, self.edge_password), self.messages)
        node.connect()
        return node

    def wait_host_online(self, viewer: Collector) -> None:
        topic = self.broker.topics.service_status(self.host)
        assert wait_until(lambda: b'"online"' in b"".join(m.payload for m in viewer.on_topic(topic)), 30), (
            self.log.read_text()[-3000:]
        )
        time.sleep(0.3)  # its subscription is sent right before the status


@pytest.fixture(scope="module")
def worker(broker: LocalBroker, models_dir: Path) -> Iterator[Worker]:
    running = start_worker(worker_config(broker, models_dir, "sparkplug-test"))
    yield running
    running.stop()


def watch(broker: LocalBroker, plant: Plant) -> Collector:
    """A viewer of the machine's predictions and statuses and of the host's status.

    Its session persists, as watch_predictions' does: a prediction the broker accepted just
    before a restart reaches it after the restart instead of being blamed on the gateway.
    """
    password = broker.add_user(f"v-{plant.machine}", "viewer")
    topics = [broker.topics.predictions(plant.machine), broker.topics.status(plant.machine)]
    return Collector(
        broker.settings(f"v-{plant.machine}", password, session_expiry_s=300),
        [*topics, broker.topics.service_status(plant.host)],
    )


def test_births_data_rebirth_and_deaths_through_the_broker(
    worker: Worker, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    plant = Plant(broker, machine_id, tmp_path)
    viewer = watch(broker, plant)
    topic, status = broker.topics.predictions(machine_id), broker.topics.status(machine_id)
    try:
        with plant.host_process():
            plant.wait_host_online(viewer)
            edge = plant.edge_node()
            assert wait_until(lambda: statuses(viewer, status) == ["online"], 10), plant.log.read_text()[-3000:]
            changed_at = time.monotonic()
            edge.set("mill", {"Spindle/Torque": 58.5})
            found = wait_prediction(viewer, topic, lambda p: p.values["torque_nm"] == 58.5, 5)
            assert found is not None, plant.log.read_text()[-3000:]
            assert time.monotonic() - changed_at < 2.0
            assert (found.values["air_temp_k"], found.values["rotational_speed_rpm"], found.values["type"]) == (
                298.1,
                1551,
                "M",
            )

            edge.send(plant.messages.unknown_alias_data("mill"))  # an alias no birth announced
            assert wait_until(lambda: edge.rebirths == 1, 10)
            plant.messages.skip(3)  # three messages lost on the way
            edge.set("mill", {"Tool/Wear": 21})
            assert wait_prediction(viewer, topic, lambda p: p.values["tool_wear_min"] == 21, 5) is not None

            edge.send(plant.messages.device_death("mill"))
            assert wait_until(lambda: statuses(viewer, status)[-1:] == ["offline"], 10)
            edge.send(plant.messages.device_birth("mill"))
            assert wait_until(lambda: statuses(viewer, status)[-1:] == ["online"], 10)
            edge.close(clean=False)  # the edge node dies: the broker publishes its NDEATH will
            assert wait_until(lambda: statuses(viewer, status)[-1:] == ["offline"], 15)
        log = plant.log.read_text()
        assert "seq 5 after 1: 3 message(s) missing" in log  # after the rebirth: NBIRTH 0, DBIRTH 1
        assert "sequence_gaps=3" in log
        assert f"1 metric(s) of {plant.group}/{plant.edge}/mill with unknown aliases" in log
    finally:
        viewer.close()


def test_a_host_started_after_the_births_asks_for_them_and_then_scores(
    worker: Worker, broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    plant = Plant(broker, machine_id, tmp_path)
    viewer = watch(broker, plant)
    edge = plant.edge_node()  # born before anybody listens
    try:
        with plant.host_process():
            plant.wait_host_online(viewer)
            edge.set("mill", {"Spindle/Speed": 1600})  # unknown node: the host asks for a rebirth
            assert wait_until(lambda: edge.rebirths == 1, 10), plant.log.read_text()[-3000:]
            edge.set("mill", {"Spindle/Speed": 1610})
            topic = broker.topics.predictions(machine_id)
            assert wait_prediction(viewer, topic, lambda p: p.values["rotational_speed_rpm"] == 1610, 10) is not None
    finally:
        edge.close()
        viewer.close()


def test_an_edge_node_account_writes_only_its_own_node_and_the_mapping_is_checked_first(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    plant = Plant(broker, machine_id, tmp_path)
    host_password = broker.add_user(f"{plant.host}-watch", "sparkplug-host")
    watcher = Collector(broker.settings(f"{plant.host}-watch", host_password), [group_filter(plant.group)])
    edge = plant.edge_node()
    try:
        own = plant.messages.device_data("mill", {"Tool/Wear": 3})
        other = EdgeMessages(plant.group, "someone-else", {"mill": MILL_METRICS}).node_birth()
        publish_and_wait(edge.client, *own)
        publish_and_wait(edge.client, *other)  # refused: Mosquitto drops the impostor's connection
        assert watcher.wait_for(lambda msgs: any(m.topic == own[0] for m in msgs), 10)
        time.sleep(0.5)
        assert [m.topic for m in watcher.messages if "someone-else" in m.topic] == []
    finally:
        edge.close()
        watcher.close()
    plant.map_file.write_text(plant.map_file.read_text().replace("torque_nm:", "torque:"))
    done = run_gateway(["sparkplug", "--map", str(plant.map_file)], plant.env, timeout=20)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(f"error: {plant.map_file}:12: machines.0.fields.torque: profile")


@pytest.mark.slow
def test_no_reading_is_lost_when_the_broker_restarts(
    own_broker: LocalBroker, models_dir: Path, machine_id: str, tmp_path: Path
) -> None:
    worker = start_worker(worker_config(own_broker, models_dir, "sparkplug-restart"))
    plant = Plant(own_broker, machine_id, tmp_path)
    viewer = watch(own_broker, plant)
    topic = own_broker.topics.predictions(machine_id)
    stop = threading.Event()
    try:
        with plant.host_process():
            plant.wait_host_online(viewer)
            edge = plant.edge_node()
            wear = iter(range(10_000))

            def machining() -> None:
                while not stop.is_set():
                    if edge.client.is_connected():
                        edge.set("mill", {"Tool/Wear": next(wear) % 200})
                    time.sleep(0.1)

            feeder = threading.Thread(target=machining, daemon=True)
            feeder.start()
            assert wait_prediction(viewer, topic, lambda p: True, 30) is not None
            own_broker.stop()
            time.sleep(3)
            own_broker.start()
            assert wait_until(lambda: edge.rebirths >= 1 or edge.client.is_connected(), 30)
            time.sleep(3)  # readings flow again (after births or a rebirth)
            stop.set()
            feeder.join(timeout=5)
            edge.close()
        assert_every_reading_scored(viewer, topic, plant.log)
    finally:
        stop.set()
        viewer.close()
        worker.stop()
