"""The model life cycle commands: learn from history, shadow, compare, promote, roll back.

    python -m training --from-history --profile P [--champion] [--models-dir DIR]
    python -m training challenger --profile P --version V | --clear
    python -m training compare --profile P [--version V] [--json] [--auto-promote]
    python -m training promote --profile P
    python -m training rollback --profile P

``--from-history`` trains on the readings, alerts, verdicts and maintenance log stored by the
API (FOREWARN_DATABASE_URL) and writes the new model as the profile's challenger (``--champion``:
straight into service). ``compare`` prints champion against challenger on the readings both
scored; with ``--auto-promote`` it promotes when FOREWARN_AUTO_PROMOTE allows it and the
challenger wins (training/compare.py). ``promote`` and ``rollback`` move pointers (model/roles.py):
the workers follow within FOREWARN_MODEL_POLL_S, without a restart or a lost reading.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from common.logs import setup_logging
from common.settings import ConfigError
from contract import Profile
from contract.registry import Registry, RegistryError
from model.artifact import ModelError, load_model
from model.roles import clear_challenger, promote, read_role, rollback, set_challenger
from model.scoring import ModelScorer
from training.compare import Comparison, decide, format_comparison
from training.comparing import compare_in_store
from training.config import TrainingConfig
from training.history import open_store, read_history
from training.labels import StoredReading

__all__ = ["COMMANDS", "known_profile", "run_command", "run_from_history", "time_models"]

COMMANDS = ("challenger", "compare", "promote", "rollback")
LATENCY_SAMPLE = 2000  # readings timed per model by compare


def run_command(parser: type[argparse.ArgumentParser], args: Sequence[str], config: TrainingConfig) -> int:
    """Run one of COMMANDS (`args[0]`); raises ModelError / HistoryError / ConfigError on bad input."""
    command, rest = args[0], list(args[1:])
    options = _parser(parser, command, config).parse_args(rest)
    profile = known_profile(options.profile, config)
    if command == "promote":
        print(promote(options.models_dir, profile.id).describe())
    elif command == "rollback":
        print(rollback(options.models_dir, profile.id).describe())
    elif command == "challenger":
        return _challenger(options, profile)
    else:
        return _compare(options, profile, config)
    return 0


def run_from_history(options: argparse.Namespace, config: TrainingConfig) -> int:
    """`python -m training --from-history`: train on the stored history, save as challenger or champion."""
    from training.from_history import train_from_history

    profile = known_profile(options.profile, config)
    engine = open_store(config.database_url)
    try:
        history = read_history(engine, profile.id)
    finally:
        engine.dispose()
    setup_logging("training")
    started = time.perf_counter()
    result = train_from_history(
        history,
        profile,
        options.models_dir,
        options.seed,
        config.n_jobs,
        as_challenger=not options.champion,
        store=_store_name(config.database_url),
        clear_after=config.clear_after,
    )
    data, validation = result.card["data"], result.card["metrics"]["validation"]
    print(
        f"model {result.version} ({profile.id}) trained from history as {result.role} in "
        f"{time.perf_counter() - started:.1f} s: {data['rows']} labelled readings of {data['readings']} stored, "
        f"{data['failures']} failures; validation (newest {data['validation_rows']}) precision "
        f"{validation['precision']}, recall {validation['recall']}, F1 {validation['f1']} at threshold "
        f"{result.card['threshold']}"
    )
    print("labels: " + ", ".join(f"{k} {v['readings']} ({v['failures']} failures)" for k, v in data["labels"].items()))
    return 0


def _parser(base: type[argparse.ArgumentParser], command: str, config: TrainingConfig) -> argparse.ArgumentParser:
    parser = base(prog=f"python -m training {command}", description=f"{command} a profile's model.")
    parser.add_argument("--profile", required=True, metavar="P")
    parser.add_argument("--models-dir", type=Path, default=config.models_dir, metavar="DIR")
    if command == "challenger":
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--version", metavar="V", help="an existing model version to run in shadow")
        which.add_argument("--clear", action="store_true", help="stop the shadow run")
    if command == "compare":
        parser.add_argument("--version", metavar="V", help="challenger version (default: the current challenger)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")
        parser.add_argument("--auto-promote", action="store_true", help="promote if configured and the challenger wins")
    return parser


def _challenger(options: argparse.Namespace, profile: Profile) -> int:
    if options.clear:
        stopped = clear_challenger(options.models_dir, profile.id)
        print(f"profile {profile.id}: challenger {stopped or '(none)'} no longer runs in shadow")
        return 0
    set_challenger(options.models_dir, profile.id, options.version)
    print(f"profile {profile.id}: model {options.version} now runs in shadow as challenger")
    return 0


def _compare(options: argparse.Namespace, profile: Profile, config: TrainingConfig) -> int:
    version = options.version or read_role(options.models_dir, "challenger", profile.id)
    engine = open_store(config.database_url)
    try:
        comparison, readings = compare_in_store(engine, profile, version, config.clear_after)
    finally:
        engine.dispose()
    version = comparison.challenger.version
    time_models(comparison, options.models_dir, profile, readings)
    print(json.dumps(comparison.as_dict(), indent=2) if options.json else format_comparison(comparison))
    if options.auto_promote:
        decision = decide(
            comparison,
            enabled=config.auto_promote,
            margin=config.promote_margin,
            min_labels=config.promote_min_labels,
        )
        if decision.promote and read_role(options.models_dir, "challenger", profile.id) == version:
            print(f"promoting: {decision.reason}")
            print(promote(options.models_dir, profile.id).describe())
        else:
            print(f"not promoting: {decision.reason}")
    return 0


def time_models(comparison: Comparison, models_dir: Path, profile: Profile, readings: Sequence[StoredReading]) -> None:
    """Each model's scoring time per reading, on the same stored readings, in the worker's batch size."""
    values = [reading.values for reading in readings[-LATENCY_SAMPLE:]]
    if not values:
        return
    for figures in (comparison.champion, comparison.challenger):
        try:
            scorer = ModelScorer(load_model(models_dir, figures.version, defer_pipeline=True, profile_id=profile.id))
        except ModelError:
            continue  # a version no longer on disk: no latency figure
        raw = scorer.spec.raw_matrix(values)
        scorer.score(raw[:1])  # warm up
        started = time.perf_counter()
        for start in range(0, len(raw), 64):  # the worker's batches are this size or smaller
            scorer.score(raw[start : start + 64])
        figures.ms_per_reading = round((time.perf_counter() - started) * 1000 / len(raw), 4)


def known_profile(profile_id: str, config: TrainingConfig) -> Profile:
    """The built-in or registered profile `profile_id`; ConfigError naming the known ones."""
    try:
        return Registry(config.registry_dir).require(profile_id)
    except RegistryError as exc:
        raise ConfigError(str(exc)) from None


def _store_name(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "?"
