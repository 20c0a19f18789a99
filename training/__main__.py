"""Train or evaluate the failure model of a machine profile.

Usage:
    python -m training                                  # ai4i-mill on data/slave1+2, save to var/models
    python -m training --data a.csv b.csv --models-dir DIR --seed 7
    python -m training --profile fan --data fans.csv [--map Vib=vibration_mm_s,Temp=bearing_temp_c]
    python -m training evaluate FILE.csv [--models-dir DIR] [--version V] [--profile P] [--map ...]
    python -m training --from-history --profile P [--champion]   # from the API's store, as challenger
    python -m training compare|promote|rollback --profile P       # champion and challenger
    python -m training challenger --profile P --version V | --clear

--profile names a built-in profile (profiles/) or one added to the registry
(FOREWARN_REGISTRY_DIR/profiles); --map maps CSV columns onto its fields (default: the
profile's csv_columns; other columns are read by field name). Training prints the
validation metrics and points the profile's pointer (var/models/current for ai4i-mill,
var/models/current-<profile> otherwise) at the new version. Environment: FOREWARN_VAR_DIR,
FOREWARN_REGISTRY_DIR, FOREWARN_TRAIN_SEED, FOREWARN_TRAIN_JOBS, FOREWARN_DATABASE_URL and the
automatic promotion's settings (see training/config.py). The life cycle commands (learning from
history, shadow, compare, promote, rollback) are described in training/lifecycle.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from common.logs import setup_logging
from common.settings import ConfigError, run_cli
from contract import DEFAULT_PROFILE, Profile
from contract.registry import Registry
from model.artifact import ModelError
from training import lifecycle
from training.config import TrainingConfig, load_config
from training.dataset import DatasetError, parse_map
from training.evaluate import evaluate_file
from training.history import HistoryError
from training.report import format_evaluation, format_training
from training.train import train


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become one line (via run_cli) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _train_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training", description="Train the failure model of a profile.")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, metavar="P", help=f"default {DEFAULT_PROFILE}")
    parser.add_argument("--data", nargs="+", type=Path, default=None, metavar="FILE")
    parser.add_argument("--map", default=None, metavar="COLUMN=field,...", help="CSV columns -> profile fields")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    parser.add_argument("--seed", type=int, default=config.seed, metavar="N")
    parser.add_argument("--from-history", action="store_true", help="learn from the API's store (see lifecycle)")
    parser.add_argument("--champion", action="store_true", help="with --from-history: serve it at once")
    return parser


def _evaluate_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training evaluate", description="Score a CSV with a saved model.")
    parser.add_argument("file", type=Path, metavar="FILE.csv")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    parser.add_argument("--version", default=None, metavar="V", help="model version (default: current)")
    parser.add_argument("--profile", default=None, metavar="P", help="whose current model (default ai4i-mill)")
    parser.add_argument("--map", default=None, metavar="COLUMN=field,...", help="CSV columns -> profile fields")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; data and model errors print one line and return 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = load_config()
    try:
        if args[:1] == ["evaluate"]:
            return _evaluate(_evaluate_parser(config).parse_args(args[1:]))
        if args[:1] and args[0] in lifecycle.COMMANDS:
            return lifecycle.run_command(_Parser, args, config)
        options = _train_parser(config).parse_args(args)
        if options.from_history:
            return lifecycle.run_from_history(options, config)
        if options.champion:
            raise ConfigError("--champion goes with --from-history")
        return _train(options, config)
    except (DatasetError, ModelError, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace, config: TrainingConfig) -> int:
    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed} must be at least 0")
    profile = _profile(args.profile, config)
    if args.data is None and profile.id != DEFAULT_PROFILE:
        raise ConfigError(f"--profile {profile.id}: give its training data with --data FILE...")
    mapping = parse_map(args.map) if args.map is not None else None
    setup_logging("training")
    files = args.data if args.data is not None else list(config.data_files)
    result = train(files, args.models_dir, args.seed, config.n_jobs, profile=profile, mapping=mapping)
    print(format_training(result))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    mapping = parse_map(args.map) if args.map is not None else None
    print(format_evaluation(evaluate_file(args.file, args.models_dir, args.version, args.profile, mapping)))
    return 0


def _profile(profile_id: str, config: TrainingConfig) -> Profile:
    known = Registry(config.registry_dir).profiles()
    if profile_id not in known:
        raise ConfigError(f"--profile {profile_id!r}: no such profile (known: {', '.join(sorted(known))})")
    return known[profile_id]


if __name__ == "__main__":
    run_cli(main)
