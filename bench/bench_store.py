"""The API's write path with a fleet's batches, this tree beside a baseline commit (prints figures).

    .venv/bin/python -m bench.bench_store                      # SQLite, this tree only
    .venv/bin/python -m bench.bench_store --baseline a0f413b   # beside the write path before issue 19 phase 2
    .venv/bin/python -m bench.bench_store --baseline a0f413b --database-url postgresql+psycopg2://...

A fleet at 1 Hz fills every batch with readings of different machines, so whatever the store
does per machine it does per reading. Each run writes `--batches` batches of `--batch`
predictions, each from another machine of `--machines` (cycling, one second apart per round
of the fleet; 2 % of them failures, each opening an alert that the machine's next normal
reading clears), through the API's own path after the decode: ``Store.write_batch`` in one
transaction, then the live state and the event hub (``committed``), as the writer thread does.

Each implementation runs in a process of its own, from its own tree: the baseline is the
commit's files (``git archive``) in a temp folder. Runs alternate (baseline, current,
baseline, ...) so a change of the machine's load touches both alike; each run gets a fresh
database (a temp SQLite file; a schema of its own on PostgreSQL). Figures per run: batches
per second, readings per second, the API process's CPU ms per 1,000 readings and, on
PostgreSQL, its backend's (same machine: read from /proc). Reported: the median of the runs,
and current / baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_ALERT = json.loads((ROOT / "contract" / "examples" / "alert.json").read_text())
_OPEN: dict[str, dict[str, Any]] = {}  # machine -> the reading its open alert was raised for
_TICKS = os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="none", help="git commit to compare with (default none: this tree only)")
    parser.add_argument("--database-url", default="sqlite", help="'sqlite' (a temp file) or a PostgreSQL URL")
    parser.add_argument("--machines", type=int, default=2000)
    parser.add_argument("--batch", type=int, nargs="+", default=[20, 250], help="predictions per batch (each size)")
    parser.add_argument("--readings", type=int, default=20_000, help="readings per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per implementation and batch size")
    parser.add_argument("--run-one", action="store_true", help=argparse.SUPPRESS)  # a child: one run, JSON out
    args = parser.parse_args(argv)
    if args.run_one:
        print(json.dumps(run_one(args.database_url, args.machines, args.batch[0], args.readings)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        trees = {"current": ROOT}
        if args.baseline != "none":
            trees = {"baseline": _extract(args.baseline, Path(folder) / "baseline"), **trees}
        results = _compare(trees, args)
    _print(results, args)
    return 0


def _extract(ref: str, into: Path) -> Path:
    """The files of commit `ref` in `into` (git archive: no checkout, no worktree)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as raw:
        raw.write(archive)
        raw.seek(0)
        with tarfile.open(fileobj=raw) as tar:
            tar.extractall(into, filter="data")
    return into


def _compare(trees: dict[str, Path], args: argparse.Namespace) -> dict[int, dict[str, list[dict[str, Any]]]]:
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for size in args.batch:
        per_tree: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _round in range(args.rounds):
            for name, tree in trees.items():
                per_tree[name].append(_child(tree, args, size))
        results[size] = per_tree
    return results


