"""The fleet bench's options: what to ramp, for how long, with what (one-line errors, no tracebacks)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from bench.fleet.profiles import find_py_spy
from common.settings import ConfigError

__all__ = ["DEFAULT_RAMP", "ENGINES", "Plan", "parse"]

ENGINES = ("sqlite", "postgresql")
DEFAULT_RAMP = (250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000)
SMOKE = {
    "machines": "4,8",
    "warmup": 2.0,
    "window": 3.0,
    "drain": 20.0,
    "publishers": 2,
    "sample": 4,
}
RESULTS = Path(__file__).resolve().parents[1] / "results" / "fleet-latest.json"


@dataclass(frozen=True)
class Plan:
    machines: tuple[int, ...]
    warmup_s: float
    window_s: float
    drain_s: float
    publishers: int
    dashboards: int
    workers: int
    engines: tuple[str, ...]
    postgres_url: str | None
    sample: int
    poll_s: float
    keep_going: bool
    models_dir: Path | None
    json_path: Path
    smoke: bool
    profile_dir: Path | None = None
    py_spy: str | None = None
    loadgen_nice: int = 10


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"python -m bench fleet: {message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m bench fleet",
        description="How many machines at 1 Hz the whole stack carries: a ramp until the SLO breaks.",
    )
    add = parser.add_argument
    add("--machines", default=",".join(map(str, DEFAULT_RAMP)), help="the ramp: fleet sizes, ascending")
    add("--warmup", type=float, default=30.0, help="seconds of load before each step's window")
    add("--window", type=float, default=180.0, help="seconds of the steady window measured per step")
    add("--drain", type=float, default=60.0, help="seconds to wait for the last readings to be stored")
    add("--publishers", type=int, default=4, help="load-generator processes (each holds many sensors)")
    add(
        "--loadgen-nice",
        type=int,
        default=10,
        help="niceness of the load-generator processes (0-19): the sensors stand in for devices with CPUs of"
        " their own, so on the shared cores they yield to the stack under test; if that leaves them behind"
        " schedule, the step is INVALID (0: equal priority)",
    )
    add("--dashboards", type=int, default=5, help="event-stream clients of the API")
    add("--workers", type=int, default=1, help="inference worker processes (shared subscription)")
    add("--db", default=",".join(ENGINES), help="stores to ramp, side by side: sqlite, postgresql")
    add("--postgres-url", help="PostgreSQL server (default $FOREWARN_TEST_POSTGRES_URL, else started as CI does)")
    add("--sample", type=int, default=50, help="machines whose predictions and stored rows are timed")
    add("--poll", type=float, default=0.1, help="seconds between the store probe's polls")
    add("--keep-going", action="store_true", help="go on ramping after a step breaks the SLO")
    add("--models-dir", type=Path, help="serve this model folder instead of training one")
    add("--json", type=Path, default=RESULTS, help="where to write the results")
    add("--smoke", action="store_true", help="a run of seconds that proves the harness works (make test)")
    add("--profile", type=Path, help="record py-spy profiles of the stack's processes in each window into DIR")
    add("--py-spy", help="the py-spy executable (default: py-spy on PATH)")
    return parser


def parse(argv: list[str]) -> Plan:
    parser = _parser()
    if "--smoke" in argv:
        parser.set_defaults(**SMOKE)
    args = parser.parse_args(argv)
    try:
        machines = tuple(int(part) for part in str(args.machines).split(","))
    except ValueError:
        raise ConfigError(f"--machines {args.machines!r}: a comma list of whole numbers") from None
    if not machines or min(machines) < 1 or list(machines) != sorted(set(machines)):
        raise ConfigError(f"--machines {args.machines!r}: positive sizes, ascending, each once")
    engines = tuple(part.strip() for part in str(args.db).split(",") if part.strip())
    unknown = set(engines) - set(ENGINES)
    if not engines or unknown:
        raise ConfigError(f"--db {args.db!r}: choose from {', '.join(ENGINES)}")
    for name in ("warmup", "window", "drain", "poll"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name} must be positive")
    for name in ("publishers", "workers", "sample"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be at least 1")
    if not 0 <= args.loadgen_nice <= 19:
        raise ConfigError(f"--loadgen-nice {args.loadgen_nice}: a niceness from 0 to 19")
    if args.dashboards < 0:
        raise ConfigError("--dashboards must be 0 or more")
    if args.profile is not None and find_py_spy(args.py_spy) is None:
        raise ConfigError("--profile needs py-spy: pip install py-spy (or give --py-spy PATH)")
    if args.models_dir is not None and not (args.models_dir / "current").exists():
        raise ConfigError(f"--models-dir {args.models_dir}: no model there (no 'current' file)")
    return Plan(
        machines=machines,
        warmup_s=args.warmup,
        window_s=args.window,
        drain_s=args.drain,
        publishers=args.publishers,
        dashboards=args.dashboards,
        workers=args.workers,
        engines=engines,
        postgres_url=args.postgres_url,
        sample=args.sample,
        poll_s=args.poll,
        keep_going=args.keep_going,
        models_dir=args.models_dir,
        json_path=args.json,
        smoke=args.smoke,
        profile_dir=args.profile,
        py_spy=args.py_spy,
        loadgen_nice=args.loadgen_nice,
    )
