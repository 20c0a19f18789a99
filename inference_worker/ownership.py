"""Which worker scores which machine of a windowed profile; no I/O.

Rolling windows (model/windows.py) need every reading of a machine, in order, in one place.
A shared subscription deals a machine's readings round-robin across the workers of the
group, so a machine of a windowed profile is routed to one worker instead: its owner,
chosen by rendezvous hashing of the machine id over the workers online (their stable ids,
inference-worker-<FOREWARN_WORKER_ID>). The owner subscribes to that machine's readings
topic without sharing it; every worker drops the copies the share group deals it of a
routed machine. Machines of other profiles keep the share group.

Rendezvous hashing: each worker scores (worker, machine) with a hash and the highest score
owns the machine. When a worker joins or leaves, only the machines it gains or loses move
(about 1/n of them); the others keep their owner and their windows. A machine that moves
starts its windows again at its new owner (windows are per-worker memory).

Handing over: the new owner subscribes at once; the old one keeps its subscription for
`grace_s` more, so no reading falls between the two (one published meanwhile may be scored
by both: the API keeps the first prediction of a reading).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from contract import Profile

__all__ = ["Ownership", "owner_of", "routed"]


def routed(profile: Profile) -> bool:
    """Whether machines of `profile` keep per-machine windows, so that one worker must score each."""
    model = profile.model
    return model.kind != "classifier" or model.windowed


def owner_of(machine_id: str, workers: Iterable[str]) -> str:
    """The worker that owns `machine_id` among `workers` (rendezvous hashing; stable for a given set)."""
    return max(workers, key=lambda worker: _score(worker, machine_id))


def _score(worker: str, machine_id: str) -> bytes:
    return hashlib.blake2b(f"{worker}\x00{machine_id}".encode(), digest_size=8).digest()


class Ownership:
    """The routed machines this worker owns, and the changes to make to its subscriptions."""

    def __init__(self, me: str, grace_s: float = 2.0) -> None:
        self.me = me
        self.grace_s = grace_s
        self.owned: set[str] = set()
        self._leaving: dict[str, float] = {}  # machine -> when its subscription ends

    def plan(self, machines: Iterable[str], peers: Iterable[str], now: float) -> tuple[list[str], list[str]]:
        """(machines to subscribe to, machines to unsubscribe from) for the routed `machines` and the peers online."""
        workers = sorted({self.me, *peers})
        wanted = {machine for machine in machines if owner_of(machine, workers) == self.me}
        subscribe = sorted(wanted - self.owned)
        self.owned |= wanted
        for machine in wanted:
            self._leaving.pop(machine, None)
        for machine in self.owned - wanted:
            self._leaving.setdefault(machine, now + self.grace_s)
        unsubscribe = sorted(machine for machine, until in self._leaving.items() if until <= now)
        for machine in unsubscribe:
            del self._leaving[machine]
            self.owned.discard(machine)
        return subscribe, unsubscribe
