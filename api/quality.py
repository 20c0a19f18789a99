"""Alert quality, measured (pure): from the alerts of a window, with their verdicts.

- alerts per machine-day: alerts opened / (machines that raised any or are known) / days;
- time to acknowledge: median and mean seconds from opening to acknowledgement;
- share of alerts with a verdict;
- false-alarm rate by mode, by rule (the alert kind: `predicted` is the model's threshold
  or the wear forecast, `detected` a failure the machine reported) and by model version:
  false alarms / alerts whose verdict is known (`unsure` is not known);
- the noisiest machines: most alerts, with their false alarms.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DAY_MS", "quality_report"]

DAY_MS = 86_400_000
NOISIEST = 10
_KNOWN = ("real_failure", "false_alarm", "planned_maintenance")


def quality_report(
    rows: Iterable[Mapping[str, Any]], machines: Iterable[str], since_ms: int, until_ms: int
) -> dict[str, Any]:
    """The report of the alerts in `rows` (alert_id, machine_id, kind, predicted_mode,
    opened_at_ms, acked_at_ms, model_version, verdict) over [since_ms, until_ms]."""
    alerts = list(rows)
    days = max(until_ms - since_ms, 1) / DAY_MS
    fleet = set(machines) | {a["machine_id"] for a in alerts}
    ack_s = [(a["acked_at_ms"] - a["opened_at_ms"]) / 1000 for a in alerts if a["acked_at_ms"] is not None]
    with_verdict = [a for a in alerts if a["verdict"] is not None]
    per_machine = Counter(a["machine_id"] for a in alerts)
    false_per_machine = Counter(a["machine_id"] for a in alerts if a["verdict"] == "false_alarm")
    return {
        "days": round(days, 3),
        "machines": len(fleet),
        "alerts": len(alerts),
        "alerts_per_machine_day": round(len(alerts) / len(fleet) / days, 4) if fleet else 0.0,
        "acknowledged": len(ack_s),
        "time_to_acknowledge_s": {
            "median": round(statistics.median(ack_s), 1) if ack_s else None,
            "mean": round(statistics.fmean(ack_s), 1) if ack_s else None,
        },
        "with_verdict": len(with_verdict),
        "verdict_share": round(len(with_verdict) / len(alerts), 4) if alerts else None,
        "verdicts": dict(Counter(a["verdict"] for a in with_verdict)),
        "false_alarm_rate": {
            "overall": _rate(with_verdict),
            "by_mode": _rates(with_verdict, "predicted_mode"),
            "by_rule": _rates(with_verdict, "kind"),
            "by_model_version": _rates(with_verdict, "model_version"),
        },
        "noisiest_machines": [
            {
                "machine_id": machine,
                "alerts": count,
                "per_day": round(count / days, 4),
                "false_alarms": false_per_machine[machine],
            }
            for machine, count in sorted(per_machine.items(), key=lambda item: (-item[1], item[0]))[:NOISIEST]
        ],
    }


def _rate(alerts: list[Mapping[str, Any]]) -> dict[str, Any]:
    known = [a for a in alerts if a["verdict"] in _KNOWN]
    false = sum(1 for a in known if a["verdict"] == "false_alarm")
    return {"judged": len(known), "false_alarms": false, "rate": round(false / len(known), 4) if known else None}


def _rates(alerts: list[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for alert in alerts:
        groups[str(alert[key]) if alert[key] is not None else "none"].append(alert)
    return {name: _rate(group) for name, group in sorted(groups.items())}
