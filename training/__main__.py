"""Train or evaluate the failure model.

Usage:
    python -m training                                  # train on data/slave1+2, save to var/models
    python -m training --data a.csv b.csv --models-dir DIR --seed 7
    python -m training evaluate FILE.csv [--models-dir DIR] [--version V]

Training prints the validation metrics and points var/models/current at the new
version. Environment: FOREWARN_VAR_DIR, FOREWARN_TRAIN_SEED, FOREWARN_TRAIN_JOBS
(see training/config.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from common.logs import setup_logging
from common.settings import ConfigError, run_cli
from model.artifact import ModelError
from training.config import TrainingConfig, load_config
from training.dataset import DatasetError
from training.evaluate import evaluate_file
from training.report import format_evaluation, format_training
from training.train import train


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become one line (via run_cli) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _train_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training", description="Train the failure model.")
    parser.add_argument("--data", nargs="+", type=Path, default=list(config.data_files), metavar="FILE")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    parser.add_argument("--seed", type=int, default=config.seed, metavar="N")
    return parser


def _evaluate_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training evaluate", description="Score a CSV with a saved model.")
    parser.add_argument("file", type=Path, metavar="FILE.csv")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    parser.add_argument("--version", default=None, metavar="V", help="model version (default: current)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; data and model errors print one line and return 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = load_config()
    try:
        if args[:1] == ["evaluate"]:
            return _evaluate(_evaluate_parser(config).parse_args(args[1:]))
        return _train(_train_parser(config).parse_args(args), config)
    except (DatasetError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace, config: TrainingConfig) -> int:
    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed} must be at least 0")
    setup_logging("training")
    result = train(args.data, args.models_dir, args.seed, config.n_jobs)
    print(format_training(result))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    print(format_evaluation(evaluate_file(args.file, args.models_dir, args.version)))
    return 0


if __name__ == "__main__":
    run_cli(main)
