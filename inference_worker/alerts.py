"""Alert rules: at most one open alert per machine and kind, cleared after calm.

Pure state machine: feed it predictions, get the alert events to publish. A classifier's
`predictive` opens a `predicted` alert; a RUL model's opens a `rul` alert (the machine
entered its horizon), an anomaly detector's an `anomaly` alert (its score crossed the
threshold); a reported failure opens a `detected` one. Events
published by other workers are fed back through `observe` so a group of workers
sharing the load agrees on which alerts are open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from contract import Alert, Prediction

KIND_OF_STATUS = {"failure": "detected", "predictive": "predicted"}
SEVERITY_OF_KIND = {"detected": "critical", "predicted": "warning", "rul": "warning", "anomaly": "warning"}


def alert_id_for(machine_id: str, kind: str, reading_id: str) -> str:
    """Deterministic, so a reading scored twice after a crash yields the same alert id."""
    return hashlib.sha256(f"{machine_id}\x00{kind}\x00{reading_id}".encode()).hexdigest()[:16]


@dataclass
class _MachineAlerts:
    open: dict[str, Alert] = field(default_factory=dict)  # kind -> open alert
    calm_streak: int = 0


class AlertTracker:
    """Opens an alert on the first bad reading, clears it after `clear_after` normal ones."""

    def __init__(self, clear_after: int = 5) -> None:
        self.clear_after = clear_after
        self._machines: dict[str, _MachineAlerts] = {}

    def update(self, prediction: Prediction, now: str, early_warning: str | None = None) -> list[Alert]:
        """The alert events this prediction causes (usually none).

        `early_warning` (a sentence) opens a `predicted` alert on a reading the model still
        calls normal: the wear is heading into a failure region.
        """
        machine = self._machines.setdefault(prediction.machine_id, _MachineAlerts())
        kind = KIND_OF_STATUS.get(prediction.status) or ("predicted" if early_warning else None)
        if kind == "predicted" and prediction.model_kind != "classifier" and prediction.status == "predictive":
            kind = prediction.model_kind  # "rul" or "anomaly"
        if kind is None:
            machine.calm_streak += 1
            return self._clear_if_calm(machine, prediction, now)
        machine.calm_streak = 0
        if kind in machine.open:
            return []
        alert = _opened(prediction, kind, now, early_warning)
        machine.open[kind] = alert
        return [alert]

    def _clear_if_calm(self, machine: _MachineAlerts, prediction: Prediction, now: str) -> list[Alert]:
        if machine.calm_streak < self.clear_after or not machine.open:
            return []
        cleared = [
            replace(alert, state="cleared", cleared_at=now, message=f"{alert.machine_id}: back to normal")
            for alert in machine.open.values()
        ]
        machine.open.clear()
        return cleared

    def observe(self, alert: Alert) -> None:
        """Learn of an alert event published by any worker (including this one)."""
        machine = self._machines.setdefault(alert.machine_id, _MachineAlerts())
        if alert.state == "open":
            machine.open.setdefault(alert.kind, alert)
        elif machine.open.get(alert.kind, alert).alert_id == alert.alert_id:
            machine.open.pop(alert.kind, None)

    def open_alerts(self) -> list[Alert]:
        return [alert for machine in self._machines.values() for alert in machine.open.values()]


def _opened(prediction: Prediction, kind: str, now: str, early_warning: str | None = None) -> Alert:
    return Alert(
        alert_id=alert_id_for(prediction.machine_id, kind, prediction.reading_id),
        machine_id=prediction.machine_id,
        kind=kind,  # type: ignore[arg-type]
        severity=SEVERITY_OF_KIND[kind],  # type: ignore[arg-type]
        state="open",
        opened_at=now,
        reading_id=prediction.reading_id,
        failure_probability=prediction.failure_probability,
        predicted_mode=prediction.predicted_mode,
        message=_message(prediction, kind, early_warning),
        profile=prediction.profile,
        rul=prediction.rul,
        rul_unit=prediction.rul_unit,
        anomaly_score=prediction.anomaly_score,
        anomaly_threshold=prediction.anomaly_threshold,
    )


def _message(prediction: Prediction, kind: str, early_warning: str | None = None) -> str:
    scored = prediction.failure_probability is not None
    probability = f"{prediction.failure_probability:.0%}" if scored else "n/a"
    if kind == "predicted" and prediction.status in ("normal", "unscored") and early_warning:
        return f"{prediction.machine_id}: early warning, {early_warning}"
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
