"""No machine class in the core's code: the AI4I field names live in profiles/ai4i-mill.yaml only.

Allowed elsewhere: the contract's backward-compatibility module (version-1 predictions), data
files (the benchmarks' device maps under bench/maps/ are YAML) and tests.
The API, dashboard and bot have a test of their own.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AI4I_FIELDS = re.compile(r"air_temp_k|process_temp_k|rotational_speed_rpm|torque_nm|tool_wear_min")
CORE = ("contract", "model", "inference_worker", "training", "publisher", "broker", "common", "bench", "docker")
ALLOWED = {"contract/compat.py"}


def test_the_core_names_no_ai4i_field() -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in CORE
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if AI4I_FIELDS.search(line)
    ]
    assert found == []
