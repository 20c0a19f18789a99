"""Proof that nothing is hard-coded, the API/UI part: no AI4I field name in the API, the
dashboard's sources or the bot. They render whatever the machine's profile declares; the
only AI4I names left in code are the contract's backward-compatibility module
(contract/compat.py), which the store's migrations import for the legacy columns."""

from __future__ import annotations

import re
from pathlib import Path

from contract.compat import V1_READING_NUMBERS
from contract.profiles import builtin_profiles

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("api", "dashboard/src", "telegram_bot")
SUFFIXES = {".py", ".ts", ".tsx", ".mjs", ".json", ".md", ".css", ".html"}
GENERATED = {ROOT / "dashboard" / "src" / "api" / "contract.gen.ts"}  # compiled from the contract's schemas


def test_no_ai4i_field_name_in_the_api_the_dashboard_or_the_bot() -> None:
    pattern = re.compile("|".join(map(re.escape, V1_READING_NUMBERS)))
    files = [
        path
        for folder in SEARCHED
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in SUFFIXES and path.is_file() and path not in GENERATED and "__pycache__" not in path.parts
    ]
    assert len(files) > 50  # the search did look somewhere
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_no_turbofan_field_name_nor_the_class_itself_in_the_api_the_dashboard_or_the_bot() -> None:
    """The second machine class (profiles/turbofan.yaml) is drawn and told from its profile alone:
    its RUL chart, badges and bot texts name no field, unit or class of it in code."""
    turbofan = builtin_profiles()["turbofan"]
    everyday = {"cycle"}  # a field named with a plain English word ("Tab cycles focus") proves nothing
    names = [f.name for f in turbofan.fields if f.name not in everyday]
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b|turbofan|c-?mapss", re.IGNORECASE)
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _searched_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def _searched_files() -> list[Path]:
    return [
        path
        for folder in SEARCHED
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in SUFFIXES and path.is_file() and path not in GENERATED and "__pycache__" not in path.parts
    ]
