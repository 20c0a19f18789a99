"""The ramp: start the stack, grow the fleet step by step until the SLO breaks, per store.

For each store (SQLite, then PostgreSQL) the whole stack runs for real: Mosquitto from the
project's config, the inference worker(s), ``python -m api`` ingesting into that store, the
dashboards' event streams, the probe and the load generators. Each step connects the new
sensors, lets the load settle (`--warmup`), measures a steady window (`--window`), stops the
load and waits until what the broker acknowledged is stored (`--drain`). See bench/README.md.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.fleet import figures, profiles, table
from bench.fleet.dashboards import Dashboards
from bench.fleet.loadgen import Loadgen, SensorAccount, StepPlan
from bench.fleet.plan import Plan, parse
from bench.fleet.probe import Probe
from bench.fleet.stack import ApiProcess, Store, postgres_base_url, system_cpu
from bench.harness import Services, StatusWatcher, forget_session, service_env, train_model
from bench.procstat import cpu_seconds, peak_rss_mb
from broker.local import LocalBroker
from common.mqtt import MqttSettings
from common.settings import ConfigError, run_cli

__all__ = ["main"]

GOLDEN = 0.6180339887498949  # phases k * GOLDEN mod 1: any first n machines are spread evenly over the second
LEAD_S = 1.0  # between telling the load generators and the first publish
LAST_MS = 253_402_300_799_999  # 9999-12-31: "from then on" for a range count
TAIL_S = 2.0  # the load goes on this long after the window, so its last readings are timed under load
STREAM_GRACE_S = 10.0  # after the drain, how long the dashboards may take to receive the last events
ROLES = ("broker", "worker", "api", "postgres", "loadgen", "dashboards", "probe")


def machine_ids(count: int) -> list[str]:
    return [f"fleet-{n:05d}" for n in range(count)]


@dataclass
class Fleet:
    """The broker and everything provisioned on it once for all runs."""

    broker: LocalBroker
    models_dir: Path
    folder: Path
    passwords: dict[str, str]
    probe: MqttSettings  # the probe's viewer account (each connection has its own)
    watcher: StatusWatcher


@dataclass
class Run:
    """One store's ramp: its processes."""

    plan: Plan
    fleet: Fleet
    store: Store
    workers: Services
    api: ApiProcess
    dashboards: Dashboards | None
    probe: Probe
    loadgens: list[Loadgen]
    sampled: list[str]
    connected: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)

    def pids(self) -> dict[str, list[int]]:
        assert self.fleet.broker.process is not None
        return {
            "broker": [self.fleet.broker.process.pid],
            "worker": self.workers.pids,
            "api": [self.api.pid],
            "postgres": self.store.server_pids(),
            "loadgen": [loadgen.pid for loadgen in self.loadgens],
            "dashboards": [self.dashboards.pid] if self.dashboards else [],
            "probe": [self.probe.pid],
        }


# ---------------------------------------------------------------------- the stack


def _provision(broker: LocalBroker, plan: Plan, folder: Path, passwords: dict[str, str]) -> Fleet:
    models_dir = plan.models_dir.resolve() if plan.models_dir else train_model(folder)
    probe = broker.settings("fleet-probe", broker.add_user("fleet-probe", "viewer"))
    status = broker.settings("fleet-status", broker.add_user("fleet-status", "viewer"))
    watcher = StatusWatcher(status, broker.topics.all_service_statuses())
    return Fleet(broker, models_dir, folder, passwords, probe, watcher)


