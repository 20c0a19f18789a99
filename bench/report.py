"""The side-by-side table, the ratios to the echo limit and to the seed's design, the targets."""

from __future__ import annotations

from typing import Any

LABELS = {
    "echo": "(1) paho echo, no scoring",
    "seed": "(2) seed: sklearn in callback",
    "worker": "(3) Forewarn worker x1",
    "workers2": "(4) Forewarn workers x2",
}


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each design's drain rate over the echo limit, the echo drain and the seed's drain."""
    echo_live = results.get("echo", {}).get("echo", {}).get("rate")
    echo_drain = results.get("echo", {}).get("drain", {}).get("rate")
    seed = results.get("seed", {}).get("drain", {}).get("rate")
    out: dict[str, dict[str, float | None]] = {}
    for name, result in results.items():
        rate = result.get("drain", {}).get("rate")
        out[name] = {
            "to_echo_limit": _ratio(rate, echo_live),
            "to_echo_drain": _ratio(rate, echo_drain),
            "to_seed": _ratio(rate, seed),
        }
    return out


def _ratio(value: float | None, reference: float | None) -> float | None:
    return round(value / reference, 3) if value and reference else None


def targets(results: dict[str, dict[str, Any]], ratio: dict[str, dict[str, float | None]]) -> list[dict[str, Any]]:
    """Issue 7's targets with the measured value and whether it is met."""
    one = results.get("worker", {})
    two = results.get("workers2", {})
    one_rate = one.get("drain", {}).get("rate")
    checks = [
        ("one worker drain >= 0.8 x echo limit", ratio.get("worker", {}).get("to_echo_limit"), 0.8, ">="),
        ("one worker drain >= 50 x seed design", ratio.get("worker", {}).get("to_seed"), 50.0, ">="),
        ("two workers drain >= 1.5 x one", _ratio(two.get("drain", {}).get("rate"), one_rate), 1.5, ">="),
        ("p99 at 1,000/s <= 20 ms (one worker)", one.get("latency", {}).get("p99_ms"), 20.0, "<="),
        ("nothing missing at 1,000/s (one worker)", one.get("latency", {}).get("missing"), 0, "<="),
        ("worker peak RSS <= 150 MB", max(one.get("peak_rss_mb", 0), two.get("peak_rss_mb", 0)) or None, 150.0, "<="),
        ("start-up to first prediction <= 3 s", one.get("drain", {}).get("startup_s"), 3.0, "<="),
    ]
    return [
        {
            "target": name,
            "value": value,
            "limit": limit,
            "met": None if value is None else (value >= limit if op == ">=" else value <= limit),
        }
        for name, value, limit, op in checks
    ]


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _row(name: str, result: dict[str, Any], ratio: dict[str, float | None]) -> list[str]:
    drain, latency, sustained = result.get("drain", {}), result.get("latency", {}), result.get("sustained", {})
    cut = "" if drain.get("complete", True) else "*"
    return [
        LABELS.get(name, name),
        _num(drain.get("rate")) + cut,
        _num(ratio.get("to_echo_limit"), 2),
        _num(ratio.get("to_seed"), 1),
        _num(drain.get("startup_s"), 2),
        f"{_num(sustained.get('delivered_rate'))} ({_num(sustained.get('missing'))})",
        f"{_num(latency.get('p50_ms'), 1)} / {_num(latency.get('p99_ms'), 1)} / {_num(latency.get('max_ms'), 0)}",
        _num(latency.get("missing")),
        _num(drain.get("cpu_ms_per_1k"), 0),
        _num(result.get("peak_rss_mb"), 0),
    ]


HEADER = [
    "design",
    "drain/s",
    "x echo",
    "x seed",
    "start s",
    "sust. deliv/s (miss)",
    "p50/p99/max ms",
    "miss",
    "CPU ms/1k",
    "RSS MB",
]


def table(
    results: dict[str, dict[str, Any]], ratio: dict[str, dict[str, float | None]], settings: dict[str, Any]
) -> str:
    rows = [HEADER] + [_row(name, result, ratio.get(name, {})) for name, result in results.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    echo = results.get("echo", {})
    notes = [
        f"drain: {settings['backlog']:,} readings pre-queued while the consumer was stopped; * = cut off after "
        f"{settings['window_s']:.0f} s (rate over the window after the first prediction).",
        f"x echo: drain / echo limit = {_num(echo.get('echo', {}).get('rate'))} msg/s (one paho publisher -> "
        f"broker -> one paho subscriber, live, {settings['backlog']:,} messages); "
        f"the echo subscriber alone drains a stored backlog at {_num(echo.get('drain', {}).get('rate'))} msg/s. "
        f"paho's CPU per message in the echo: publisher {_num(echo.get('echo', {}).get('publisher_us_per_msg'))} us, "
        f"subscriber {_num(echo.get('echo', {}).get('subscriber_us_per_msg'))} us (a worker does both, plus scoring).",
        f"sustained: {settings['sustained_rate']:,.0f} readings/s offered for {settings['sustained_s']:.0f} s; "
        f"latency: {settings['latency_rate']:,.0f}/s for {settings['latency_s']:.0f} s, publish -> prediction "
        f"received; miss = not received within {settings['grace_s']:.0f} s of the last publish "
        f"({settings['bounded_grace_s']:.0f} s for the seed).",
        "CPU ms/1k: consumer CPU (user+sys, all its processes) per 1,000 readings drained, start-up included; "
        "RSS: peak (VmHWM) of the consumer process, the largest one for x2.",
    ]
    return "\n".join([*lines, "", *notes])


def target_lines(checks: list[dict[str, Any]]) -> str:
    out = []
    for check in checks:
        verdict = "n/a" if check["met"] is None else "met" if check["met"] else "MISSED"
        out.append(f"  {check['target']:<42} measured {_num(check['value'], 2):>10}   {verdict}")
    return "\n".join(out)
