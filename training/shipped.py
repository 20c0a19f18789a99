"""Models shipped in the tree (data/models/<profile>/<version>/), installed where none is.

    python -m training install-shipped [--models-dir DIR]

The turbofan RUL model takes minutes to train (its validation refits 5 folds x 20 cuts), so
the tree ships it: `card.json` and `model.onnx`, exactly what `python -m training --profile
turbofan --data data/cmapss/train_FD001.csv` writes with the default seed (the version is the
ONNX file's hash, so retraining gives the same version). A profile that already has a model
keeps it; an installed model is loaded back under the worker's checks before its pointer
moves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from model.artifact import current_version, pointer_name
from model.series_artifact import load_series_model

__all__ = ["SHIPPED_DIR", "install_shipped"]

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "models"


def install_shipped(models_dir: Path, shipped_dir: Path = SHIPPED_DIR) -> list[tuple[str, str]]:
    """Install each shipped model whose profile has none in `models_dir`; the (profile, version) installed."""
    installed = []
    for folder in sorted(shipped_dir.glob("*/*")):
        profile_id, version = folder.parent.name, folder.name
        if not folder.is_dir() or current_version(models_dir, profile_id) is not None:
            continue
        target = models_dir / version
        target.mkdir(parents=True, exist_ok=True)
        for item in folder.iterdir():
            shutil.copyfile(item, target / item.name)
        load_series_model(models_dir, profile_id, version)  # ModelError: the pointer does not move
        pointer = models_dir / pointer_name(profile_id)
        temporary = pointer.with_name(f".{pointer.name}.tmp")
        temporary.write_text(f"{version}\n")
        temporary.replace(pointer)
        installed.append((profile_id, version))
    return installed
