"""The dashboard's types are generated from dashboard/schemas/contract.json: it must be current."""

from __future__ import annotations

import json
from pathlib import Path

from contract.profiles import builtin_profiles
from contract.schemas import document

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "dashboard" / "schemas" / "contract.json"


def test_the_dashboards_copy_of_the_contract_schemas_is_current() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == document(builtin_profiles()), (
        "the contract changed: run `python -m contract schema --out dashboard/schemas/contract.json`"
    )
    assert {"Prediction", "Alert", "Status", "Rejection", "Reading"} <= set(committed["payloads"])
