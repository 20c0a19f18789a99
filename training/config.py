"""Training settings from the environment (the only module here that reads it).

FOREWARN_VAR_DIR      models go to $FOREWARN_VAR_DIR/models (default var/models)
FOREWARN_REGISTRY_DIR operator-added profiles (default var/registry; see contract/registry.py)
FOREWARN_TRAIN_SEED   seed of the split, the folds and the forest (default 42)
FOREWARN_TRAIN_JOBS   cores used while fitting (default 2; prediction always uses 1)
FOREWARN_DATABASE_URL the API's store, read by --from-history and compare (default: the API's SQLite file)
FOREWARN_ALERT_CLEAR_AFTER  the worker's alert rule, replayed by compare (default 5)
FOREWARN_AUTO_PROMOTE       1: `compare --auto-promote` may promote the challenger (default 0: never)
FOREWARN_PROMOTE_MARGIN     by how much the challenger's F1 must beat the champion's (default 0.02)
FOREWARN_PROMOTE_MIN_LABELS labelled readings needed before an automatic promotion (default 50)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.config import database_url
from common.settings import ConfigError, env_float, env_int, env_path, env_str, var_dir

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
    database_url: str = ""
    clear_after: int = 5
    auto_promote: bool = False
    promote_margin: float = 0.02
    promote_min_labels: int = 50


def load_config() -> TrainingConfig:
    """Settings from the environment; a malformed one raises ConfigError."""
    return TrainingConfig(
        models_dir=var_dir() / "models",
        registry_dir=env_path("FOREWARN_REGISTRY_DIR", var_dir() / "registry"),
        data_files=DEFAULT_DATA,
        seed=env_int("FOREWARN_TRAIN_SEED", 42, minimum=0),
        n_jobs=env_int("FOREWARN_TRAIN_JOBS", 2, minimum=1),
        database_url=database_url(),
        clear_after=env_int("FOREWARN_ALERT_CLEAR_AFTER", 5, minimum=1),
        auto_promote=_flag("FOREWARN_AUTO_PROMOTE"),
        promote_margin=env_float("FOREWARN_PROMOTE_MARGIN", 0.02, minimum=0.0),
        promote_min_labels=env_int("FOREWARN_PROMOTE_MIN_LABELS", 50, minimum=1),
    )


def _flag(name: str) -> bool:
    value = env_str(name, "0").strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ConfigError(f"{name}={value!r} must be 0 or 1")
    return value in ("1", "true", "yes")
