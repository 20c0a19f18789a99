"""What to send a chat next, and when (pure).

A chat with a few pending alert events gets one message each; with more than
`digest_over` pending (a burst, or a backlog built up while Telegram asked us to wait)
it gets one digest listing them. Messages to one chat are paced by :class:`ChatPace`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from telegram_bot.store import Delivery

__all__ = ["ChatPace", "Digest", "Single", "plan_next", "split_muted"]


@dataclass(frozen=True, slots=True)
class Single:
    """Send one alert event on its own."""

    delivery: Delivery


@dataclass(frozen=True, slots=True)
class Digest:
    """Send one message listing several alert events."""

    deliveries: tuple[Delivery, ...]


def plan_next(pending: Sequence[Delivery], digest_over: int) -> Single | Digest | None:
    """The next message for a chat's pending deliveries (oldest first); None when none."""
    if not pending:
        return None
    if len(pending) > digest_over:
        return Digest(tuple(pending))
    return Single(pending[0])


def split_muted(pending: Sequence[Delivery], muted: set[str]) -> tuple[list[Delivery], list[Delivery]]:
    """(to send, to suppress) given the machines muted in the chat."""
    send = [d for d in pending if d.alert.machine_id not in muted]
    return send, [d for d in pending if d.alert.machine_id in muted]


class ChatPace:
    """At most one message per `min_gap_s` and `max_per_minute` in any minute, for one chat."""

    def __init__(self, min_gap_s: float, max_per_minute: int) -> None:
        self.min_gap_s = min_gap_s
        self.max_per_minute = max_per_minute
        self._sent: deque[float] = deque()

    def wait_s(self, now: float) -> float:
        """Seconds to wait before the next message may go (0 when it may go now)."""
        while self._sent and self._sent[0] <= now - 60:
            self._sent.popleft()
        if not self._sent:
            return 0.0
        wait = self._sent[-1] + self.min_gap_s - now
        if len(self._sent) >= self.max_per_minute:
            wait = max(wait, self._sent[0] + 60 - now)
        return max(wait, 0.0)

    def record(self, now: float) -> None:
        """Note a message sent at `now` (a monotonic clock reading)."""
        self._sent.append(now)
