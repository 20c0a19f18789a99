"""`make up` and compose run the demo at the pace whose alert rate bench/alert_rate.py measures."""

from __future__ import annotations

import re
import shlex
from dataclasses import fields

from bench.alert_rate import DEMO
from inference_worker.config import WorkerConfig
from tests.support.compose import REPO_ROOT, Service, load_compose

PUBLISHERS = {"slave1": "publisher-slave1", "slave2": "publisher-slave2", "sim1": "simulator"}


def _rate(words: list[str]) -> float:
    return float(words[words.index("--rate") + 1])


def test_every_demo_publisher_runs_at_the_measured_rate() -> None:
    procfile = dict(line.split(":", 1) for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line)
    doc = load_compose({"FOREWARN_API_TOKEN": "unit-test-token-0123456789"})
    for process, service in PUBLISHERS.items():
        assert _rate(shlex.split(procfile[process])) == DEMO.rate, process
        assert _rate(Service.of(doc, service).command) == DEMO.rate, service


def test_the_worker_clears_alerts_as_measured() -> None:
    doc = load_compose({"FOREWARN_API_TOKEN": "unit-test-token-0123456789"})
    assert Service.of(doc, "inference-worker").environment["FOREWARN_ALERT_CLEAR_AFTER"] == str(DEMO.clear_after)
    up = (REPO_ROOT / "scripts" / "up.sh").read_text()
    assert re.search(r'FOREWARN_ALERT_CLEAR_AFTER="\$\{FOREWARN_ALERT_CLEAR_AFTER:-(\d+)\}"', up)[1] == str(  # type: ignore[index]
        DEMO.clear_after
    )
    default_ratio = next(f.default for f in fields(WorkerConfig) if f.name == "clear_ratio")
    assert DEMO.clear_ratio == default_ratio  # FOREWARN_ALERT_CLEAR_RATIO is set nowhere in the demo
