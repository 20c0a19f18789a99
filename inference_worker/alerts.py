"""Alert rules: at most one open alert per machine and kind, with hysteresis and a stale rule.

Pure state machine: feed it predictions, get the alert events to publish.

- Opening: a reading the machine reports as failed opens a `detected` alert, one the model
  scores at or above its threshold (or an early warning from the wear forecast) a `predicted`
  one; a RUL model's `predictive` (the machine entered its horizon) a `rul` alert, an anomaly
  detector's (its score crossed the threshold) an `anomaly` alert; unless that machine
  already has one of that kind open.
- Clearing, with hysteresis: only after `clear_after` readings in a row that are calm, i.e.
  no failure, no early warning and a probability below `clear_ratio` x the threshold. A
  reading between that level and the threshold is not calm: it starts the count again.
- Stale: a machine whose status says offline has its open alerts cleared (reason
  `offline`) once it has been offline for `stale_after_s`, counted from when a worker first
  saw it offline. The time is kept in the alert's register, so it survives restarts.

Shared memory of a group of workers: every event also goes to its retained register
(``Topics.alert_state(machine, kind)``: the latest event of that machine and kind, see
contract.AlertRegister). Workers feed the registers they receive back through
:meth:`AlertTracker.observe_register`; that is how a restarted or new worker learns which
alerts are open, and how workers sharing the readings stay in step. What the tracker wants
written to the registers is collected and handed over by :meth:`AlertTracker.take_registers`.

Two workers may open an alert of the same machine and kind at the same moment; when one
learns of the other's, the older alert (opened_at, then alert_id) is kept, and the worker
that opened the newer one clears it (reason `superseded`) and writes the older one back to
the register.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from contract import Alert, AlertRegister, Prediction, format_ts, parse_ts

KIND_OF_STATUS = {"failure": "detected", "predictive": "predicted"}
SEVERITY_OF_KIND = {"detected": "critical", "predicted": "warning", "rul": "warning", "anomaly": "warning"}
_REMEMBERED_CLEARED = 64  # per machine: ids of cleared alerts whose late "open" echoes are ignored


def alert_id_for(machine_id: str, kind: str, reading_id: str) -> str:
    """Deterministic, so a reading scored twice after a crash yields the same alert id."""
    return hashlib.sha256(f"{machine_id}\x00{kind}\x00{reading_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertPolicy:
    """When alerts clear: hysteresis and the stale rule (FOREWARN_ALERT_* settings)."""

    clear_after: int = 5  # calm readings in a row that clear a machine's alerts
    clear_ratio: float = 0.5  # calm: probability below clear_ratio x the model's threshold
    stale_after_s: float = 1800.0  # offline this long -> its alerts clear as stale; 0 = never

    def __post_init__(self) -> None:
        if self.clear_after < 1:
            raise ValueError(f"clear_after={self.clear_after} must be at least 1")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"clear_ratio={self.clear_ratio} must be in (0, 1]")
        if self.stale_after_s < 0:
            raise ValueError(f"stale_after_s={self.stale_after_s} must be at least 0")


@dataclass
class _MachineAlerts:
    open: dict[str, Alert] = field(default_factory=dict)  # kind -> open alert
    calm_streak: int = 0
    online: bool | None = None  # from the machine's status; None until one is seen
    offline_since: str | None = None  # the stale rule's clock (mirrored in the registers)
    own: set[str] = field(default_factory=set)  # ids of the open alerts this worker opened
    cleared: deque[str] = field(default_factory=lambda: deque(maxlen=_REMEMBERED_CLEARED))


class AlertTracker:
    """Opens an alert on the first bad reading, clears it after enough calm ones."""

    def __init__(self, clear_after: int = 5, clear_ratio: float = 0.5, stale_after_s: float = 1800.0) -> None:
        self.policy = AlertPolicy(clear_after, clear_ratio, stale_after_s)
        self._machines: dict[str, _MachineAlerts] = {}
        self._registers: list[AlertRegister] = []

    @property
    def clear_after(self) -> int:
        return self.policy.clear_after

    # -- this worker's readings -----------------------------------------------------------

    def update(self, prediction: Prediction, now: str, early_warning: Mapping[str, Any] | None = None) -> list[Alert]:
        """The alert events this prediction causes (usually none).

        `early_warning` (the prediction's explanation["early_warning"]: mode, time left, text)
        opens a `predicted` alert on a reading the model still calls normal: the wear is
        heading into a failure region.
        """
        machine = self._machine(prediction.machine_id)
        kind = KIND_OF_STATUS.get(prediction.status) or ("predicted" if early_warning else None)
        if kind == "predicted" and prediction.model_kind != "classifier" and prediction.status == "predictive":
            kind = prediction.model_kind  # "rul" or "anomaly"
        if kind is None:
            machine.calm_streak = machine.calm_streak + 1 if self._calm(prediction) else 0
            if machine.calm_streak < self.policy.clear_after:
                return []
            return self._clear_all(machine, now, "calm", f"{prediction.machine_id}: back to normal")
        machine.calm_streak = 0
        if kind in machine.open:
            return []
        alert = _opened(prediction, kind, now, early_warning)
        machine.open[kind] = alert
        machine.own.add(alert.alert_id)
        self._write(machine, alert)
        return [alert]

    def _calm(self, prediction: Prediction) -> bool:
        if prediction.model_kind == "anomaly" and prediction.anomaly_score is not None:
            # the same hysteresis on the detector's score (its threshold is never None when scored)
            return prediction.anomaly_score < (prediction.anomaly_threshold or 0.0) * self.policy.clear_ratio
        probability, threshold = prediction.failure_probability, prediction.threshold
        if probability is None or threshold is None:
            return True  # unscored (no model for its profile yet) and no failure reported
        return probability < threshold * self.policy.clear_ratio

    def _clear_all(self, machine: _MachineAlerts, now: str, reason: str, message: str) -> list[Alert]:
        cleared = [
            replace(alert, state="cleared", cleared_at=now, cleared_reason=reason, message=message)  # type: ignore[arg-type]
            for alert in machine.open.values()
        ]
        for alert in cleared:
            self._forget(machine, alert.alert_id)
            self._write(machine, alert)
        machine.open.clear()
        return cleared

    # -- what the registers (every worker's events) say -----------------------------------

    def observe_register(self, register: AlertRegister) -> list[Alert]:
        """Learn the latest event of a machine's alert of one kind, published by any worker.

        Returns the events this causes: a `superseded` clearing when this worker's own alert
        turns out to duplicate an older one.
        """
        alert = register.event()
        machine = self._machine(alert.machine_id)
        if register.offline_since and machine.online is not True:
            ours = machine.offline_since
            machine.offline_since = register.offline_since if ours is None else min(ours, register.offline_since)
        if alert.state != "open":
            current = machine.open.get(alert.kind)
            if current is not None and current.alert_id == alert.alert_id:
                del machine.open[alert.kind]
                self._forget(machine, alert.alert_id)
            return []
        return self._observe_open(machine, alert)

    def _observe_open(self, machine: _MachineAlerts, alert: Alert) -> list[Alert]:
        current = machine.open.get(alert.kind)
        if alert.alert_id in machine.cleared or (current is not None and current.alert_id == alert.alert_id):
            return []  # a late echo of one since cleared, or what we know already
        if current is None:
            machine.open[alert.kind] = alert
            return []
        keep, drop = sorted((current, alert), key=lambda a: (a.opened_at, a.alert_id))
        machine.open[alert.kind] = keep
        if drop.alert_id not in machine.own:
            return []  # its author clears it
        self._forget(machine, drop.alert_id)
        superseded = replace(
            drop,
            state="cleared",
            cleared_at=max(keep.opened_at, drop.opened_at),
            cleared_reason="superseded",
            message=f"{drop.machine_id}: same as alert {keep.alert_id}, opened earlier",
        )
        self._write(machine, keep)  # the register must end holding the alert that stays open
        return [superseded]

    # -- the machines' own status: the stale rule ------------------------------------------

    def machine_status(self, machine_id: str, online: bool, now: str) -> None:
        """A machine's status (online/offline) as its retained status topic says it."""
        machine = self._machine(machine_id)
        machine.online = online
        if online:
            if machine.offline_since is not None:
                machine.offline_since = None
                self._rewrite_open(machine)
        elif machine.offline_since is None:
            machine.offline_since = now
            self._rewrite_open(machine)

    def expire(self, now: datetime) -> list[Alert]:
        """Clear, as stale, the open alerts of machines offline for `stale_after_s` or longer.

        The clearing time is the deadline itself (offline_since + stale_after_s), so every
        worker that applies the rule publishes the same event.
        """
        if not self.policy.stale_after_s:
            return []
        after = timedelta(seconds=self.policy.stale_after_s)
        events: list[Alert] = []
        for machine_id, machine in self._machines.items():
            if machine.online is not False or machine.offline_since is None or not machine.open:
                continue
            deadline = parse_ts(machine.offline_since) + after
            if now >= deadline:
                since = machine.offline_since
                message = f"{machine_id}: offline since {since}, closed as stale after {_duration(after)}"
                events += self._clear_all(machine, format_ts(deadline), "offline", message)
        return events

    # -- reading the state -----------------------------------------------------------------

    def take_registers(self) -> list[AlertRegister]:
        """The register writes the last calls asked for, oldest first (then forgotten)."""
        registers, self._registers = self._registers, []
        return registers

    def open_alerts(self) -> list[Alert]:
        return [alert for machine in self._machines.values() for alert in machine.open.values()]

    def offline_since(self, machine_id: str) -> str | None:
        machine = self._machines.get(machine_id)
        return machine.offline_since if machine else None

    def _machine(self, machine_id: str) -> _MachineAlerts:
        machine = self._machines.get(machine_id)
        if machine is None:
            machine = self._machines[machine_id] = _MachineAlerts()
        return machine

    def _write(self, machine: _MachineAlerts, alert: Alert) -> None:
        offline_since = machine.offline_since if alert.state == "open" else None
        self._registers.append(AlertRegister.of(alert, offline_since))

    def _rewrite_open(self, machine: _MachineAlerts) -> None:
        for alert in machine.open.values():
            self._write(machine, alert)

    @staticmethod
    def _forget(machine: _MachineAlerts, alert_id: str) -> None:
        machine.own.discard(alert_id)
        machine.cleared.append(alert_id)


def _duration(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


def _warning(early_warning: Mapping[str, Any]) -> dict[str, Any]:
    """The alert's early_warning: {mode, remaining, unit, text}, whichever way the explanation
    names the time left (`remaining_min` today, `remaining` + `unit` with machine profiles)."""
    remaining = early_warning.get("remaining", early_warning.get("remaining_min"))
    return {
        "mode": early_warning.get("mode"),
        "remaining": remaining,
        "unit": early_warning.get("unit", "min"),
        "text": early_warning.get("text"),
    }


def _opened(prediction: Prediction, kind: str, now: str, early_warning: Mapping[str, Any] | None) -> Alert:
    early = kind == "predicted" and prediction.status in ("normal", "unscored") and early_warning
    warning = _warning(early_warning) if early and early_warning else None
    mode = str(warning["mode"]) if warning and warning.get("mode") else prediction.predicted_mode
    return Alert(
        alert_id=alert_id_for(prediction.machine_id, kind, prediction.reading_id),
        machine_id=prediction.machine_id,
        kind=kind,  # type: ignore[arg-type]
        severity=SEVERITY_OF_KIND[kind],  # type: ignore[arg-type]
        state="open",
        opened_at=now,
        reading_id=prediction.reading_id,
        failure_probability=prediction.failure_probability,
        predicted_mode=mode,
        message=_message(prediction, kind, warning),
        profile=prediction.profile,
        rul=prediction.rul,
        rul_unit=prediction.rul_unit,
        anomaly_score=prediction.anomaly_score,
        anomaly_threshold=prediction.anomaly_threshold,
        early_warning=warning,
    )


def _message(prediction: Prediction, kind: str, warning: Mapping[str, Any] | None) -> str:
    scored = prediction.failure_probability is not None
    probability = f"{prediction.failure_probability:.0%}" if scored else "n/a"
    if warning is not None:
        return f"{prediction.machine_id}: early warning, {warning.get('text') or warning.get('mode')}"
    mode = f" ({prediction.predicted_mode})" if prediction.predicted_mode else ""
    if kind == "rul":
        unit = prediction.rul_unit or ""
        return (
            f"{prediction.machine_id}: {prediction.rul:.0f} {unit} of useful life left "
            f"(interval {prediction.rul_low:.0f}-{prediction.rul_high:.0f}), under the horizon of "
            f"{prediction.rul_horizon:g} {unit}"
        )
    if kind == "anomaly":
        return (
            f"{prediction.machine_id}: anomaly score {prediction.anomaly_score:.4g} above its threshold "
            f"{prediction.anomaly_threshold:.4g} (learned from normal behaviour, no failure labels)"
        )
    if kind == "detected":
        described = prediction.failure_description or "failure"
        model = f"model probability {probability}" if scored else "no model for its profile yet"
        return f"{prediction.machine_id} reports a failure ({described}); {model}"
    return f"{prediction.machine_id}: failure predicted{mode}, probability {probability}"
