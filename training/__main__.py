"""Train or evaluate the model of a machine profile: a failure classifier, a RUL regressor or an anomaly detector.

Usage:
    python -m training                                  # ai4i-mill's classifier on data/slave1+2, to var/models
    python -m training --data a.csv b.csv --models-dir DIR --seed 7
    python -m training --profile fan --data fans.csv [--map Vib=vibration_mm_s,Temp=bearing_temp_c]
    python -m training --profile turbofan --data data/cmapss/train_FD001.csv            # the profile's kind (rul)
    python -m training --profile turbofan --data data/cmapss/train_FD001.csv --kind anomaly
    python -m training evaluate [--profile P] FILE.csv [--models-dir DIR] [--version V] [--map ...] [--lead N]
    python -m training install-shipped [--models-dir DIR]   # the models in data/models, where a profile has none
    python -m training --from-history --profile P [--champion]   # from the API's store, as challenger
    python -m training compare|promote|rollback --profile P       # champion and challenger
    python -m training challenger --profile P --version V | --clear

--profile names a built-in profile (profiles/) or one added to the registry
(FOREWARN_REGISTRY_DIR/profiles); --kind defaults to the profile's `model.kind`; --map maps
CSV columns onto its fields (default: the profile's csv_columns; other columns are read by
field name). A classifier splits rows (stratified by failure mode); a RUL model or an anomaly
detector splits whole machines (docs/MODELS.md). Training prints the validation figures and
points the profile's pointer (var/models/current for ai4i-mill, var/models/current-<profile>
otherwise) at the new version: one model per profile, of any kind. `evaluate` scores a file
with the profile's current model (or --version) and prints the figures of its kind.
Environment: FOREWARN_VAR_DIR, FOREWARN_REGISTRY_DIR, FOREWARN_TRAIN_SEED, FOREWARN_TRAIN_JOBS,
FOREWARN_DATABASE_URL and the automatic promotion's settings (see training/config.py). The life
cycle commands (learning from history, shadow, compare, promote, rollback) are described in
training/lifecycle.py.
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
from contract.profiles import MODEL_KINDS
from model.artifact import ModelError, card_kind
from training import lifecycle
from training.config import TrainingConfig, load_config
from training.dataset import DatasetError, parse_map
from training.history import HistoryError
from training.series.data import DataError
from training.series.profile import NotSeriesProfile, SeriesProfile, series_profile


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become one line (via run_cli) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _train_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training", description="Train the model of a profile.")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, metavar="P", help=f"default {DEFAULT_PROFILE}")
    parser.add_argument("--data", nargs="+", type=Path, default=None, metavar="FILE")
    parser.add_argument("--kind", choices=MODEL_KINDS, default=None, help="model kind (default: the profile's)")
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
    parser.add_argument("--lead", type=int, default=20, metavar="N", help="anomaly: warned N readings before failure")
    return parser


def _shipped_parser(config: TrainingConfig) -> _Parser:
    parser = _Parser(prog="python -m training install-shipped", description="Install the shipped models.")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    return parser


def _install_shipped(args: argparse.Namespace) -> int:
    from training.shipped import install_shipped

    installed = install_shipped(args.models_dir)
    for profile_id, version in installed:
        print(f"installed the shipped {profile_id} model {version} in {args.models_dir}")
    if not installed:
        print(f"every shipped model's profile already has a model in {args.models_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; data, profile and model errors print one line and return 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = load_config()
    try:
        if args[:1] == ["evaluate"]:
            return _evaluate(_evaluate_parser(config).parse_args(args[1:]), config)
        if args[:1] == ["install-shipped"]:
            return _install_shipped(_shipped_parser(config).parse_args(args[1:]))
        if args[:1] and args[0] in lifecycle.COMMANDS:
            return lifecycle.run_command(_Parser, args, config)
        options = _train_parser(config).parse_args(args)
        if options.from_history:
            return lifecycle.run_from_history(options, config)
        if options.champion:
            raise ConfigError("--champion goes with --from-history")
        return _train(options, config)
    except (DatasetError, DataError, ModelError, NotSeriesProfile, HistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace, config: TrainingConfig) -> int:
    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed} must be at least 0")
    profile = lifecycle.known_profile(args.profile, config)
    kind = args.kind or profile.model.kind
    if args.data is None and (profile.id != DEFAULT_PROFILE or kind != "classifier"):
        raise ConfigError(f"--profile {profile.id}: give its training data with --data FILE...")
    mapping = parse_map(args.map) if args.map is not None else None
    if kind != "classifier":
        return _train_series(args, profile, kind, mapping)
    from training.report import format_training
    from training.train import train

    setup_logging("training")
    files = args.data if args.data is not None else list(config.data_files)
    result = train(files, args.models_dir, args.seed, config.n_jobs, profile=profile, mapping=mapping)
    print(format_training(result))
    return 0


def _train_series(args: argparse.Namespace, profile: Profile, kind: str, mapping: dict[str, str] | None) -> int:
    from training.series.report import format_series_training
    from training.series.train import train_series

    if len(args.data) != 1:
        raise ConfigError(f"--kind {kind}: give one file of machine histories with --data (got {len(args.data)})")
    series = series_profile(profile)
    if kind == "rul" and profile.model.rul is None:
        raise ConfigError(f"--kind rul: profile {profile.id} has no `model.rul` section (unit, horizon)")
    setup_logging("training")
    result = train_series(args.data[0], series, kind, args.models_dir, seed=args.seed, mapping=mapping)
    print(format_series_training(result))
    return 0


def _evaluate(args: argparse.Namespace, config: TrainingConfig) -> int:
    if args.lead < 0:
        raise ConfigError(f"--lead {args.lead} must be at least 0")
    mapping = parse_map(args.map) if args.map is not None else None
    profile_id = args.profile or DEFAULT_PROFILE
    kind = card_kind(args.models_dir, profile_id, args.version)
    if kind in ("rul", "anomaly"):
        from training.series.evaluate import evaluate_series
        from training.series.report import format_series_evaluation

        series: SeriesProfile = series_profile(lifecycle.known_profile(profile_id, config))
        evaluation = evaluate_series(
            args.file, series, args.models_dir, version=args.version, mapping=mapping, lead=args.lead
        )
        print(format_series_evaluation(evaluation))
        return 0
    from training.evaluate import evaluate_file
    from training.report import format_evaluation

    print(format_evaluation(evaluate_file(args.file, args.models_dir, args.version, args.profile, mapping)))
    return 0


if __name__ == "__main__":
    run_cli(main)