def _start(plan: Plan, fleet: Fleet, engine: str, postgres_url: str | None) -> Run:
    run_id = uuid.uuid4().hex[:6]
    folder = fleet.folder / f"{engine}-{run_id}"
    folder.mkdir()
    store = Store.sqlite(folder) if engine == "sqlite" else Store.postgresql(postgres_url or "")
    broker = fleet.broker
    env = service_env(broker, fleet.models_dir, f"fleet{run_id}")  # Services makes each worker's account
    worker_ids = [f"fleet-{run_id}-{n}" for n in range(plan.workers)]
    workers = Services(broker, "inference_worker", worker_ids, env, folder / "worker.log")
    parts: dict[str, Any] = {}
    try:
        before = [fleet.watcher.online_count(topic) for topic in workers.status_topics()]
        workers.start()
        for topic, count in zip(workers.status_topics(), before, strict=True):
            fleet.watcher.wait_online(topic, count, timeout=60)
        parts["api"] = ApiProcess(broker, store, folder, plan.dashboards, fleet.models_dir)
        parts["api"].wait_ready(workers.instances)
        sampled = machine_ids(min(plan.sample, plan.machines[0]))
        parts["probe"] = Probe(store.reader_url, sampled, plan.poll_s, fleet.probe, broker.topics)
        parts["dashboards"] = Dashboards(parts["api"].port, plan.dashboards) if plan.dashboards else None
        base = broker.settings("unused", "unused")
        parts["loadgens"] = [Loadgen(base, broker.topics, run_id, plan.loadgen_nice) for _ in range(plan.publishers)]
    except BaseException:
        _stop_parts(parts, workers, fleet, store)
        raise
    return Run(
        plan, fleet, store, workers, parts["api"], parts["dashboards"], parts["probe"], parts["loadgens"], sampled
    )


def _stop(run: Run) -> None:
    parts = {"loadgens": run.loadgens, "probe": run.probe, "dashboards": run.dashboards, "api": run.api}
    _stop_parts(parts, run.workers, run.fleet, run.store)


def _stop_parts(parts: dict[str, Any], workers: Services, fleet: Fleet, store: Store) -> None:
    """Load first, then the readers, the API (it stores what it holds), the workers; forget their sessions."""
    for loadgen in parts.get("loadgens", []):
        loadgen.stop()
    for name in ("probe", "dashboards", "api"):
        if parts.get(name) is not None:
            parts[name].stop()
    workers.stop()
    workers.forget()
    if parts.get("api") is not None:
        api: ApiProcess = parts["api"]
        forget_session(fleet.broker.settings(api.user, api.password))
    store.drop()


# ---------------------------------------------------------------------- one step


def _grow(run: Run, size: int) -> dict[str, Any]:
    """Connect sensors until the fleet has `size` (machine k goes to load generator k mod P)."""
    started = time.monotonic()
    ids = machine_ids(size)[run.connected :]
    batches: dict[int, list[tuple[SensorAccount, float, int]]] = {}
    for offset, machine in enumerate(ids):
        k = run.connected + offset
        account = SensorAccount(machine, run.fleet.passwords[machine])
        batches.setdefault(k % len(run.loadgens), []).append((account, (k * GOLDEN) % 1.0, k))
    for index, batch in batches.items():
        run.loadgens[index].connect(batch)
    failed = 0
    for index in batches:
        answer = run.loadgens[index].connected()
        failed += answer["failed"]
    run.connected = sum(loadgen.sensors for loadgen in run.loadgens)
    return {"failed": failed, "seconds": round(time.monotonic() - started, 1)}


