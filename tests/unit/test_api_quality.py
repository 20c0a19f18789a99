"""The alert-quality report (pure): rates, shares and the noisiest machines."""

from __future__ import annotations

from typing import Any

from api.quality import DAY_MS, quality_report


def _alert(machine: str, verdict: str | None, *, acked_after_s: float | None = None, **more: Any) -> dict[str, Any]:
    return {
        "alert_id": f"{machine}-{id(more)}",
        "machine_id": machine,
        "kind": more.get("kind", "predicted"),
        "predicted_mode": more.get("mode", "TWF"),
        "opened_at_ms": 1_000,
        "acked_at_ms": None if acked_after_s is None else 1_000 + int(acked_after_s * 1000),
        "model_version": more.get("version", "v1"),
        "verdict": verdict,
    }


def test_rates_count_only_judged_alerts_and_group_by_mode_rule_and_version() -> None:
    rows = [
        _alert("a", "false_alarm", acked_after_s=60),
        _alert("a", "false_alarm", mode="OSF", acked_after_s=180),
        _alert("a", "real_failure", kind="detected", version="v2"),
        _alert("b", "unsure"),
        _alert("b", None),
    ]
    report = quality_report(rows, ["a", "b", "c"], 0, 2 * DAY_MS)
    assert report["alerts_per_machine_day"] == round(5 / 3 / 2, 4)
    assert report["time_to_acknowledge_s"] == {"median": 120.0, "mean": 120.0}
    assert (report["with_verdict"], report["verdict_share"]) == (4, 0.8)
    rates = report["false_alarm_rate"]
    assert rates["overall"] == {"judged": 3, "false_alarms": 2, "rate": 0.6667}
    assert rates["by_mode"]["OSF"]["rate"] == 1.0
    assert rates["by_rule"] == {
        "detected": {"judged": 1, "false_alarms": 0, "rate": 0.0},
        "predicted": {"judged": 2, "false_alarms": 2, "rate": 1.0},  # b's unsure is not judged
    }
    assert rates["by_model_version"]["v2"]["rate"] == 0.0
    assert [m["machine_id"] for m in report["noisiest_machines"]] == ["a", "b"]
    assert report["noisiest_machines"][0] == {"machine_id": "a", "alerts": 3, "per_day": 1.5, "false_alarms": 2}


def test_no_alerts_is_a_report_of_nothing_not_an_error() -> None:
    report = quality_report([], [], 0, DAY_MS)
    assert report["alerts"] == 0
    assert report["verdict_share"] is None
    assert report["false_alarm_rate"]["overall"]["rate"] is None
    assert report["time_to_acknowledge_s"] == {"median": None, "mean": None}
