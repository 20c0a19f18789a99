"""Sensor publishers: replay a CSV file or simulate a machine, publishing readings over MQTT/TLS.

    python -m publisher replay data/slave1_data.csv --machine slave1 [--rate 1] [--loop] [--start-row 0]
    python -m publisher replay fans.csv --machine fan-3 --profile fan --map Vib=vibration_mm_s,Temp=bearing_temp_c
    python -m publisher simulate --machine sim-1 [--category type=L] [--rate 1] [--seed N] [--count N]
    python -m publisher simulate --profile fan --count 20000 --seed 1 --csv fans.csv   # a training set
    python -m publisher opcua --machine ID --endpoint opc.tcp://HOST:4840 --map FILE
    python -m publisher modbus --machine ID --host HOST [--port 502] [--unit 1] --map FILE
    python -m publisher sparkplug --map FILE       (the Sparkplug B host: group, host id and machines)

--profile names the machine class (default ai4i-mill): a built-in profile or one added to the
registry (FOREWARN_REGISTRY_DIR). A replay maps the CSV's columns onto the profile's fields
with --map COLUMN=field,... (default: the profile's csv_columns, then columns named like the
fields). The simulator simulates what the profile's simulation and physics sections describe;
with --csv it writes the readings to a file (columns named like the fields, plus failure and
failure_description: what `python -m training --profile P --data FILE` reads) instead.

The gateways (opcua, modbus, sparkplug) map a device's values onto the machine's profile as the mapping
file says (docs/CONNECT.md); the mapping is checked before anything connects, and each problem is
one line naming the file and line, with exit status 2.

--rate is in readings per second; 0 publishes as fast as the broker acknowledges. --start-row
is the 0-based index of the first data row (bad rows count); --loop starts again at row 0.
Bad rows of a replay file are skipped, each logged with its file and line and counted; a
missing file, a wrong header or a file without one good row stops with exit status 2.
Without --category the simulator draws each category with the profile's shares (AI4I: the
dataset's product mix); without --seed it draws one and logs it, so any run can be repeated.

Settings come from the environment (publisher/config.py); the password from
FOREWARN_MQTT_PASSWORD(_FILE), by default var/secrets/<machine>.password. Every reading is
written to var/outbox/<machine>.db before it is sent and kept FOREWARN_OUTBOX_KEEP_ACKED_S (15 s)
after its PUBACK, then deleted; after every reconnect the kept ones are sent again, so readings
survive broker outages, broker crashes and publisher restarts (at least once; the reading id makes
duplicates harmless).
SIGTERM or Ctrl-C stops cleanly: queued readings get a few seconds to be acknowledged, the rest
stay in the outbox and are sent first on the next start. If the broker refuses the machine's
messages as not authorized, the publisher stops with exit status 2 and says what to fix.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

from common.logs import setup_logging
from common.settings import ConfigError, run_cli
from contract import DEFAULT_PROFILE, Profile
from contract.columns import ColumnMapError, parse_map
from contract.registry import Registry, RegistryError
from publisher import config as publisher_config
from publisher.gateway.cli import GATEWAYS, add_gateway_commands, run_gateway_command
from publisher.replay import BadFileError, BadRow, ReplayFormat
from publisher.service import ReadingPublisher, Sourced, run
from publisher.sources import replay_items, simulated_items, write_csv

_BAD_ROWS_LOGGED = 20  # one line each; past that a summary, so a garbled file cannot flood the log


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 100000 readings per second")
    return value


def _count(minimum: int) -> argparse._ActionType:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be at least {minimum}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m publisher", description="Forewarn sensor publishers")
    commands = parser.add_subparsers(dest="command", required=True)
    replay = commands.add_parser("replay", help="replay a CSV file of readings")
    replay.add_argument("file", type=Path)
    replay.add_argument("--loop", action="store_true", help="start again at the first row after the last")
    replay.add_argument("--start-row", type=_count(0), default=0, help="first data row, 0-based (default 0)")
    replay.add_argument("--map", type=_mapping, default=None, metavar="COLUMN=field,...", help="CSV columns -> fields")
    simulate = commands.add_parser("simulate", help="simulate a machine of the profile")
    simulate.add_argument(
        "--category",
        type=_category,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a category (AI4I: type=L|M|H); default: drawn with the profile's shares",
    )
    simulate.add_argument("--seed", type=_count(0), default=None, help="fixes the simulated stream")
    simulate.add_argument("--count", type=_count(1), default=None, help="stop after N readings")
    simulate.add_argument("--csv", type=Path, default=None, metavar="FILE", help="write to a file, do not publish")
    for sub in (replay, simulate):
        sub.add_argument("--machine", required=sub is replay, help="machine id, also the MQTT username")
        sub.add_argument("--profile", default=DEFAULT_PROFILE, help=f"machine class (default {DEFAULT_PROFILE})")
        sub.add_argument("--rate", type=_rate, default=1.0, help="readings per second; 0 = unthrottled")
    add_gateway_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in GATEWAYS:
        return run_gateway_command(args)
    if args.command == "simulate" and args.csv is not None:
        return _write_csv(args)
    if args.machine is None:
        raise ConfigError("simulate: give --machine ID to publish (or --csv FILE --count N to write a file)")
    config = publisher_config.load(args.machine)  # validates the machine id before it names a log file
    profile = _profile(args.profile)
    log = setup_logging(f"publisher-{config.machine_id}")
    items, bad_rows = _items(args, profile, log)
    publisher = ReadingPublisher(config, profile=profile)
    publisher.bad_rows = len(bad_rows)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: publisher.request_stop())
    log.info("publishing to %s at %s readings/s", publisher.topic, args.rate or "unthrottled")
    publisher.start()
    try:
        run(publisher, items, args.rate)
    finally:
        publisher.close()
    refusal = publisher.refusal()
    if refusal:
        raise ConfigError(refusal)  # one line and exit status 2: retrying cannot help
    return 0


def _write_csv(args: argparse.Namespace) -> int:
    if args.count is None:
        raise ConfigError("simulate --csv: give --count N (how many readings to write)")
    profile = _profile(args.profile)
    seed = args.seed if args.seed is not None else secrets.randbits(63)
    written = write_csv(args.csv, simulated_items(seed, dict(args.category), args.count, profile), profile)
    print(f"wrote {written} simulated readings of a {profile.id} (--seed {seed}) to {args.csv}")
    return 0


def _mapping(text: str) -> dict[str, str]:
    try:
        return parse_map(text)
    except ColumnMapError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _category(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE, e.g. type=L")
    return name, value


def _profile(profile_id: str) -> Profile:
    try:
        return Registry(publisher_config.registry_dir()).require(profile_id)
    except RegistryError as exc:
        raise ConfigError(str(exc)) from None


def _items(args: argparse.Namespace, profile: Profile, log: logging.Logger) -> tuple[Iterator[Sourced], list[BadRow]]:
    if args.command == "replay":
        try:
            form = ReplayFormat(profile, args.map)
        except BadFileError as exc:
            raise ConfigError(str(exc)) from None
        items, bad_rows = replay_items(args.file, args.start_row, args.loop, form)
        _log_bad_rows(bad_rows, log)
        return items, bad_rows
    seed = args.seed if args.seed is not None else secrets.randbits(63)
    fixed = dict(args.category)
    log.info("simulating a %s (%s) with --seed %d", profile.id, fixed or "categories drawn", seed)
    return simulated_items(seed, fixed, args.count, profile), []


def _log_bad_rows(bad_rows: list[BadRow], log: logging.Logger) -> None:
    for bad in bad_rows[:_BAD_ROWS_LOGGED]:
        log.warning("skipping bad row %s", bad)
    if len(bad_rows) > _BAD_ROWS_LOGGED:
        log.warning("... and %d more bad rows skipped", len(bad_rows) - _BAD_ROWS_LOGGED)


if __name__ == "__main__":
    run_cli(main)
