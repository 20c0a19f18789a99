"""Escalation: a critical alert nobody acknowledged in time goes again, to a second list of chats.

When a critical alert opens, the store starts watching it (due = now + the configured delay).
A cleared event or an /ack through the bot settles the watch. Every `check_s` the
:class:`Escalator` takes the watches past due and asks the API whether the alert was
acknowledged (in the dashboard, say) or cleared meanwhile; if not, it is owed to every
escalation chat. The outbox sends it like any alert, once per chat, across restarts.

When the API cannot answer, the alert is escalated anyway: a second message nobody needed
costs less than a critical alert nobody saw.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from contract import Alert
from telegram_bot.api_client import ApiError, ForewarnApi
from telegram_bot.config import Escalation
from telegram_bot.outbox import AlertOutbox, utc_now
from telegram_bot.sending import pause
from telegram_bot.store import EscalationOutcome, Store

__all__ = ["Escalator", "decide", "needs_watching"]

log = logging.getLogger(__name__)


def needs_watching(alert: Alert) -> bool:
    """Only critical alerts that open are escalated."""
    return alert.state == "open" and alert.severity == "critical"


def decide(alert_id: str, views: Sequence[Mapping[str, Any]] | None) -> EscalationOutcome:
    """What to do with a watch past due, given the API's alerts of its machine (None: no answer)."""
    if views is None:
        return "escalated"
    view = next((v for v in views if v.get("alert_id") == alert_id), None)
    if view is None:
        return "escalated"  # the API has not stored it: nobody can have acknowledged it there
    if view.get("acked_by"):
        return "acknowledged"
    if view.get("state") == "cleared":
        return "cleared"
    return "escalated"


class Escalator:
    """The task that turns watches past due into escalation deliveries."""

    def __init__(self, store: Store, api: ForewarnApi, outbox: AlertOutbox, settings: Escalation) -> None:
        self.store = store
        self.api = api
        self.outbox = outbox
        self.settings = settings
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def due(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.after_s)

    def start(self) -> None:
        if self.settings.enabled:
            self._task = asyncio.create_task(self._run(), name="escalations")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check(utc_now())
            except Exception:  # a bug or a broken store must not end escalations for good
                log.exception("checking escalations failed; trying again")
            if await pause(self.settings.check_s, self._stopping):
                return

    async def check(self, now: datetime) -> int:
        """Settle every watch past due; returns how many alerts were escalated."""
        escalated = 0
        for alert in self.store.due_escalations(now):
            outcome = decide(alert.alert_id, await self._views(alert))
            if outcome != "escalated":
                self.store.settle(alert.alert_id, outcome, now)
                log.info("alert %s on %s not escalated: %s", alert.alert_id, alert.machine_id, outcome)
                continue
            new = self.store.escalate(alert, self.settings.chat_ids, now)
            escalated += 1
            log.warning(
                "alert %s on %s unacknowledged after %.0f min: escalated to %d chats",
                alert.alert_id,
                alert.machine_id,
                self.settings.after_s / 60,
                new,
            )
        if escalated:
            self.outbox.wake()
        return escalated

    async def _views(self, alert: Alert) -> list[dict[str, Any]] | None:
        try:
            answer = await self.api.alerts("all", alert.machine_id)
        except ApiError as exc:
            log.warning("cannot ask the API about alert %s (%s): escalating it", alert.alert_id, exc)
            return None
        views = answer.get("alerts")
        return [v for v in views if isinstance(v, dict)] if isinstance(views, list) else None
