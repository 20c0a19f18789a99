"""Alerts per machine-day before and after hysteresis and snooze, on a run's stored predictions.

The worker's alert rules are a pure state machine (inference_worker/alerts.py), so a run's
predictions, replayed in reading order through a fresh :class:`AlertTracker`, give the alerts
the worker would have opened under other settings. Each opened alert is *notified* unless a
snooze or a maintenance window silences it: that question is asked of the API's own store
(:meth:`api.feedback.Feedback.silences`, what GET /api/silences answers the bot and the
webhooks), where the operator's snoozes are written as POST /api/snoozes writes them.

- **before**: no hysteresis (an alert clears after 5 readings below the threshold, as
  ``make up`` ran before issue 17) and no snooze.
- **after**: the demo's clearing rule (bench/alert_rate.py DEMO: 20 calm readings below half
  the threshold) and an operator's snooze policy: when the operator calls a `predicted` alert
  a false alarm, they snooze that machine for `snooze_hours` (4) of simulated time.
- **after-8h**: the same with an 8-hour snooze, to show its cost: the API's machine snooze
  silences every alert of the machine, so the `detected` alerts of failures the machine
  reports during the snooze are recorded but nobody is told (`lost` > 0 in the scenario).

A ground-truth failure is *covered* when a notified alert of its machine is open on that
reading (opened on it or before, not yet cleared); otherwise it is *missed*. `lost` counts the
failures "before" covers and a policy misses: what hysteresis and snooze cost.

Pure but for the snooze store, which the caller hands in (a scratch SQLite database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from api.feedback import Feedback, SnoozeRequest, epoch_ms
from bench.alert_rate import BEFORE, DEMO
from contract import Alert, Prediction, parse_ts
from inference_worker.alerts import AlertTracker

__all__ = ["AFTER_POLICY", "BEFORE_POLICY", "LONG_SNOOZE_POLICY", "Replay", "ReplayPolicy", "replay_alerts"]

# Whether the operator, shown an alert opened on this reading, calls it a real failure.
Judge = Callable[[Alert], bool]


@dataclass(frozen=True)
class ReplayPolicy:
    name: str
    clear_after: int  # FOREWARN_ALERT_CLEAR_AFTER
    clear_ratio: float  # FOREWARN_ALERT_CLEAR_RATIO (1.0: no hysteresis)
    snooze_hours: float = 0.0  # a machine's snooze after a false-alarm verdict on a `predicted` alert; 0: none


BEFORE_POLICY = ReplayPolicy("before", BEFORE.clear_after, BEFORE.clear_ratio)
AFTER_POLICY = ReplayPolicy("after", DEMO.clear_after, DEMO.clear_ratio, snooze_hours=4.0)  # half a shift
# Shown, not recommended: a whole shift's machine snooze also silences the `detected` alerts of
# failures the machine reports meanwhile (the API's machine snooze silences every kind).
LONG_SNOOZE_POLICY = ReplayPolicy("after-8h", DEMO.clear_after, DEMO.clear_ratio, snooze_hours=8.0)


@dataclass
class Replay:
    policy: ReplayPolicy
    readings: int = 0
    opened: int = 0  # alerts recorded
    notified: int = 0  # of them, those no snooze silenced
    snoozes: int = 0
    failures: int = 0  # ground-truth failure readings
    covered: set[tuple[str, str]] = field(default_factory=set)  # (machine, reading id) of covered failures

    @property
    def missed(self) -> int:
        return self.failures - len(self.covered)

    def per_machine_day(self, machine_days: float) -> float:
        return round(self.notified / machine_days, 2) if machine_days else 0.0

    def as_dict(self, machine_days: float, before: Replay | None = None) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "clear_after": self.policy.clear_after,
            "clear_ratio": self.policy.clear_ratio,
            "snooze_hours": self.policy.snooze_hours,
            "readings": self.readings,
            "opened": self.opened,
            "notified": self.notified,
            "snoozes": self.snoozes,
            "alerts_per_machine_day": self.per_machine_day(machine_days),
            "failures": self.failures,
            "missed": self.missed,
        }
        if before is not None:
            figures["lost"] = len(before.covered - self.covered)
        return figures


def replay_alerts(
    predictions: Iterable[Prediction],
    truth: Mapping[tuple[str, str], int],
    policy: ReplayPolicy,
    judge: Judge,
    feedback: Feedback,
) -> Replay:
    """Replay `predictions` (any order: sorted by reading time) under `policy`.

    `truth`: (machine, reading id) -> 1 for a real failure. `judge` gives the operator's
    verdict on each notified alert as it opens; `feedback` keeps the snoozes (use a store
    of its own: the snoozes are written at simulated times).
    """
    tracker = AlertTracker(policy.clear_after, policy.clear_ratio, stale_after_s=0)
    replay = Replay(policy)
    notified_open: dict[str, dict[str, str]] = {}  # machine -> kind -> id of a notified open alert
    for prediction in sorted(predictions, key=lambda p: (p.ts, p.machine_id, p.reading_id)):
        machine, at_ms = prediction.machine_id, epoch_ms(parse_ts(prediction.ts))
        early = (prediction.explanation or {}).get("early_warning")
        for alert in tracker.update(prediction, prediction.ts, early):
            alerts = notified_open.setdefault(machine, {})
            if alert.state != "open":
                alerts.pop(alert.kind, None)
                continue
            replay.opened += 1
            if feedback.silences(machine, alert.alert_id, at_ms):
                continue
            replay.notified += 1
            alerts[alert.kind] = alert.alert_id
            if policy.snooze_hours and alert.kind == "predicted" and not judge(alert):
                minutes = round(policy.snooze_hours * 60)
                request = SnoozeRequest(machine_id=machine, minutes=minutes, note="false alarm", by="operator")
                feedback.snooze(request, at_ms + minutes * 60_000, at_ms)
                replay.snoozes += 1
        replay.readings += 1
        if truth.get((machine, prediction.reading_id)):
            replay.failures += 1
            if notified_open.get(machine):
                replay.covered.add((machine, prediction.reading_id))
    return replay
