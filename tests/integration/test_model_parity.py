"""The shipped model's ONNX export against scikit-learn on every training and validation row.

Also: the export is verified like the model file, and the worker's way of loading
(``defer_pipeline=True``) serves it without importing scikit-learn at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.artifact import CARD_FILE, NO_FAILURE, ONNX_FILE, ModelError, current_version, load_model
from model.onnx_export import MAX_ABS_DIFF
from model.scoring import ModelScorer
from training.config import DEFAULT_DATA
from training.dataset import load_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_DIFF = 1e-4  # float32 sums of 100 tree votes differ by ~1e-6; any flipped tree would be >= 0.01
MIN_AGREEMENT = 0.999


def test_onnx_and_scikit_learn_agree_on_every_row_of_both_data_files(models_dir: Path) -> None:
    loaded = load_model(models_dir)
    data = load_dataset(DEFAULT_DATA)
    fast = ModelScorer(loaded, engine="onnxruntime").score(data.raw)
    truth = ModelScorer(loaded, engine="scikit-learn").score(data.raw)
    probabilities = loaded.pipeline.predict_proba(data.raw)
    none = loaded.classes.index(NO_FAILURE)
    max_diff = float(np.max(np.abs(fast.failure_probability - truth.failure_probability)))
    agreement = float(
        np.mean((fast.failure_probability >= loaded.threshold) == (truth.failure_probability >= loaded.threshold))
    )
    modes = float(np.mean([a == b for a, b in zip(fast.predicted_mode, truth.predicted_mode, strict=True)]))
    print(
        f"\nONNX vs scikit-learn on {len(data.raw):,} rows: max |p diff| {max_diff:.2e}, "
        f"label agreement at {loaded.threshold} {agreement:.2%}, mode agreement {modes:.2%}"
    )
    assert len(data.raw) == 8000
    assert np.allclose(truth.failure_probability, 1 - probabilities[:, none])
    assert max_diff <= MAX_DIFF
    assert agreement >= MIN_AGREEMENT
    assert modes >= MIN_AGREEMENT


def test_the_card_records_the_export_and_its_parity(models_dir: Path) -> None:
    version = current_version(models_dir)
    assert version is not None
    card = json.loads((models_dir / version / CARD_FILE).read_text())
    onnx = (models_dir / version / ONNX_FILE).read_bytes()
    assert card["onnx"]["sha256"] == hashlib.sha256(onnx).hexdigest()
    assert card["onnx"]["parity"]["rows"] == card["data"]["rows"] == 8000
    assert card["onnx"]["parity"]["max_abs_diff"] <= MAX_ABS_DIFF
    assert card["onnx"]["libraries"]["onnxruntime"]


@pytest.fixture
def copied(models_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "models"
    shutil.copytree(models_dir, folder)
    version = current_version(folder)
    assert version is not None
    return folder, version


def test_a_tampered_export_is_refused(copied: tuple[Path, str]) -> None:
    folder, version = copied
    path = folder / version / ONNX_FILE
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelError, match=r"model\.onnx does not match its card"):
        load_model(folder, defer_pipeline=True)


def test_a_missing_export_that_the_card_lists_is_refused(copied: tuple[Path, str]) -> None:
    folder, version = copied
    (folder / version / ONNX_FILE).unlink()
    with pytest.raises(ModelError, match="cannot read"):
        load_model(folder)


def test_a_version_without_export_is_served_by_scikit_learn(copied: tuple[Path, str]) -> None:
    folder, version = copied
    card_path = folder / version / CARD_FILE
    card = json.loads(card_path.read_text())
    del card["onnx"]
    card_path.write_text(json.dumps(card))
    loaded = load_model(folder, defer_pipeline=True)
    assert loaded.onnx is None
    assert loaded.pipeline_loaded  # nothing to defer to
    assert ModelScorer(loaded).engine == "scikit-learn"


SERVING = """
import sys
from pathlib import Path
from model.artifact import load_model
from model.engineering import raw_matrix
from model.scoring import ModelScorer
from contract import parse_reading
loaded = load_model(Path(sys.argv[1]), defer_pipeline=True)
scorer = ModelScorer(loaded)
reading = parse_reading(open(sys.argv[2], "rb").read())
batch = scorer.score(raw_matrix([reading]))
heavy = sorted(m for m in ("sklearn", "scipy", "pandas", "skops", "skl2onnx") if m in sys.modules)
print(scorer.engine, round(float(batch.failure_probability[0]), 4), heavy, loaded.pipeline_loaded)
"""


def test_the_worker_way_of_loading_never_imports_scikit_learn(models_dir: Path) -> None:
    example = REPO_ROOT / "contract" / "examples" / "reading.json"
    done = subprocess.run(
        [sys.executable, "-c", SERVING, str(models_dir), str(example)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    engine, probability, heavy, built = done.stdout.split(maxsplit=3)
    assert engine == "onnxruntime"
    assert 0.0 <= float(probability) <= 1.0
    assert heavy.strip() == "[]"
    assert built.strip() == "False"
