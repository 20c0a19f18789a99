"""How well the early warning anticipates counter-driven failures, on simulated machines.

    python -m bench.early_warning [--seed 7] [--readings 20000] [--horizon 15]

Seeded simulators (publisher.simulation, the profile's process; default ai4i-mill) run per
value of the profile's first category (AI4I: per product type); every reading goes through
the worker's CounterForecaster. A failure of a mode the early warning watches (AI4I: TWF,
OSF) is *warned* when the same counter run (tool) got a warning on an earlier reading; its
*lead* is the counter gained between the first warning and the failure. A *false* warning is
a run that was warned but then neither failed that way nor reached a limit before the
counter was reset. Runs warned and reset at a limit without failing are reported apart.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

import numpy as np

from contract import Profile, Reading, default_profile
from contract.profiles import CounterLimit, EarlyWarning, PerCategory
from inference_worker.early_warning import CounterForecaster
from publisher.simulation import Simulator


@dataclass
class Report:
    readings: int = 0
    failures: int = 0
    warned: int = 0
    leads: list[float] = field(default_factory=list)
    false_warnings: int = 0
    warned_tools_without_failure: int = 0
    tools: int = 0

    @property
    def warned_share(self) -> float:
        return self.warned / self.failures if self.failures else 1.0

    @property
    def median_lead(self) -> float:
        return statistics.median(self.leads) if self.leads else 0.0

    @property
    def false_per_10k(self) -> float:
        return 10_000 * self.false_warnings / self.readings if self.readings else 0.0


@dataclass
class _ToolRun:
    first_warning_wear: float | None = None
    failed: bool = False
    reached_region: bool = False


def evaluate(seed: int = 7, readings: int = 20_000, horizon: float = 15.0, profile: Profile | None = None) -> Report:
    profile = profile or default_profile()
    assert profile.physics is not None
    assert profile.physics.early_warning is not None
    settings = profile.physics.early_warning
    report = Report()
    first = profile.category_fields[0] if profile.category_fields else None
    variants = [{first.name: value} for value in first.values] if first else [{}]
    for offset, fixed in enumerate(variants):
        simulator = Simulator(np.random.default_rng(seed + offset), profile, fixed)
        _run_machine(simulator, readings, horizon, report, settings)
    return report


def _run_machine(simulator: Simulator, readings: int, horizon: float, report: Report, settings: EarlyWarning) -> None:
    forecaster, tool, last_wear = CounterForecaster(horizon=horizon), _ToolRun(), -1.0
    counter = settings.limits[0].counter
    names = _watched_names(simulator.profile, settings)
    for n in range(readings):
        reading = simulator.step().to_reading(f"r{n}", "2026-01-01T00:00:00Z")
        wear = float(reading.values[counter])
        if wear < last_wear:
            _close_tool(tool, report)
            tool = _ToolRun()
        last_wear = wear
        report.readings += 1
        _score_failure(reading, tool, report, names, wear)
        tool.reached_region |= _in_region(reading, settings)
        if forecaster.update("sim", reading, simulator.profile) and tool.first_warning_wear is None:
            tool.first_warning_wear = wear
    _close_tool(tool, report)


def _watched_names(profile: Profile, settings: EarlyWarning) -> tuple[str, ...]:
    """The failure-description names of the modes the early warning watches."""
    watched = {item.mode for item in settings.limits}
    return tuple(mode.name for mode in profile.failure_modes if mode.code in watched)


def _score_failure(reading: Reading, tool: _ToolRun, report: Report, names: tuple[str, ...], wear: float) -> None:
    if not any(mode in (reading.failure_description or "") for mode in names):
        return
    report.failures += 1
    tool.failed = True
    if tool.first_warning_wear is not None:  # warned on an earlier reading of this tool
        report.warned += 1
        report.leads.append(wear - tool.first_warning_wear)


def _in_region(reading: Reading, settings: EarlyWarning) -> bool:
    """The counter reached a plain limit, or counter x quantity passed its limit."""
    return any(_past(item, reading) for item in settings.limits)


def _past(item: CounterLimit, reading: Reading) -> bool:
    values = reading.values
    limit = item.limit
    bound = limit.values[str(values[limit.by])] if isinstance(limit, PerCategory) else limit
    counter = float(values[item.counter])
    if item.per is None:
        return counter >= bound
    return counter * float(values[item.per.field]) > bound


def _close_tool(tool: _ToolRun, report: Report) -> None:
    report.tools += 1
    if tool.first_warning_wear is None or tool.failed:
        return
    report.warned_tools_without_failure += 1
    if not tool.reached_region:
        report.false_warnings += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.early_warning")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--readings", type=int, default=20_000, help="per machine type")
    parser.add_argument("--horizon", type=float, default=15.0, help="warn with this much of the counter left")
    args = parser.parse_args(argv)
    r = evaluate(args.seed, args.readings, args.horizon)
    print(f"early warning on {r.readings:,} simulated readings ({r.tools:,} runs), horizon {args.horizon:g}")
    print(f"  counter-driven failures warned: {r.warned}/{r.failures} = {r.warned_share:.1%} (target >= 90 %)")
    print(f"  median lead: {r.median_lead:.0f} counter units (target >= 10)")
    print(f"  false warnings: {r.false_warnings} = {r.false_per_10k:.2f} per 10,000 readings (target <= 5)")
    print(f"  warned runs reset at a limit without failing: {r.warned_tools_without_failure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