def _step(run: Run, index: int, size: int) -> dict[str, Any]:
    plan = run.plan
    grown = _grow(run, size)
    send_start = float(int(time.time() + LEAD_S + 1))
    measure_start = send_start + plan.warmup_s
    measure_end = measure_start + plan.window_s
    send_end = measure_end + TAIL_S
    timed = frozenset(run.sampled)
    schedule = StepPlan(send_start, measure_start, measure_end, send_end, timed)
    window = (index, send_start, measure_start, measure_end, send_end)
    run.probe.begin(*window)
    if run.dashboards:
        run.dashboards.begin(*window)
    for loadgen in run.loadgens:
        loadgen.start_step(schedule)
    _sleep_until(measure_start)
    watch = _Watch(run, round(send_start * 1000))
    watch.start()
    recordings = _start_profiles(run, watch.pids, f"{run.store.engine_name}-{size}")
    backlog = _sample_backlog(run, measure_end)
    usage = watch.finish(plan.window_s)
    sent = [loadgen.step_result(timeout=send_end - time.time() + 120) for loadgen in run.loadgens]
    published = sum(part["sent"] for part in sent)
    # readings stamped from send_start to the last one (a load generator behind schedule stamps past send_end)
    last_ts = max([send_end, *(part["last_ts"] for part in sent)])
    step_ms = (round(send_start * 1000), int(last_ts * 1000) + 1)
    stored, drained_s = _drain(run.store, step_ms, published, plan.drain_s)
    in_window = run.store.count_between(round(measure_start * 1000), round(measure_end * 1000))
    if run.dashboards:
        run.dashboards.wait_for(index, stored, timeout=STREAM_GRACE_S)
    probe = run.probe.take(index)
    streams = run.dashboards.take(index) if run.dashboards else []
    storage = _storage(run.store)
    step = _figures(
        size,
        grown=grown,
        sent=sent,
        stored=stored,
        in_window=in_window,
        probe=probe,
        streams=streams,
        backlog=backlog,
        usage=usage,
        storage=storage,
        plan=plan,
    )
    step["drained_s"] = drained_s
    step["cpu_ms_per_reading"] = figures.cpu_per_reading(step["cpu_pct"], plan.window_s, usage["done"])
    step["profile"] = _profile_summaries(recordings)
    held, valid, reasons = figures.verdict(step, figures.Slo())
    step["slo"] = {"held": held, "valid": valid, "reasons": reasons}
    return step


PROFILED = ("api", "worker", "loadgen", "dashboards")


def _start_profiles(run: Run, pids: dict[str, list[int]], name: str) -> list[profiles.Recording]:
    """py-spy on the stack's Python processes for the window (the first of each role)."""
    plan = run.plan
    if plan.profile_dir is None:
        return []
    py_spy = profiles.find_py_spy(plan.py_spy)
    assert py_spy is not None  # checked with the options
    plan.profile_dir.mkdir(parents=True, exist_ok=True)
    return [
        profiles.record(
            py_spy, role, pids[role][0], seconds=plan.window_s, path=plan.profile_dir / f"{name}-{role}.txt"
        )
        for role in PROFILED
        if pids.get(role)
    ]


