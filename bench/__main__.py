"""Run every benchmark: the inference designs side by side, the broker's login cost, then the API's.

    python -m bench                       # everything, 3-4 minutes on 2 cores (`make bench`)
    python -m bench --only echo,worker    # some designs: echo, seed, worker, workers2
    python -m bench --backlog 20000 --no-api --models-dir var/models
    python -m bench fleet                 # machines at 1 Hz through the whole stack (make bench-fleet)
    python -m bench kinds                 # the worker's throughput per model kind (classifier, rul, anomaly)

Starts its own Mosquitto from the project's config (TLS, QoS 1) on a free port, trains a
model into a temporary folder (unless --models-dir), prints the table and the targets,
and writes bench/results/latest.json. See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from bench import report, scenarios
from bench.harness import StatusWatcher, train_model
from broker.local import LocalBroker
from common.settings import ConfigError, run_cli

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
DESIGNS = ("echo", "seed", "worker", "workers2")
API_ARGS = ["--rows", "100000", "--ingest-rows", "20000", "--mqtt-rows", "10000"]
API_MIN_S = 40.0  # below this the API benchmark cannot finish; it is skipped


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"python -m bench: {message} (see --help)")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="python -m bench", description="Forewarn's benchmarks, side by side.")
    parser.add_argument("--only", default=",".join(DESIGNS), help="designs to run (default: all)")
    parser.add_argument("--backlog", type=int, default=50_000, help="readings pre-queued for the drain")
    parser.add_argument("--window", type=float, default=20.0, help="time bound of the seed design's phases (s)")
    parser.add_argument("--sustained-rate", type=float, default=5_000.0, help="offered readings/s")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each offered-rate phase (s)")
    parser.add_argument("--models-dir", type=Path, help="serve this model folder instead of training one")
    parser.add_argument("--no-api", action="store_true", help="skip the API benchmark")
    parser.add_argument("--no-connect", action="store_true", help="skip the login-cost benchmark")
    parser.add_argument("--no-kinds", action="store_true", help="skip the throughput per model kind")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument("--budget", type=float, default=290.0, help="seconds for everything (the API part adapts)")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(DESIGNS)
    if unknown:
        raise ConfigError(f"--only: unknown design(s) {', '.join(sorted(unknown))}; choose from {', '.join(DESIGNS)}")
    if args.backlog < 1000 or args.window <= 0 or args.seconds <= 0 or args.sustained_rate <= 0:
        raise ConfigError("--backlog must be >= 1000 and --window, --seconds, --sustained-rate positive")
    return args


def _model(args: argparse.Namespace, folder: Path) -> Path:
    if args.models_dir:
        if not (args.models_dir / "current").exists():
            raise ConfigError(f"--models-dir {args.models_dir}: no model there (no 'current' file)")
        return Path(args.models_dir).resolve()
    return train_model(folder)


def _context(broker: LocalBroker, models_dir: Path, folder: Path, args: argparse.Namespace) -> scenarios.Context:
    # Each connection has an account of its own: the broker binds an account to one client id.
    watcher = StatusWatcher(
        broker.settings("bench-status", broker.add_user("bench-status", "viewer")), broker.topics.all_service_statuses()
    )
    return scenarios.Context(
        broker=broker,
        models_dir=models_dir,
        folder=folder,
        sensor=broker.settings("bench-m1", broker.add_user("bench-m1", "sensor")),
        viewer=broker.settings("bench-viewer", broker.add_user("bench-viewer", "viewer")),
        echo=broker.settings("bench-echo", broker.add_user("bench-echo", "viewer")),
        watcher=watcher,
        backlog=args.backlog,
        window_s=args.window,
        latency_s=args.seconds,
        sustained_rate=args.sustained_rate,
        sustained_s=args.seconds,
    )


def _run(ctx: scenarios.Context, chosen: list[str]) -> dict[str, dict[str, Any]]:
    runs = {
        "echo": lambda: scenarios.echo(ctx),
        "seed": lambda: scenarios.services(ctx, "seed", "bench.seed_design", ["bench-seed"], bounded=True),
        "worker": lambda: scenarios.services(ctx, "one", "inference_worker", ["bench-1"]),
        "workers2": lambda: scenarios.services(ctx, "two", "inference_worker", ["bench-2a", "bench-2b"]),
    }
    results: dict[str, dict[str, Any]] = {}
    for name in DESIGNS:
        if name in chosen:
            started = time.monotonic()
            print(f"== {report.LABELS[name]} ...", flush=True)
            try:
                results[name] = runs[name]()
            except Exception as exc:  # one design failing must not hide the others' figures
                print(f"   {name} failed: {type(exc).__name__}: {exc}", flush=True)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            results[name]["wall_s"] = round(time.monotonic() - started, 1)
    return results


def _kinds_section(folder: Path, models_dir: Path) -> dict[str, Any]:
    """Issue 16: the worker's throughput per model kind, printed as its own table."""
    from bench.kinds import run_kinds, table

    print("== worker throughput per model kind (classifier, rul, anomaly) ...", flush=True)
    results = run_kinds(folder / "kinds", classifier_dir=models_dir)
    print(table(results), flush=True)
    return results


