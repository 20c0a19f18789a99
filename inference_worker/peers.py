"""Which other workers are online, from the service statuses they keep retained.

A worker stopping for good leaves the readings' share group only while another worker stays
in it: Mosquitto drops a shared subscription's messages when the group has no member at
all, so the last worker online keeps its session (and its place in the group) instead, and
the readings queue for it. See Worker._shut_down.
"""

from __future__ import annotations

from contract import Status

WORKER_PREFIX = "inference-worker-"  # every worker's service name (inference_worker/config.py)


class Peers:
    """The last state each other worker announced (`online`, or `offline` and its last will)."""

    def __init__(self, me: str) -> None:
        self.me = me
        self._states: dict[str, str] = {}

    def saw(self, service: str, payload: bytes) -> None:
        """A status message of `service`; anything but a worker's valid status is ignored."""
        if service == self.me or not service.startswith(WORKER_PREFIX):
            return
        try:
            state = Status.from_json(payload).state
        except (ValueError, TypeError, AttributeError):
            return  # a malformed status says nothing about that worker
        if state in ("online", "offline"):
            self._states[service] = state

    def online(self) -> list[str]:
        return sorted(name for name, state in self._states.items() if state == "online")
