"""The fleet bench's pure parts: readings, event cutting, step attribution, figures, SLO, options, table."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from bench.fleet import figures, table
from bench.fleet.dashboards import parse_events
from bench.fleet.figures import Slo, backlog_growth, largest_held, latency_summary, verdict
from bench.fleet.plan import DEFAULT_RAMP, parse
from bench.fleet.profiles import summary
from bench.fleet.readings import SimulatedMachine, TimestampCache, ts_text_to_ms
from bench.fleet.windows import Tallies
from common.settings import ConfigError
from contract import parse_reading

# ---------------------------------------------------------------------- readings


def test_timestamps_round_trip_to_the_millisecond() -> None:
    moment = calendar.timegm((2026, 3, 29, 1, 59, 59, 0, 0, 0)) + 0.625  # a DST change in Europe: UTC ignores it
    text = TimestampCache().text(moment)
    assert text == "2026-03-29T01:59:59.625Z"
    assert ts_text_to_ms(text.encode()) == moment * 1000


def test_a_timestamp_cache_follows_the_seconds() -> None:
    cache = TimestampCache()
    assert cache.text(100.25).endswith("00:01:40.250Z")
    assert cache.text(101.5).endswith("00:01:41.500Z")


def test_a_simulated_machine_sends_valid_contract_readings_with_fresh_ids() -> None:
    machine = SimulatedMachine("fleet-00007", seed=7, run="r1", length=5)
    readings = [parse_reading(machine.payload(f"2026-01-01T00:00:0{n}.000Z"), "fleet-00007") for n in range(8)]
    assert [r.reading_id for r in readings] == [f"fleet-00007-r1-{n}" for n in range(1, 9)]
    assert readings[0].ts == "2026-01-01T00:00:00.000Z"
    assert all(
        290 < float(r.values["air_temp_k"]) < 310 and float(r.values["rotational_speed_rpm"]) > 0 for r in readings
    )
    # replayed in a loop after `length` readings: same values, new ids
    torque = [r.values["torque_nm"] for r in readings]
    assert torque[0] == torque[5]
    assert torque[1] != torque[2] or torque[2] != torque[3]


def test_two_machines_have_their_own_values() -> None:
    one = parse_reading(SimulatedMachine("a", seed=1, run="r").payload("2026-01-01T00:00:00.000Z"))
    two = parse_reading(SimulatedMachine("b", seed=2, run="r").payload("2026-01-01T00:00:00.000Z"))
    assert one.values != two.values


# ---------------------------------------------------------------------- event streams


def test_events_are_cut_at_blank_lines_and_the_rest_is_kept() -> None:
    blocks, rest = parse_events(b"id: 1\nevent: prediction\ndata: {}\n\nid: 2\nevent: st")
    assert blocks == [b"id: 1\nevent: prediction\ndata: {}"]
    assert rest == b"id: 2\nevent: st"
    blocks, rest = parse_events(rest + b"atus\ndata: {}\n\n")
    assert blocks == [b"id: 2\nevent: status\ndata: {}"]
    assert rest == b""


def test_events_are_attributed_to_their_step_by_reading_time() -> None:
    tallies = Tallies()
    tallies.begin(0, 100.0, 110.0, 120.0, 122.0)
    tallies.add(105_000, 105_050)  # warm-up: counted, not timed
    tallies.add(115_000, 115_200)  # in the window: timed
    tallies.add(122_300, 122_400)  # stamped after send_end by a late load generator: still step 0
    tallies.begin(1, 130.0, 140.0, 150.0, 152.0)
    tallies.add(121_500, 131_000)  # a late event of step 0
    tallies.add(145_000, 145_010)
    tallies.add(99_000, 99_000)  # before any step
    first, second = tallies.take(0), tallies.take(1)
    assert first is not None
    assert second is not None
    assert (first.count, list(first.latency_ms)) == (4, [200.0])
    assert (second.count, list(second.latency_ms)) == (1, [10.0])
    assert tallies.outside == 1
    assert tallies.take(0) is None


# ---------------------------------------------------------------------- figures


def test_latency_summary_merges_receivers_and_reports_coverage() -> None:
    summary = latency_summary([[10.0] * 50, [20.0] * 49, [1000.0]], expected=200)
    assert summary["n"] == 100
    assert summary["p50"] == pytest.approx(15.0)
    assert 20.0 < summary["p99"] < 1000.0
    assert summary["max"] == 1000.0
    assert summary["coverage"] == 0.5
    empty = latency_summary([], expected=None)
    assert (empty["n"], empty["p99"], empty["coverage"]) == (0, None, None)


def test_a_steady_backlog_does_not_grow_however_noisy() -> None:
    samples = [(float(t), 100.0 + (30 if t % 2 else -30)) for t in range(60)]
    assert abs(backlog_growth(samples)) < 5


def test_a_growing_backlog_is_its_trend_across_the_span() -> None:
    samples = [(float(t), 50.0 + 20.0 * t) for t in range(61)]
    assert backlog_growth(samples) == pytest.approx(1200.0)
    assert backlog_growth(samples[:2]) == 0.0


def _step(**changes: Any) -> dict[str, Any]:
    hop = {"n": 1000, "p50": 40.0, "p99": 200.0, "max": 300.0, "coverage": 1.0}
    step: dict[str, Any] = {
        "machines": 1000,
        "sensors": 1000,
        "lost": 0,
        "rejected": 0,
        "hops": {name: dict(hop) for name in figures.HOPS},
        "stream": {"missed": 0, "resyncs": 0},
        "backlog": {"growth": 3.0},
        "loadgen": {"slip": {"p99": 5.0}},
    }
    for key, value in changes.items():
        step[key] = value
    return step


def test_a_step_within_the_slo_holds() -> None:
    assert verdict(_step(), Slo()) == (True, True, [])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lost": 3}, "3 readings lost"),
        ({"rejected": 2}, "2 readings rejected"),
        ({"stream": {"missed": 40, "resyncs": 1}}, "a dashboard missed 40 events (1 resyncs)"),
        ({"backlog": {"growth": 900.0}}, "backlog grew by 900 readings over the window"),
    ],
)
def test_each_broken_objective_is_named(change: dict[str, Any], reason: str) -> None:
    held, valid, reasons = verdict(_step(**change), Slo())
    assert (held, valid, reasons) == (False, True, [reason])


def test_a_slow_hop_breaks_the_slo_and_a_half_seen_one_too() -> None:
    step = _step()
    step["hops"]["stored"]["p99"] = 1400.0
    step["hops"]["stream"]["coverage"] = 0.9
    held, _valid, reasons = verdict(step, Slo())
    assert not held
    assert reasons == [
        "p99 sensor->stored 1400 ms > 1000 ms",
        "sensor->stream: only 90.0% of the timed readings arrived in time to be timed",
    ]


def test_a_late_load_generator_makes_the_step_invalid_not_a_result() -> None:
    held, valid, reasons = verdict(_step(loadgen={"slip": {"p99": 900.0}}, sensors=990), Slo())
    assert (held, valid) == (False, False)
    assert reasons == ["load generator behind schedule (slip p99 900 ms)", "only 990 of 1000 sensors connected"]


def test_cpu_per_reading_counts_what_the_window_published_or_stored() -> None:
    cpu = {"loadgen": 20.0, "broker": 5.0, "api": 40.0, "postgres": 0.0}
    cost = figures.cpu_per_reading(cpu, 60.0, {"published": 30_000, "stored": 24_000})
    # 20 % of a core for 60 s = 12 s of CPU over 30,000 readings published = 0.4 ms
    assert cost == {"loadgen": 0.4, "broker": 0.1, "api": 1.0, "postgres": 0.0}
    assert figures.cpu_per_reading({"api": 3.0}, 60.0, {"published": 10, "stored": 0}) == {"api": None}


def test_the_largest_fleet_held_is_the_last_before_the_first_break() -> None:
    steps = [
        {"machines": 250, "slo": {"held": True}},
        {"machines": 500, "slo": {"held": True}},
        {"machines": 1000, "slo": {"held": False}},
        {"machines": 1500, "slo": {"held": True}},  # with --keep-going: a lucky step after a break does not count
    ]
    assert largest_held(steps) == 500
    assert largest_held(steps[2:]) is None


# ---------------------------------------------------------------------- options


def test_the_default_ramp_and_the_smoke_variant() -> None:
    plan = parse([])
    assert plan.machines == DEFAULT_RAMP
    assert plan.window_s >= 180
    assert plan.engines == ("sqlite", "postgresql")
    assert plan.loadgen_nice == 10
    smoke = parse(["--smoke", "--db", "sqlite"])
    assert smoke.smoke
    assert smoke.window_s < 10
    assert max(smoke.machines) <= 10
    assert smoke.engines == ("sqlite",)
    assert parse(["--smoke", "--window", "7"]).window_s == 7


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--machines", "500,250"], "--machines '500,250': positive sizes, ascending, each once"),
        (["--machines", "a,b"], "--machines 'a,b': a comma list of whole numbers"),
        (["--db", "mysql"], "--db 'mysql': choose from sqlite, postgresql"),
        (["--window", "0"], "--window must be positive"),
        (["--publishers", "0"], "--publishers must be at least 1"),
        (["--loadgen-nice", "25"], "--loadgen-nice 25: a niceness from 0 to 19"),
        (["--bogus"], "python -m bench fleet: unrecognized arguments: --bogus (see --help)"),
    ],
)
def test_bad_options_are_one_line_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(argv)
    assert str(caught.value) == message


# ---------------------------------------------------------------------- table


def test_the_table_shows_each_step_the_largest_held_fleet_and_why_a_step_broke() -> None:
    held = _step() | {
        "readings_per_s": 998.4,
        "storage": {"bytes_per_reading": 410.0, "mb_per_machine_day": 35.4},
        "slo": {"held": True, "valid": True, "reasons": []},
        "cpu_pct": dict.fromkeys(table.ROLES, 12.4),
        "rss_mb": dict.fromkeys(table.ROLES, 80.0),
        "processes": dict.fromkeys(table.ROLES, 1) | {"postgres": 0},
        "machine_busy_cores": 1.4,
        "others_cores": 0.3,
        "load_average": 2.5,
    }
    broken = held | {
        "machines": 2000,
        "slo": {"held": False, "valid": True, "reasons": ["p99 sensor->stream 1500 ms > 1000 ms"]},
    }
    settings = {
        "workers": 1,
        "dashboards": 5,
        "warmup_s": 30.0,
        "window_s": 180.0,
        "publishers": 4,
        "loadgen_nice": 10,
        "sample": 50,
        "poll_s": 0.1,
        "slo": {"max_lost": 0, "stored_p99_ms": 1000.0, "stream_p99_ms": 1000.0},
    }
    text = table.render(
        {"sqlite": {"steps": [held, broken], "largest_held": 1000}, "postgresql": {"skipped": "no server"}}, settings
    )
    assert "largest fleet that held the SLO, sqlite: 1,000 machines" in text
    assert "4 load-generator processes at nice 10" in text
    assert "2,000 machines BROKEN: p99 sensor->stream 1500 ms > 1000 ms" in text
    assert "postgresql: skipped (no server)" in text
    flow = [line for line in text.splitlines() if line.startswith("sqlite")]
    assert "998.4" in flow[0]
    assert "40/200" in flow[0]
    assert flow[0].endswith("held")
    assert "12% 80MB" in flow[2]
    assert "1.40 (0.30) cores" in flow[2]


# ---------------------------------------------------------------------- profiles


def test_a_profile_summary_counts_waiting_apart_and_ranks_the_working_frames() -> None:
    raw = "\n".join(
        [
            "_bootstrap (threading.py:1002);run (api/writer.py:90);write_batch (api/store.py:55) 30",
            "_bootstrap (threading.py:1002);run (api/writer.py:90);"
            "do_commit (/x/site-packages/sqlalchemy/engine/default.py:7) 10",
            "_bootstrap (threading.py:1002);_loop (/x/site-packages/paho/mqtt/client.py:1) 10",
            "_bootstrap (threading.py:1002);wait (/usr/lib/python3.11/threading.py:320) 50",
            "not a sample line",
        ]
    )
    found = summary(raw, top=2)
    assert found["samples"] == 100
    assert found["waiting_pct"] == 50.0
    assert found["self"] == [("api/store.py:write_batch", 60.0), ("sqlalchemy/engine/default.py:do_commit", 20.0)]
    inclusive = dict(found["inclusive"])  # type: ignore[call-overload]
    assert inclusive["api/writer.py:run"] == 80.0
    assert inclusive["threading.py:_bootstrap"] == 100.0
