"""Training settings from the environment (the only module here that reads it).

FOREWARN_VAR_DIR      models go to $FOREWARN_VAR_DIR/models (default var/models)
FOREWARN_REGISTRY_DIR operator-added profiles (default var/registry; see contract/registry.py)
FOREWARN_TRAIN_SEED   seed of the split, the folds and the forest (default 42)
FOREWARN_TRAIN_JOBS   cores used while fitting (default 2; prediction always uses 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.settings import env_int, env_path, var_dir

__all__ = ["DEFAULT_DATA", "TrainingConfig", "load_config"]

_REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA: tuple[Path, ...] = (_REPO / "data" / "slave1_data.csv", _REPO / "data" / "slave2_data.csv")


@dataclass(frozen=True)
class TrainingConfig:
    """Where data and models are, and how training runs."""

    models_dir: Path
    registry_dir: Path
    data_files: tuple[Path, ...]
    seed: int
    n_jobs: int


def load_config() -> TrainingConfig:
    """Settings from the environment; a malformed one raises ConfigError."""
    return TrainingConfig(
        models_dir=var_dir() / "models",
        registry_dir=env_path("FOREWARN_REGISTRY_DIR", var_dir() / "registry"),
        data_files=DEFAULT_DATA,
        seed=env_int("FOREWARN_TRAIN_SEED", 42, minimum=0),
        n_jobs=env_int("FOREWARN_TRAIN_JOBS", 2, minimum=1),
    )
