"""The latest state of every machine, in memory (pure: no I/O, the caller passes the clock).

Fed only with what the database has committed, and loaded from it at start, so a restarted
API shows the same machines. Every change returns the events to fan out: ``("prediction",
Prediction)``, ``("alert", AlertView)`` and ``("status", {"machine_id", "online", "ts"})``
when a machine's online flag flips.

Online rule: the last status message did not say "offline", and the machine was heard from
(a prediction or an "online" status *arrived*) within ``offline_after_ms``. Arrival, not the
message's `ts`: a sensor's clock decides neither how long it stays online nor, sending late
readings from its outbox, whether it looks silent. The last *received* status wins, not the
one with the latest `ts`: a last will carries the time it was registered, which is before the
"online" that followed it.

Latest reading: the newest by reading time, so a late reading (an outbox sent after an
outage) is stored and counted but never replaces a newer one. Readings dated more than a few
minutes ahead never get here: the worker rejects them (FOREWARN_MAX_FUTURE_S).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api.rows import ms_to_ts

__all__ = ["Event", "MachineState", "StateCache"]

Event = tuple[str, dict[str, Any]]
_STATUSES = ("normal", "predictive", "failure", "unscored")
_CLEARED_MEMORY = 10_000


@dataclass
class MachineState:
    """What the API knows about one machine."""

    machine_id: str
    profile: str | None = None  # the profile of its latest stored prediction
    latest: dict[str, Any] | None = None
    latest_ts_ms: int | None = None
    reported: str | None = None  # state of the last status message received
    reported_ts_ms: int | None = None
    counts: Counter[str] = field(default_factory=Counter)
    open_alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    shown_online: bool = False  # the value last announced, to announce flips only
    heard_ms: int | None = None  # when a prediction or an "online" status last arrived

    def estimate_heard(self, now_ms: int) -> None:
        """At start, arrivals are unknown: the newest message time stands in, never past `now_ms`."""
        times = [self.latest_ts_ms, self.reported_ts_ms if self.reported == "online" else None]
        known = [ms for ms in times if ms is not None]
        self.heard_ms = min(max(known), now_ms) if known else None

    def online(self, now_ms: int, offline_after_ms: int) -> bool:
        heard = self.heard_ms
        return self.reported != "offline" and heard is not None and now_ms - heard <= offline_after_ms


class StateCache:
    """Thread-safe map of machine id to MachineState, plus the services' statuses."""

    def __init__(self, offline_after_ms: int) -> None:
        self.offline_after_ms = offline_after_ms
        self._machines: dict[str, MachineState] = {}
        self._services: dict[str, dict[str, Any]] = {}
        self._cleared: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading

    def load_machine(self, machine: MachineState, now_ms: int) -> None:
        """Install a machine read from the database (at start)."""
        with self._lock:
            machine.estimate_heard(now_ms)
            machine.shown_online = machine.online(now_ms, self.offline_after_ms)
            self._machines[machine.machine_id] = machine

    # ------------------------------------------------------------------ changes

    def add_predictions(self, predictions: Iterable[dict[str, Any]], ts_ms: Iterable[int], now_ms: int) -> list[Event]:
        """Newly stored predictions (with their reading times), arrived at `now_ms`; returns the events."""
        events: list[Event] = []
        with self._lock:
            for prediction, moment in zip(predictions, ts_ms, strict=True):
                machine = self._machine(prediction["machine_id"])
                machine.counts["readings"] += 1
                machine.counts[prediction["status"]] += 1
                machine.heard_ms = now_ms
                if machine.latest_ts_ms is None or moment >= machine.latest_ts_ms:
                    machine.latest, machine.latest_ts_ms = prediction, moment
                machine.profile = (
                    prediction.get("profile") or machine.profile
                )  # as the store's machines row: the newest
                events.append(("prediction", prediction))
                events.extend(self._flip(machine, now_ms))
        return events

    def set_status(self, machine_id: str, state: str, ts_ms: int, now_ms: int) -> list[Event]:
        """A status message dated `ts_ms` arrived at `now_ms`."""
        with self._lock:
            machine = self._machine(machine_id)
            machine.reported, machine.reported_ts_ms = state, ts_ms
            if state == "online":
                machine.heard_ms = now_ms
            return self._flip(machine, now_ms)

    def put_alert(self, view: dict[str, Any]) -> list[Event]:
        """An alert opened, cleared or acknowledged; open ones are kept per machine.

        A clearing is final: an acknowledgement read just before the clearing committed must
        not bring the alert back, so recently cleared ids are remembered.
        """
        with self._lock:
            machine = self._machine(view["machine_id"])
            if view["state"] != "open":
                machine.open_alerts.pop(view["alert_id"], None)
                self._cleared[view["alert_id"]] = None
                while len(self._cleared) > _CLEARED_MEMORY:
                    self._cleared.popitem(last=False)
            elif view["alert_id"] in self._cleared:
                return []
            else:
                machine.open_alerts[view["alert_id"]] = view
        return [("alert", view)]

    def forget(self, removed: dict[str, Counter[str]], cutoff_ms: int) -> None:
        """Apply a retention prune: subtract removed counts, drop latest readings now gone."""
        with self._lock:
            for machine_id, counts in removed.items():
                machine = self._machine(machine_id)
                machine.counts.subtract(counts)
            for machine in self._machines.values():
                if machine.latest_ts_ms is not None and machine.latest_ts_ms < cutoff_ms:
                    machine.latest, machine.latest_ts_ms = None, None

    def sweep(self, now_ms: int) -> list[Event]:
        """Machines that went silent (or came back) since the last call."""
        with self._lock:
            return [event for machine in self._machines.values() for event in self._flip(machine, now_ms)]

    def set_service(self, name: str, state: str, ts_ms: int) -> None:
        with self._lock:
            self._services[name] = {"state": state, "ts": ms_to_ts(ts_ms)}

    # ------------------------------------------------------------------ views

    def summaries(self, now_ms: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Every machine's summary (sorted by id) and the counts over all machines."""
        with self._lock:
            views = [self._summary(self._machines[key], now_ms) for key in sorted(self._machines)]
        totals = dict.fromkeys((*_STATUSES, "offline", "online"), 0)
        for view in views:
            if view["status"] is not None:
                totals[view["status"]] += 1
            totals["online" if view["online"] else "offline"] += 1
        return views, totals

    def summary(self, machine_id: str, now_ms: int) -> dict[str, Any] | None:
        with self._lock:
            machine = self._machines.get(machine_id)
            return None if machine is None else self._summary(machine, now_ms)

    def services(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._services)

    def _summary(self, machine: MachineState, now_ms: int) -> dict[str, Any]:
        latest = machine.latest
        seen = machine.heard_ms
        alerts = sorted(machine.open_alerts.values(), key=lambda view: view["opened_at"], reverse=True)
        return {
            "machine_id": machine.machine_id,
            "profile": machine.profile,
            "online": machine.online(now_ms, self.offline_after_ms),
            "status": latest["status"] if latest else None,
            "last_seen": None if seen is None else ms_to_ts(seen),
            "latest": latest,
            "open_alerts": alerts,
            "counts": {name: max(0, machine.counts[name]) for name in ("readings", "predictive", "failure")},
            "threshold": latest["threshold"] if latest else None,
        }

    # ------------------------------------------------------------------ helpers

    def _machine(self, machine_id: str) -> MachineState:
        machine = self._machines.get(machine_id)
        if machine is None:
            machine = self._machines[machine_id] = MachineState(machine_id)
        return machine

    def _flip(self, machine: MachineState, now_ms: int) -> list[Event]:
        online = machine.online(now_ms, self.offline_after_ms)
        if online == machine.shown_online:
            return []
        machine.shown_online = online
        return [("status", {"machine_id": machine.machine_id, "online": online, "ts": ms_to_ts(now_ms)})]