def _profile_summaries(recordings: list[profiles.Recording]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for recording in recordings:
        if recording.wait(timeout=90):  # py-spy writes its file when its duration is up; slow on a loaded machine
            found[recording.role] = profiles.summary(recording.path.read_text()) | {"file": str(recording.path)}
    return found


def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        time.sleep(delay)


class _Watch:
    """CPU of every process of the stack (and of the whole machine) across the window; peak memory."""

    def __init__(self, run: Run, step_start_ms: int) -> None:
        self.run = run
        self.step_start_ms = step_start_ms
        self.pids: dict[str, list[int]] = {}
        self.cpu: dict[int, float] = {}
        self.machine = (0.0, 0.0)
        self.done = (0, 0)

    def _done(self) -> tuple[int, int]:
        """Readings published so far, and this step's readings stored so far (an indexed range count)."""
        published = sum(loadgen.sent.value for loadgen in self.run.loadgens)
        return published, self.run.store.count_between(self.step_start_ms, LAST_MS)

    def start(self) -> None:
        self.pids = self.run.pids()
        self.done = self._done()
        self.cpu = {pid: cpu_seconds(pid) for pids in self.pids.values() for pid in pids}
        self.machine = system_cpu()

    def finish(self, seconds: float) -> dict[str, Any]:
        busy, total = system_cpu()
        cpu_pct = {
            role: round(100 * sum(cpu_seconds(pid) - self.cpu.get(pid, 0.0) for pid in pids) / seconds, 1)
            for role, pids in self.pids.items()
        }
        published, stored = self._done()
        cores = os.cpu_count() or 1
        rss = {role: round(sum(peak_rss_mb(pid) for pid in pids), 1) for role, pids in self.pids.items()}
        busy_cores = (busy - self.machine[0]) / max(total - self.machine[1], 1e-9) * cores
        ours = sum(cpu_pct.values()) / 100
        return {
            "cpu_pct": cpu_pct,
            "rss_mb": rss,
            "machine_busy_cores": round(busy_cores, 2),
            "others_cores": round(max(busy_cores - ours, 0.0), 2),
            "load_average": round(os.getloadavg()[0], 2),
            "processes": {role: len(pids) for role, pids in self.pids.items()},
            # what the window's CPU did: readings published and stored while it lasted
            "done": {"published": published - self.done[0], "stored": stored - self.done[1]},
        }


def _sample_backlog(run: Run, until: float) -> dict[str, Any]:
    """Every second of the window: readings published but not yet on the slowest event stream."""
    samples: list[tuple[float, float]] = []
    api_queue, api_lag = 0, 0.0
    while time.time() < until:
        now = time.time()
        published = sum(loadgen.sent.value for loadgen in run.loadgens)
        delivered = run.dashboards.slowest() if run.dashboards else published
        samples.append((now, float(published - delivered)))
        health = run.api.health() or {}
        api_queue = max(api_queue, int(health.get("queued_messages") or 0))
        api_lag = max(api_lag, float(health.get("ingest_lag_s") or 0.0))
        _sleep_until(min(now + 1.0, until))
    if not run.dashboards:
        samples = []
    return {
        "growth": figures.backlog_growth(samples),
        "max": max((b for _, b in samples), default=0),
        "api_queue_max": api_queue,
        "api_lag_max_s": round(api_lag, 3),
    }


def _drain(store: Store, step_ms: tuple[int, int], published: int, limit_s: float) -> tuple[int, float]:
    """Wait until every reading the step published is stored (or `limit_s` passes)."""
    started = time.monotonic()
    stored = store.count_between(*step_ms)
    while stored < published and time.monotonic() - started < limit_s:
        time.sleep(0.5)
        stored = store.count_between(*step_ms)
    return stored, round(time.monotonic() - started, 1)


def _storage(store: Store) -> dict[str, Any]:
    used, rows = store.bytes_used(), store.rows()
    per_reading = used / rows if rows else None
    return {
        "bytes": used,
        "rows": rows,
        "bytes_per_reading": None if per_reading is None else round(per_reading, 1),
        "mb_per_machine_day": None if per_reading is None else round(per_reading * 86_400 / 1e6, 1),
    }


def _figures(
    size: int,
    *,
    grown: dict[str, Any],
    sent: list[dict[str, Any]],
    stored: int,
    in_window: int,
    probe: dict[str, Any],
    streams: list[dict[str, Any]],
    backlog: dict[str, Any],
    usage: dict[str, Any],
    storage: dict[str, Any],
    plan: Plan,
) -> dict[str, Any]:
    acked = sum(part["acked"] for part in sent)
    timed_sent = sum(sum(part["sent_timed"].values()) for part in sent)
    tallies = [stream["tally"] for stream in streams if stream["tally"] is not None]
    stream_counts = [tally.count for tally in tallies]
    hops = {
        "broker": figures.latency_summary(part["puback_ms"] for part in sent),
        "prediction": figures.latency_summary([_latencies(probe["predicted"])], timed_sent),
        "stored": figures.latency_summary([_latencies(probe["stored"])], timed_sent),
        "stream": figures.latency_summary(
            [tally.latency_ms for tally in tallies], in_window * len(streams) if streams else None
        ),
    }
    return {
        "machines": size,
        "sensors": sum(part["sensors"] for part in sent),
        "connect": grown,
        "window_s": plan.window_s,
        "readings_per_s": round(in_window / plan.window_s, 1),
        "sent": sum(part["sent"] for part in sent),
        "acked": acked,
        "stored": stored,
        "lost": max(sum(part["sent"] for part in sent) - stored, 0),
        "unacked": sum(part["unacked"] for part in sent),
        "refused": sum(part["refused"] for part in sent),
        "unrouted": sum(part["unrouted"] for part in sent),
        "rejected": probe["rejected"],
        "hops": hops,
        "stream": {
            "clients": len(streams),
            "missed": max((stored - count for count in stream_counts), default=0) if streams else 0,
            "resyncs": sum(stream["resyncs"] for stream in streams),
            "reconnects": sum(max(stream["connects"] - 1, 0) for stream in streams),
        },
        "backlog": backlog,
        "loadgen": {
            "slip": figures.latency_summary(part["slip_ms"] for part in sent),
            "disconnects": sum(part["disconnects"] for part in sent),
            "cpu_s": round(sum(part["cpu_s"] for part in sent), 2),
            "nice": sorted({part["nice"] for part in sent}),
        },
        **usage,
        "storage": storage,
    }


def _latencies(tally: Any) -> Any:
    return tally.latency_ms if tally is not None else []


# ---------------------------------------------------------------------- the ramp


def _ramp(plan: Plan, fleet: Fleet, engine: str, postgres_url: str | None) -> dict[str, Any]:
    print(f"\n== {engine}: ramp {', '.join(map(str, plan.machines))} machines, {plan.window_s:g} s windows", flush=True)
    run = _start(plan, fleet, engine, postgres_url)
    try:
        for index, size in enumerate(plan.machines):
            step = _step(run, index, size)
            run.steps.append(step)
            print(table.progress_line(engine, step), flush=True)
            for line in table.profile_lines(step.get("profile", {})):
                print(line, flush=True)
            if not step["slo"]["held"] and not plan.keep_going:
                break
    finally:
        _stop(run)
    return {"steps": run.steps, "largest_held": figures.largest_held(run.steps)}


def main(argv: list[str] | None = None) -> int:
    plan = parse(list(sys.argv[1:] if argv is None else argv))
    logging.getLogger("common.mqtt").setLevel(logging.ERROR)  # sessions the bench ends would log a line each
    started = time.monotonic()
    load_before = os.getloadavg()
    postgres_url, postgres_from = None, ""
    if "postgresql" in plan.engines:
        postgres_url, postgres_from = postgres_base_url(plan.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="forewarn-fleet-"))
    results: dict[str, Any] = {}
    try:
        broker = LocalBroker.create()
        # Sensor accounts go into the broker's file before it starts: Mosquitto 2.0 saves its
        # whole file after each account added while it runs (2,000: about a minute, not 2 s).
        started_accounts = time.monotonic()
        passwords = broker.add_users(machine_ids(max(plan.machines)), "sensor")
        print(f"{len(passwords):,} sensor accounts in {time.monotonic() - started_accounts:.1f} s", flush=True)
        with broker:
            fleet = _provision(broker, plan, folder, passwords)
            try:
                for engine in plan.engines:
                    if engine == "postgresql" and postgres_url is None:
                        print(f"\n== postgresql skipped: {postgres_from}", flush=True)
                        results[engine] = {"skipped": postgres_from}
                        continue
                    try:
                        results[engine] = _ramp(plan, fleet, engine, postgres_url)
                    except ConfigError as exc:  # e.g. the PostgreSQL server refused: the other store's ramp stands
                        print(f"\n== {engine} skipped: {exc}", flush=True)
                        results[engine] = {"skipped": str(exc)}
            finally:
                fleet.watcher.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    settings = _settings(plan, postgres_from)
    print("\n" + table.render(results, settings))
    output = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": settings,
        "results": results,
        "wall_s": round(time.monotonic() - started, 1),
    }
    plan.json_path.parent.mkdir(parents=True, exist_ok=True)
    plan.json_path.write_text(json.dumps(output, indent=1, default=_jsonable) + "\n")
    print(f"\nwrote {plan.json_path} ({output['wall_s']:.0f} s in all; load average before: {load_before[0]:.1f})")
    return 0


def _settings(plan: Plan, postgres_from: str) -> dict[str, Any]:
    return {
        "machines": list(plan.machines),
        "warmup_s": plan.warmup_s,
        "window_s": plan.window_s,
        "drain_s": plan.drain_s,
        "publishers": plan.publishers,
        "loadgen_nice": plan.loadgen_nice,
        "dashboards": plan.dashboards,
        "workers": plan.workers,
        "engines": list(plan.engines),
        "postgres_from": postgres_from,
        "sample": plan.sample,
        "poll_s": plan.poll_s,
        "smoke": plan.smoke,
        "slo": asdict(figures.Slo()),
    }


def _jsonable(value: Any) -> Any:
    """Arrays of latencies are not written out (their summaries are)."""
    if hasattr(value, "tolist"):
        return None
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


if __name__ == "__main__":
    run_cli(main)
