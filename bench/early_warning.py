"""How well the wear early warning anticipates wear-driven failures, on simulated machines.

    python -m bench.early_warning [--seed 7] [--readings 20000] [--horizon 15]

Seeded simulators (publisher.simulation, the AI4I process) run per machine type; every
reading goes through the worker's WearForecaster. A wear-driven failure (TWF or OSF) is
*warned* when the same tool got a warning on an earlier reading; its *lead* is the tool
wear gained between the first warning and the failure. A *false* warning is a tool that
was warned but then neither failed by wear nor reached a failure region before it was
replaced. Tools warned and replaced in the region without failing are reported apart.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

import numpy as np

from contract import Reading
from inference_worker.early_warning import OVERSTRAIN_LIMITS, TOOL_WEAR_REGION_MIN, WearForecaster
from publisher.simulation import Simulator

WEAR_MODES = ("Tool Wear Failure", "Overstrain Failure")


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


def evaluate(seed: int = 7, readings: int = 20_000, horizon: float = 15.0) -> Report:
    report = Report()
    for offset, machine_type in enumerate(("L", "M", "H")):
        _run_machine(Simulator(np.random.default_rng(seed + offset), machine_type), readings, horizon, report)
    return report


def _run_machine(simulator: Simulator, readings: int, horizon: float, report: Report) -> None:
    forecaster, tool, last_wear = WearForecaster(horizon_min=horizon), _ToolRun(), -1.0
    for n in range(readings):
        reading = simulator.step().to_reading(f"r{n}", "2026-01-01T00:00:00Z")
        if reading.tool_wear_min < last_wear:
            _close_tool(tool, report)
            tool = _ToolRun()
        last_wear = reading.tool_wear_min
        report.readings += 1
        _score_failure(reading, tool, report)
        tool.reached_region |= _in_region(reading)
        if forecaster.update("sim", reading) and tool.first_warning_wear is None:
            tool.first_warning_wear = reading.tool_wear_min
    _close_tool(tool, report)


def _score_failure(reading: Reading, tool: _ToolRun, report: Report) -> None:
    if not any(mode in (reading.failure_description or "") for mode in WEAR_MODES):
        return
    report.failures += 1
    tool.failed = True
    if tool.first_warning_wear is not None:  # warned on an earlier reading of this tool
        report.warned += 1
        report.leads.append(reading.tool_wear_min - tool.first_warning_wear)


def _in_region(reading: Reading) -> bool:
    strain = reading.tool_wear_min * reading.torque_nm
    return bool(reading.tool_wear_min >= TOOL_WEAR_REGION_MIN or strain > OVERSTRAIN_LIMITS[reading.type])


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
    parser.add_argument("--horizon", type=float, default=15.0, help="warn with this many tool minutes left")
    args = parser.parse_args(argv)
    r = evaluate(args.seed, args.readings, args.horizon)
    print(f"early warning on {r.readings:,} simulated readings ({r.tools:,} tools), horizon {args.horizon:g} min")
    print(f"  wear-driven failures warned: {r.warned}/{r.failures} = {r.warned_share:.1%} (target >= 90 %)")
    print(f"  median lead: {r.median_lead:.0f} min of tool use (target >= 10)")
    print(f"  false warnings: {r.false_warnings} = {r.false_per_10k:.2f} per 10,000 readings (target <= 5)")
    print(f"  warned tools replaced in the region without failing: {r.warned_tools_without_failure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
