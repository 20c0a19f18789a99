"""Train or evaluate a remaining-useful-life or anomaly model for a machine profile.

Usage:
    python -m training.series --profile turbofan --data train_FD001.csv [--kind rul|anomaly]
        [--map COLUMN=field,...] [--models-dir DIR] [--seed N]
    python -m training.series evaluate --profile turbofan FILE.csv [--version V] [--lead N]

--profile is a profile id (profiles/<id>.yaml) or a profile file; --kind defaults to the
profile's model.kind. The CSV has a column per profile field (the profile's csv_columns,
or --map, say which), one for the machine and, for evaluation, optionally a `rul` column
(true remaining life). Shaped as `python -m training --profile P --data FILE --kind K`,
which it becomes once issue 15's profiles land. Environment as for `python -m training`
(FOREWARN_VAR_DIR, FOREWARN_TRAIN_SEED).
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
from training.config import load_config
from training.series.data import DataError
from training.series.profile import KINDS, ProfileError, SeriesProfile, load_series_profile

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
PROG = "python -m training.series"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors become one line (via run_cli) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def _common(parser: _Parser, models_dir: Path) -> None:
    parser.add_argument("--profile", required=True, metavar="P", help="profile id or file")
    parser.add_argument("--map", default=None, metavar="COLUMN=field,...", help="CSV columns of other names")
    parser.add_argument("--models-dir", type=Path, default=models_dir, metavar="DIR")


def _train_parser(models_dir: Path, seed: int) -> _Parser:
    parser = _Parser(prog=PROG, description="Train a RUL or anomaly model for a profile.")
    _common(parser, models_dir)
    parser.add_argument("--data", required=True, type=Path, metavar="FILE")
    parser.add_argument("--kind", choices=KINDS, default=None, help="model kind (default: the profile's)")
    parser.add_argument("--seed", type=int, default=seed, metavar="N")
    return parser


def _evaluate_parser(models_dir: Path) -> _Parser:
    parser = _Parser(prog=f"{PROG} evaluate", description="Score a CSV with a saved RUL or anomaly model.")
    _common(parser, models_dir)
    parser.add_argument("file", type=Path, metavar="FILE.csv")
    parser.add_argument("--version", default=None, metavar="V", help="model version (default: current)")
    parser.add_argument("--lead", type=int, default=20, metavar="N", help="anomaly: warned N readings before failure")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; data, profile and model errors print one line and return 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    config = load_config()
    try:
        if args[:1] == ["evaluate"]:
            return _evaluate(_evaluate_parser(config.models_dir).parse_args(args[1:]))
        return _train(_train_parser(config.models_dir, config.seed).parse_args(args))
    except (DataError, ModelError, ProfileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def resolve_profile(name: str) -> SeriesProfile:
    """A profile file, or the built-in profile of that id."""
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_series_profile(path)
    builtin = PROFILES_DIR / f"{name}.yaml"
    if not builtin.exists():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ConfigError(f"--profile {name}: no such profile file or built-in profile (built in: {known})")
    return load_series_profile(builtin)


def _mapping(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    mapping: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        column, sep, target = part.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ConfigError(f"--map {part!r}: expected COLUMN=field")
        mapping[column.strip()] = target.strip()
    return mapping


def _train(args: argparse.Namespace) -> int:
    from training.series.report import format_series_training
    from training.series.train import train_series

    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed} must be at least 0")
    profile = resolve_profile(args.profile)
    kind = args.kind or profile.kind
    if kind == "classifier":
        raise ConfigError("--kind classifier: train the failure classifier with `python -m training --data FILE`")
    setup_logging("training")
    result = train_series(args.data, profile, kind, args.models_dir, seed=args.seed, mapping=_mapping(args.map))
    print(format_series_training(result))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from training.series.evaluate import evaluate_series
    from training.series.report import format_series_evaluation

    if args.lead < 0:
        raise ConfigError(f"--lead {args.lead} must be at least 0")
    profile = resolve_profile(args.profile)
    evaluation = evaluate_series(
        args.file, profile, args.models_dir, version=args.version, mapping=_mapping(args.map), lead=args.lead
    )
    print(format_series_evaluation(evaluation))
    return 0


if __name__ == "__main__":
    run_cli(main)
