"""Reading payloads for tests, built from the contract's own example."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from contract import utc_now_iso

EXAMPLES = Path(__file__).resolve().parents[2] / "contract" / "examples"


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / f"{name}.json").read_text()))


def api_prediction() -> dict[str, Any]:
    """A prediction as the API serves it for now: version 1, flat (until its store follows profiles)."""
    return dict(json.loads((Path(__file__).resolve().parent / "examples" / "prediction_v1.json").read_text()))


def reading(**overrides: Any) -> dict[str, Any]:
    """A valid, healthy reading with a fresh id; override any field."""
    base = example("reading") | {
        "reading_id": f"r-{uuid.uuid4().hex[:12]}",
        "ts": utc_now_iso(),
        "torque_nm": 40.0,
        "rotational_speed_rpm": 1500,
        "tool_wear_min": 20,
        "failure": 0,
        "failure_description": "No Failure",
    }
    return base | overrides


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
