"""The fleet bench's smoke run: the whole harness, for real, in seconds (so it cannot rot).

`python -m bench fleet --smoke` starts Mosquitto, a worker, the API on each store, the
dashboards' event streams, the probe and the load generators, ramps a tiny fleet and prints
the table. What is asserted is that every part measured something and nothing was lost --
not a latency: on a shared machine under load that would be a timed test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.api import POSTGRES_ENV
from tests.support.stack import REPO_ROOT


def test_the_smoke_run_ramps_a_tiny_fleet_through_the_whole_stack(models_dir: Path, tmp_path: Path) -> None:
    engines = "sqlite,postgresql" if os.environ.get(POSTGRES_ENV) else "sqlite"
    result_file = tmp_path / "fleet.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "fleet",
            "--smoke",
            "--db",
            engines,
            "--models-dir",
            str(models_dir),
            "--json",
            str(result_file),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "largest fleet that held the SLO, sqlite" in done.stdout
    results = json.loads(result_file.read_text())["results"]
    for engine in engines.split(","):
        steps = results[engine]["steps"]
        assert [step["machines"] for step in steps] == [4, 8], f"{engine}: {[s['slo'] for s in steps]}"
        for step in steps:
            what = f"{engine}, {step['machines']} machines"
            assert step["sensors"] == step["machines"], what
            assert step["sent"] >= step["machines"] * 4, what  # warm-up + window + tail, at 1 Hz
            assert step["stored"] == step["sent"], what
            assert step["lost"] == 0, what
            assert step["rejected"] == 0, what
            for hop in ("broker", "prediction", "stored", "stream"):
                assert step["hops"][hop]["n"] > 0, f"{what}: nothing timed on {hop}"
                assert step["hops"][hop]["p50"] >= 0, f"{what}: {hop}"
            assert step["stream"]["clients"] == 5
            assert step["stream"]["missed"] == 0, what
            roles = {"broker", "worker", "api", "loadgen", "dashboards", "probe"}
            roles |= {"postgres"} if engine == "postgresql" else set()
            assert {role for role, count in step["processes"].items() if count} == roles, what
            assert all(step["rss_mb"][role] > 0 for role in roles), what
            assert step["storage"]["bytes_per_reading"] > 0, what
            assert step["loadgen"]["nice"] == [10], what  # the sensors yield the cores to the stack