def _child(tree: Path, args: argparse.Namespace, size: int) -> dict[str, Any]:
    """One run in a process of its own, importing the API from `tree`."""
    command = [sys.executable, str(Path(__file__).resolve()), "--run-one", "--database-url", args.database_url]
    command += ["--machines", str(args.machines), "--batch", str(size), "--readings", str(args.readings)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_store: a run in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_one(database_url: str, machines: int, batch: int, readings: int) -> dict[str, Any]:
    """Write `readings` predictions in batches of `batch` through the API's store and live state."""
    # imported here: from whichever tree PYTHONPATH names (this one or the baseline's)
    import sqlalchemy as sa

    from api import create_app, runtime_of
    from api.config import ApiConfig
    from api.decode import alert_row, prediction_row

    with _FreshDatabase(database_url) as url:
        config = ApiConfig(database_url=url, housekeeping=False, dashboard_dir=Path("/nonexistent-dashboard"))
        app = create_app(config)
        state = runtime_of(app)
        backends: set[int] = set()
        if state.store.engine.dialect.name == "postgresql":
            sa.event.listen(state.store.engine, "connect", lambda conn, _rec: backends.add(_backend_pid(conn)))
            state.store.engine.dispose()  # reconnect, so the listener sees every connection
        batches = [
            (
                [prediction_row(body, machine) for machine, body in part],
                [alert_row(body, machine) for machine, body in _alerts(part)],
            )
            for part in _batches(_payloads(machines, readings), batch)
        ]
        _write(state, batches[:2])  # warm: connections, statement caches
        started_cpu, started_db = time.process_time(), _cpu_s(backends)
        started = time.perf_counter()
        _write(state, batches[2:])
        elapsed = time.perf_counter() - started
        cpu, db_cpu = time.process_time() - started_cpu, _cpu_s(backends) - started_db
        written = sum(len(rows) for rows, _alerts in batches[2:])
        with state.store.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one()
        state.stop()
    expected = sum(len(rows) for rows, _alerts in batches)
    if stored != expected:
        raise SystemExit(f"stored {stored} rows of {expected}")
    return {
        "readings": written,
        "batches": len(batches) - 2,
        "seconds": elapsed,
        "cpu_ms_per_1k": cpu * 1e6 / written,
        "db_cpu_ms_per_1k": db_cpu * 1e6 / written if backends else None,
    }


def _write(state: Any, batches: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> None:
    for rows, alert_rows in batches:
        state.committed(state.store.write_batch(rows, alert_rows, []))


def _alerts(part: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The worker's alerts for a batch: one opens with each reading of a failure, clears at the next normal one."""
    out = []
    for machine, body in part:
        reading = json.loads(body)
        if reading["status"] == "failure":
            state, opened = "open", reading
        elif reading["status"] == "normal" and machine in _OPEN:
            state, opened = "cleared", _OPEN[machine]
        else:
            continue
        alert = {
            **_ALERT,
            "alert_id": f"{machine}-detected-{opened['reading_id']}",
            "machine_id": machine,
            "state": state,
            "opened_at": opened["ts"],
            "reading_id": opened["reading_id"],
            "cleared_at": reading["ts"] if state == "cleared" else None,
        }
        if state == "open":
            _OPEN[machine] = reading
        else:
            del _OPEN[machine]
        out.append((machine, json.dumps(alert).encode()))
    return out


def _payloads(machines: int, readings: int) -> Iterator[tuple[str, bytes]]:
    """A fleet at 1 Hz: machine after machine, a second further at each round, AI4I-like values."""
    example = json.loads((ROOT / "contract" / "examples" / "prediction.json").read_text())
    start_ms = int(time.time() * 1000) - (readings // machines + 1) * 1000
    for n in range(readings):
        machine, second = f"fleet-{n % machines:05d}", n // machines
        ts_ms = start_ms + second * 1000 + (n % machines) * 1000 // machines
        roll = (n * 7919) % 100
        status = "failure" if roll < 2 else "predictive" if roll < 10 else "normal"
        values = {
            name: round(value * (0.95 + 0.1 * ((n * 31 + i) % 97) / 97), 2) if isinstance(value, float) else value
            for i, (name, value) in enumerate(example["values"].items())
        }
        body = {
            **example,
            "machine_id": machine,
            "reading_id": f"{machine}-{second:07d}",
            "ts": _iso(ts_ms),
            "status": status,
            "failure_probability": roll / 100,
            "values": values,
        }
        yield machine, json.dumps(body).encode()


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def _batches(items: Iterator[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    part: list[tuple[str, bytes]] = []
    for item in items:
        part.append(item)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


class _FreshDatabase:
    """A fresh database for one run: a temp SQLite file, or a schema of its own on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.schema: str | None = None

    def __enter__(self) -> str:
        import sqlalchemy as sa

        if self.url == "sqlite":
            self.folder = tempfile.TemporaryDirectory(prefix="bench-store-db-")
            return f"sqlite:///{self.folder.name}/api.db"
        self.schema = f"bench_store_{uuid.uuid4().hex[:10]}"
        with sa.create_engine(self.url, poolclass=sa.pool.NullPool).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        url = sa.make_url(self.url).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    def __exit__(self, *_exc: object) -> None:
        import sqlalchemy as sa

        if self.folder is not None:
            self.folder.cleanup()
        if self.schema is not None:
            with sa.create_engine(self.url, poolclass=sa.pool.NullPool).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))


def _backend_pid(dbapi_connection: Any) -> int:
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = int(cursor.fetchone()[0])
    cursor.close()
    return pid


def _cpu_s(pids: set[int]) -> float:
    """User + system CPU seconds of the given (PostgreSQL backend) processes, read from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICKS


def _print(results: dict[int, dict[str, list[dict[str, Any]]]], args: argparse.Namespace) -> None:
    engine = "SQLite" if args.database_url == "sqlite" else "PostgreSQL"
    load = os.getloadavg()
    print(f"API write path, {engine}: {args.machines} machines at 1 Hz, {args.readings} readings per run, ")
    print(f"median of {args.rounds} runs each (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end)")
    print(f"{'batch':>6} {'tree':>9} {'readings/s':>11} {'batches/s':>10} {'API CPU ms/1k':>14} {'DB CPU ms/1k':>13}")
    for size, per_tree in results.items():
        medians = {name: _medians(runs) for name, runs in per_tree.items()}
        for name, figures in medians.items():
            db = "-" if figures["db"] is None else f"{figures['db']:.0f}"
            print(
                f"{size:>6} {name:>9} {figures['rate']:>11,.0f} {figures['rate'] / size:>10,.1f} "
                f"{figures['cpu']:>14.0f} {db:>13}"
            )
        if "baseline" in medians:
            base, now = medians["baseline"], medians["current"]
            db_ratio = "" if base["db"] is None or now["db"] is None else f", DB CPU x{now['db'] / base['db']:.2f}"
            print(
                f"{size:>6} {'ratio':>9}  readings/s x{now['rate'] / base['rate']:.2f}, "
                f"API CPU x{now['cpu'] / base['cpu']:.2f}{db_ratio}"
            )


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    db = [run["db_cpu_ms_per_1k"] for run in runs if run["db_cpu_ms_per_1k"] is not None]
    return {
        "rate": statistics.median(run["readings"] / run["seconds"] for run in runs),
        "cpu": statistics.median(run["cpu_ms_per_1k"] for run in runs),
        "db": statistics.median(db) if db else None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
