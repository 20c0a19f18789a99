"""`python -m contract profiles`: the profiles as GET /api/profiles lists them (the dashboard's fake API serves it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from contract import builtin_profiles, load_profile
from tests.support.stack import REPO_ROOT

PUMP = REPO_ROOT / "docs" / "profiles" / "centrifugal-pump.yaml"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "contract", "profiles", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_the_listing_is_the_builtin_profiles_and_the_files_given() -> None:
    done = _run(str(PUMP))
    assert done.returncode == 0, done.stderr
    listed = {profile["id"]: profile for profile in json.loads(done.stdout)["profiles"]}
    assert list(listed) == sorted([*builtin_profiles(), "centrifugal-pump"])
    assert listed["centrifugal-pump"] == load_profile(PUMP).to_json_dict()


def test_a_bad_profile_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    done = _run(str(bad))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert str(bad) in done.stderr
