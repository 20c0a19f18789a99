"""`python -m publisher` as a real process: exit codes, one-line errors, signals, deliveries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broker.local import LocalBroker
from contract import Status, default_profile, parse_reading
from publisher.sources import simulated_items
from tests.support.mqtt import Collector

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD_ROWS = [
    "L47181,L,298.2,308.7,1408,46.3,3,0,No Failure",
    "M14860,M,298.1,308.6,1551,42.8,0,0,No Failure",
    "H29424,H,298.3,308.7,1498,49.4,5,1,Power Failure",
]

COLUMNS = list(default_profile().csv_columns)  # the AI4I files' column names


def environment(tmp_path: Path, broker: LocalBroker | None = None, password: str | None = None) -> dict[str, str]:
    env = os.environ | {
        "FOREWARN_VAR_DIR": str(tmp_path / "var"),
        "FOREWARN_MQTT_PASSWORD": password or "not-used-before-the-error",
        "FOREWARN_PUBLISHER_STATS_S": "1",
        "FOREWARN_LOG_DIR": "",
    }
    if broker is not None:
        env |= {
            "FOREWARN_MQTT_HOST": broker.host,
            "FOREWARN_MQTT_PORT": str(broker.port),
            "FOREWARN_MQTT_CA": str(broker.ca_file),
            "FOREWARN_TOPIC_PREFIX": broker.topics.prefix,
        }
    return env


def publisher(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def csv_file(tmp_path: Path, *rows: str, header: str = ",".join(COLUMNS)) -> Path:
    path = tmp_path / "replay.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def viewer(broker: LocalBroker, machine: str) -> Collector:
    password = broker.add_user(f"v-{machine}", "viewer")
    return Collector(
        broker.settings(f"v-{machine}", password),
        [broker.topics.readings(machine), broker.topics.status(machine)],
    )


def reading_messages(collector: Collector, count: int, timeout: float = 20) -> list[bytes]:
    messages = collector.wait_for(lambda m: sum(x.topic.endswith("/readings") for x in m) >= count, timeout)
    return [m.payload for m in messages if m.topic.endswith("/readings")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["replay", "{tmp}/nope.csv", "--machine", "m1"],
            "error: cannot read {tmp}/nope.csv: No such file or directory",
        ),
        (
            ["replay", "{tmp}/bad_header.csv", "--machine", "m1"],
            "error: {tmp}/bad_header.csv:1: header lacks Torque",
        ),
        (
            ["replay", "{tmp}/replay.csv", "--machine", "m1", "--start-row", "3"],
            "error: --start-row 3: {tmp}/replay.csv has only 3 data rows",
        ),
        (["replay", "{tmp}/replay.csv", "--machine", "a/b"], "error: --machine: name 'a/b' must match"),
        (
            ["replay", "{tmp}/all_bad.csv", "--machine", "m1"],
            "error: {tmp}/all_bad.csv: no valid data rows (2 bad)",
        ),
        (["simulate", "--machine", "m1", "--rate", "fast"], "argument --rate: 'fast' is not a number"),
        (["simulate", "--machine", "m1", "--count", "0"], "argument --count: 0 must be at least 1"),
        (["simulate", "--machine", "m1", "--category", "type=X"], "error: type 'X' must be one of L, M, H"),
        (["simulate", "--machine", "m1", "--category", "X"], "argument --category: 'X': expected NAME=VALUE"),
        (["simulate", "--machine", "m1", "--profile", "pump"], "error: --profile 'pump': no such profile"),
        (
            ["replay", "{tmp}/replay.csv", "--machine", "m1", "--map", "Torque=torq"],
            "error: --map names torq, not fields of profile ai4i-mill",
        ),
    ],
)
def test_bad_input_gives_one_clear_line_and_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    csv_file(tmp_path, *GOOD_ROWS)
    (tmp_path / "bad_header.csv").write_text(",".join(c for c in COLUMNS if c != "Torque") + "\n")
    (tmp_path / "all_bad.csv").write_text(",".join(COLUMNS) + "\nx\ny\n")
    result = publisher(environment(tmp_path), *(a.format(tmp=tmp_path) for a in args))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message.format(tmp=tmp_path) in result.stderr.strip().splitlines()[-1]


def test_a_missing_password_is_named(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["FOREWARN_MQTT_PASSWORD"]
    result = publisher(env, "simulate", "--machine", "m1")
    assert result.returncode == 2
    secret = tmp_path / "var" / "secrets" / "m1.password"
    assert result.stderr.strip() == f"error: FOREWARN_MQTT_PASSWORD: cannot read {secret}: No such file or directory"


def test_a_missing_ca_certificate_is_named(tmp_path: Path) -> None:
    result = publisher(environment(tmp_path), "simulate", "--machine", "m1")
    assert result.returncode == 2
    ca_file = tmp_path / "var" / "broker" / "config" / "tls" / "ca.crt"
    assert (
        result.stderr.strip()
        == f"error: FOREWARN_MQTT_CA: cannot load CA certificate {ca_file}: [Errno 2] No such file or directory"
    )


def test_a_replay_skips_bad_rows_by_line_and_publishes_the_rest(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    collector = viewer(broker, machine_id)
    path = csv_file(
        tmp_path,
        GOOD_ROWS[0],
        "L1,L,abc,308,1400,40,3,0,No Failure",
        GOOD_ROWS[1],
        "L2,Q,298,308,1400,40,3,0,No Failure",
        GOOD_ROWS[2],
    )
    env = environment(tmp_path, broker, broker.add_user(machine_id, "sensor"))
    result = publisher(env, "replay", str(path), "--machine", machine_id, "--rate", "0")
    payloads = reading_messages(collector, 3)
    collector.close()
    assert result.returncode == 0, result.stderr
    assert f"skipping bad row {path}:3: Air_Temp 'abc' is not a number" in result.stdout
    assert f"skipping bad row {path}:5: Category 'Q' must be one of L, M, H" in result.stdout
    assert "produced=3 published=3 acked=3" in result.stdout
    assert "bad_rows=2" in result.stdout
    readings = [parse_reading(p) for p in payloads]
    assert [r.values["product_id"] for r in readings] == ["L47181", "M14860", "H29424"]
    assert [r.failure_description for r in readings] == ["No Failure", "No Failure", "Power Failure"]
    assert len({r.reading_id for r in readings}) == 3


def test_a_seeded_simulation_publishes_the_seeded_stream(broker: LocalBroker, machine_id: str, tmp_path: Path) -> None:
    collector = viewer(broker, machine_id)
    env = environment(tmp_path, broker, broker.add_user(machine_id, "sensor"))
    result = publisher(env, "simulate", "--machine", machine_id, "--count", "40", "--rate", "0", "--seed", "9")
    payloads = reading_messages(collector, 40)
    collector.close()
    assert result.returncode == 0, result.stderr
    got = [parse_reading(p) for p in payloads]
    expected = [item.sample for item in simulated_items(seed=9, count=40)]
    assert [(r.values, r.failure) for r in got] == [(s.values, s.failure) for s in expected]


def test_sigterm_stops_a_looping_replay_cleanly(broker: LocalBroker, machine_id: str, tmp_path: Path) -> None:
    collector = viewer(broker, machine_id)
    env = environment(tmp_path, broker, broker.add_user(machine_id, "sensor"))
    path = csv_file(tmp_path, *GOOD_ROWS)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "publisher",
            "replay",
            str(path),
            "--machine",
            machine_id,
            "--loop",
            "--rate",
            "50",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reading_messages(collector, 10)  # three rows, looped: more readings than rows
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=30)
    status_topic = broker.topics.status(machine_id)
    messages = collector.wait_for(lambda m: any(x.topic == status_topic and b"offline" in x.payload for x in m))
    collector.close()
    assert process.returncode == 0, stderr
    assert time.monotonic() - started < 10
    assert "stopped: produced=" in stdout
    assert "outbox=0" in stdout
    states = [Status.from_json(m.payload).state for m in messages if m.topic == status_topic]
    assert states[-1] == "offline"
    ids = [parse_reading(m.payload).reading_id for m in messages if m.topic.endswith("/readings")]
    assert len(ids) == len(set(ids)) > 3  # unique across loops


def test_an_account_without_the_sensor_role_stops_with_a_hint(
    broker: LocalBroker, machine_id: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, broker, broker.add_user(machine_id, "viewer"))
    result = publisher(env, "simulate", "--machine", machine_id, "--rate", "10")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: the broker refuses what {machine_id} publishes (Not authorized)")
