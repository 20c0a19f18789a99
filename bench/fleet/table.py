"""The fleet bench's tables (pure: results in, text out)."""

from __future__ import annotations

from typing import Any

__all__ = ["profile_lines", "progress_line", "render"]

ROLES = ("broker", "worker", "api", "postgres", "loadgen", "dashboards", "probe")


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _hop(summary: dict[str, Any]) -> str:
    if summary.get("p50") is None:
        return "-"
    cover = summary.get("coverage")
    mark = "!" if cover is not None and cover < 0.99 else ""
    return f"{_num(summary['p50'])}/{_num(summary['p99'])}{mark}"


def _verdict(step: dict[str, Any]) -> str:
    slo = step["slo"]
    if slo["held"]:
        return "held"
    return "INVALID" if not slo["valid"] else "BROKEN"


def progress_line(engine: str, step: dict[str, Any]) -> str:
    hops = step["hops"]
    reasons = "; ".join(step["slo"]["reasons"])
    return (
        f"   {engine} {step['machines']:>6,} machines: {step['readings_per_s']:>8,.1f} readings/s, "
        f"lost {step['lost']}, "
        f"p99 ms broker {_num(hops['broker']['p99'])} / prediction {_num(hops['prediction']['p99'])} / "
        f"stored {_num(hops['stored']['p99'])} / stream {_num(hops['stream']['p99'])}, "
        f"machine {step['machine_busy_cores']} cores busy -> {_verdict(step)}{': ' + reasons if reasons else ''}"
    )


def profile_lines(found: dict[str, Any], top: int = 5) -> list[str]:
    """Where each profiled process spent its samples: the frames most often on top of the stack."""
    lines = []
    for role, profile in found.items():
        frames = ", ".join(f"{frame} {share:.0f}%" for frame, share in profile["self"][:top])
        lines.append(
            f"      {role} ({profile['samples']} samples, {profile.get('waiting_pct', 0):.0f}% waiting) self: {frames}"
        )
    return lines


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    return lines


def _steps(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(engine, step) for engine, result in results.items() for step in result.get("steps", [])]


def flow_table(results: dict[str, Any]) -> list[str]:
    header = [
        "store",
        "machines",
        "readings/s",
        "lost",
        "broker ms",
        "prediction ms",
        "stored ms",
        "stream ms",
        "backlog",
        "B/reading",
        "MB/machine-day",
        "SLO",
    ]
    rows = []
    for engine, step in _steps(results):
        hops, storage = step["hops"], step["storage"]
        rows.append(
            [
                engine,
                _num(step["machines"]),
                _num(step["readings_per_s"], 1),
                _num(step["lost"]),
                _hop(hops["broker"]),
                _hop(hops["prediction"]),
                _hop(hops["stored"]),
                _hop(hops["stream"]),
                f"{step['backlog']['growth']:+,.0f}",
                _num(storage["bytes_per_reading"]),
                _num(storage["mb_per_machine_day"], 1),
                _verdict(step),
            ]
        )
    return _grid(header, rows)


def resource_table(results: dict[str, Any]) -> list[str]:
    header = ["store", "machines", *ROLES, "machine busy (others)", "load avg"]
    rows = []
    for engine, step in _steps(results):
        cpu, rss, count = step["cpu_pct"], step["rss_mb"], step["processes"]
        cells = ["-" if not count.get(role) else f"{_num(cpu.get(role))}% {_num(rss.get(role))}MB" for role in ROLES]
        rows.append(
            [
                engine,
                _num(step["machines"]),
                *cells,
                f"{step['machine_busy_cores']:.2f} ({step['others_cores']:.2f}) cores",
                _num(step["load_average"], 1),
            ]
        )
    return _grid(header, rows)


def cost_table(results: dict[str, Any]) -> list[str]:
    header = ["store", "machines", *ROLES, "stack"]
    rows = []
    for engine, step in _steps(results):
        cost = step.get("cpu_ms_per_reading", {})
        count = step["processes"]
        cells = ["-" if not count.get(role) else _num(cost.get(role), 3) for role in ROLES]
        stack = sum(cost.get(role) or 0 for role in ("broker", "worker", "api", "postgres"))
        rows.append([engine, _num(step["machines"]), *cells, _num(stack, 3)])
    return _grid(header, rows)


def render(results: dict[str, Any], settings: dict[str, Any]) -> str:
    slo = settings["slo"]
    lines = [
        f"Fleet scale: M machines x 1 reading/s through broker -> worker x{settings['workers']} -> API -> store, "
        f"{settings['dashboards']} dashboards on the event stream; {settings['warmup_s']:g} s warm-up, "
        f"{settings['window_s']:g} s window per step; {settings['publishers']} load-generator processes"
        f" at nice {settings['loadgen_nice']}.",
        f"SLO: {slo['max_lost']} readings lost, p99 sensor->stored <= {slo['stored_p99_ms']:.0f} ms, "
        f"p99 sensor->stream <= {slo['stream_p99_ms']:.0f} ms, no backlog growing.",
        "",
        *flow_table(results),
        "",
        "CPU (% of one core over the window) and peak RSS, per role (all its processes):",
        *resource_table(results),
        "",
        "CPU ms per reading, per role: over the readings published during the window (load generator, broker) or "
        "stored during it (the others); stack = broker + worker + API + PostgreSQL; 1,000 / ms = readings/s a core "
        "carries. Per-reading costs fall as the rate rises (bigger batches): compare at equal rates.",
        *cost_table(results),
        "",
    ]
    for engine, result in results.items():
        if "skipped" in result:
            lines.append(f"{engine}: skipped ({result['skipped']})")
            continue
        held = result.get("largest_held")
        largest = f"{_num(held)} machines" if held else "none (the smallest step broke)"
        lines.append(f"largest fleet that held the SLO, {engine}: {largest}")
        for step in result.get("steps", []):
            if not step["slo"]["held"]:
                lines.append(f"   {step['machines']:,} machines {_verdict(step)}: {'; '.join(step['slo']['reasons'])}")
    lines += [
        "",
        f"hops: p50/p99 ms from the reading's timestamp. broker = publish -> PUBACK (every reading in the window); "
        f"prediction = on MQTT and stored = in the database, for {settings['sample']} sampled machines (stored "
        f"is polled every {settings['poll_s'] * 1000:.0f} ms: it reads up to that much late); stream = on every "
        f"dashboard's event stream. ! = fewer than 99% of the timed readings arrived to be timed.",
        "backlog: growth across the window of readings published but not yet on the slowest event stream "
        "(least-squares trend). B/reading: database size / rows stored (tables and indexes); x 86,400 per machine-day.",
        "machine busy: cores in use on the whole machine during the window; others = not the stack's nor the "
        "bench's processes (other jobs on a shared machine make every figure worse: compare within one run). "
        "postgres: the backends serving the API (their RSS counts the shared buffers they touched).",
    ]
    return "\n".join(lines)
