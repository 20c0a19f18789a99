"""Drift on the real training files: replaying them raises nothing, a shifted sensor is caught.

The reference is what `python -m training` stores in the card (model.drift.reference_distribution
over the training rows in file order); the recent readings are what the API would hand the
drift report after a replay: the latest ones, newest first, of one machine or of the fleet.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from model.drift import assess, reference_distribution
from model.engineering import RAW_COLUMNS
from training.dataset import load_dataset

DATA = Path(__file__).resolve().parents[2] / "data"
FILES = (DATA / "slave1_data.csv", DATA / "slave2_data.csv")
WINDOW = 1000  # what the dashboard asks for
MAX_FETCH = 50_000  # the most the API reads
STEP = 50  # a drift report after every 50 readings


@pytest.fixture(scope="module")
def training() -> tuple[dict[str, np.ndarray], dict[str, dict[str, object]]]:
    raw = load_dataset(FILES).raw
    columns = dict(zip(RAW_COLUMNS, raw.T, strict=True))
    return {str(path.stem): rows for path, rows in zip(FILES, np.split(raw, 2), strict=True)}, (
        reference_distribution(columns)
    )


def _latest(rows: np.ndarray, end: int) -> dict[str, np.ndarray]:
    """The API's view after `end` readings: the latest ones, newest first."""
    recent = rows[max(0, end - MAX_FETCH) : end][::-1]
    return dict(zip(RAW_COLUMNS, recent.T, strict=True))


def _replays(files: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each file looped as `publisher replay --loop` does, and the two machines side by side."""
    looped = {name: np.concatenate([rows, rows, rows[: len(rows) // 2]]) for name, rows in files.items()}
    one, two = looped.values()
    fleet = np.empty((len(one) + len(two), one.shape[1]))
    fleet[0::2], fleet[1::2] = one, np.roll(two, 1234, axis=0)  # the second started at another row
    return looped | {"fleet": fleet}


def test_replaying_the_training_files_raises_no_drift(training) -> None:
    files, reference = training
    levels: Counter[str] = Counter()
    worst_judged = 0.0
    for name, rows in _replays(files).items():
        for end in range(STEP, len(rows) + 1, STEP):
            for entry in assess(reference, _latest(rows, end), WINDOW):
                levels[entry["level"]] += 1
                assert entry["level"] in ("stable", "pending"), (name, end, entry)
                if entry["level"] == "stable":
                    worst_judged = max(worst_judged, entry["psi"])
    print("FIGURES", json.dumps({"drift_reports": dict(levels), "worst_stable_psi": worst_judged}))
    assert levels["stable"] > levels["pending"]  # most sensors are judged most of the time
    assert worst_judged < 0.1


@pytest.mark.parametrize(
    ("feature", "shift", "within"),
    [
        ("torque_nm", 10.0, 500),  # one standard deviation more torque: by its distribution
        ("rotational_speed_rpm", 150.0, 600),  # under one standard deviation faster
        ("air_temp_k", 8.0, 5),  # hotter than anything in the training rows: by range, at once
    ],
)
def test_a_shifted_sensor_raises_drift_within_a_stated_number_of_readings(training, feature, shift, within) -> None:
    files, reference = training
    rows = files["slave1_data"].copy()
    start = 2000
    rows[start:, RAW_COLUMNS.index(feature)] += shift
    for after in range(1, within + 1):
        report = {e["feature"]: e for e in assess(reference, _latest(rows, start + after), WINDOW)}
        if report[feature]["level"] == "significant":
            break
    print("FIGURES", json.dumps({"feature": feature, "shift": shift, "readings_to_significant": after}))
    assert report[feature]["level"] == "significant", report[feature]
    assert all(e["level"] != "significant" for name, e in report.items() if name != feature)