def _connect_section() -> dict[str, Any]:
    """bench/bench_connect.py: the broker's CPU per login for a few password-hash settings."""
    print("\n== broker logins: python -m bench.bench_connect", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_connect"],
        check=False,
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(done.stdout.rstrip())
    if done.returncode:
        print(f"login benchmark failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return {"exit": done.returncode, "output": done.stdout.splitlines()}


def _api_section(seconds: float) -> dict[str, Any]:
    """Run bench/bench_api.py (the API engineer's) as its own section, within `seconds`."""
    if not (HERE / "bench_api.py").exists():
        return {"skipped": "bench/bench_api.py not present"}
    if seconds < API_MIN_S:
        print(f"\n== API benchmark skipped: {seconds:.0f} s left of the time budget (--budget)")
        return {"skipped": f"only {seconds:.0f} s left of the time budget"}
    print(f"\n== API benchmark: python -m bench.bench_api {' '.join(API_ARGS)}", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bench_api", *API_ARGS],
            check=False,
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        print(f"API benchmark: stopped after {seconds:.0f} s (time budget)")
        return {"error": f"stopped after {seconds:.0f} s (time budget)"}
    print(done.stdout.rstrip())
    if done.returncode:
        print(f"API benchmark failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return {"exit": done.returncode, "output": done.stdout.splitlines()}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fleet"]:  # python -m bench fleet: the whole stack at fleet scale (make bench-fleet)
        from bench.fleet.run import main as fleet

        return fleet(argv[1:])
    if argv[:1] == ["kinds"]:  # python -m bench kinds: classifier, rul and anomaly side by side
        from bench.kinds import main as kinds

        return kinds(argv[1:])
    args = _parse(argv)
    started = time.monotonic()
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))
    try:
        models_dir = _model(args, folder)
        per_kind = None if args.no_kinds else _kinds_section(folder, models_dir)
        with LocalBroker.create() as broker:
            ctx = _context(broker, models_dir, folder, args)
            try:
                results = _run(ctx, args.only.split(","))
            finally:
                ctx.watcher.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratio = report.ratios(results)
    checks = report.targets(results, ratio)
    settings = {
        "backlog": args.backlog,
        "window_s": args.window,
        "latency_rate": ctx.latency_rate,
        "latency_s": args.seconds,
        "sustained_rate": args.sustained_rate,
        "sustained_s": args.seconds,
        "grace_s": scenarios.GRACE_S,
        "bounded_grace_s": scenarios.BOUNDED_GRACE_S,
    }
    print("\n" + report.table(results, ratio, settings))
    print("\ntargets (issue 7):\n" + report.target_lines(checks))
    output: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": settings,
        "results": results,
        "ratios": ratio,
        "targets": checks,
    }
    if per_kind is not None:
        output["kinds"] = per_kind
    if not args.no_connect:
        output["connect"] = _connect_section()
    if not args.no_api:
        output["api"] = _api_section(args.budget - (time.monotonic() - started))
    output["wall_s"] = round(time.monotonic() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(output, indent=2) + "\n")
    print(f"\nwrote {args.json} ({output['wall_s']:.0f} s in all; load average before: {load_before[0]:.1f})")
    return 0


if __name__ == "__main__":
    run_cli(main)
