"""Delivers the store's pending alert events to every allowed chat, one task per chat.

A chat's task wakes when new deliveries are recorded, waits a short batch window so a
burst can become one digest, then sends until nothing is pending: muted machines, and alert
events a snooze or a maintenance window of the API silences (GET /api/silences; when the API
cannot say, the event is sent), are marked `muted`; each message is marked done only after
Telegram accepted it. A single open alert carries the inline verdict buttons (verdicts.py).
A chat waiting out a 429 or a backoff does not hold up the other chats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from telegram import Bot
from telegram.error import TelegramError

from contract import Alert
from telegram_bot.alert_text import alert_message, digest_message, escalation_message
from telegram_bot.api_client import ApiError, ForewarnApi, NotFoundError
from telegram_bot.config import Pacing
from telegram_bot.planner import ChatPace, Digest, Single, plan_next, split_muted
from telegram_bot.sending import RetryPolicy, StoppedError, pause, send_with_retry
from telegram_bot.store import Delivery, Outcome, Store
from telegram_bot.verdicts import verdict_keyboard

__all__ = ["AlertOutbox", "AlertRenderer", "Render"]

log = logging.getLogger(__name__)


class Render(Protocol):
    """One alert event as a message's text (`escalated`: sent again because nobody acknowledged it)."""

    async def __call__(self, alert: Alert, *, escalated: bool = False) -> str: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlertRenderer:
    """Renders one alert event, with the readings of its prediction fetched from the API."""

    def __init__(
        self, api: ForewarnApi, dashboard_url: str, cache_size: int = 256, escalate_after_s: float = 0.0
    ) -> None:
        self.api = api
        self.dashboard_url = dashboard_url
        self.escalate_after_s = escalate_after_s
        self._cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size

    async def __call__(self, alert: Alert, *, escalated: bool = False) -> str:
        prediction = await self.prediction(alert) if alert.state == "open" else None
        profile = await self.profile(alert, prediction)
        if escalated:
            return escalation_message(alert, prediction, self.dashboard_url, self.escalate_after_s, profile)
        return alert_message(alert, prediction, self.dashboard_url, profile)

    async def profile(self, alert: Alert, prediction: dict[str, Any] | None) -> dict[str, Any] | None:
        """The machine's profile (names its fields and modes); None when nobody can say."""
        if alert.profile:
            return await self.api.machine_profile({"profile": alert.profile})
        if prediction is not None and prediction.get("profile"):
            return await self.api.machine_profile(prediction)
        try:
            return await self.api.machine_profile(await self.api.machine(alert.machine_id))
        except ApiError as exc:
            log.info("alert %s goes without its profile: %s", alert.alert_id, exc)
            return None

    async def prediction(self, alert: Alert) -> dict[str, Any] | None:
        """The alert's prediction, else the machine's latest one; None when the API cannot say."""
        key = (alert.machine_id, alert.reading_id)
        if key not in self._cache:
            found = await self._fetch(alert)
            if found is None:
                return None
            self._cache[key] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return self._cache[key]

    async def _fetch(self, alert: Alert) -> dict[str, Any] | None:
        try:
            try:
                return await self.api.prediction(alert.machine_id, alert.reading_id)
            except NotFoundError:  # not stored yet: the machine's latest prediction is the next best
                latest = (await self.api.machine(alert.machine_id)).get("latest")
                return latest if isinstance(latest, dict) else None
        except ApiError as exc:
            log.info("alert %s goes without readings: %s", alert.alert_id, exc)
            return None


class AlertOutbox:
    """One sending task per allowed chat, draining the store's pending deliveries."""

    def __init__(
        self,
        store: Store,
        bot: Bot,
        *,
        chat_ids: Iterable[int],
        pacing: Pacing,
        render: Render,
        dashboard_url: str,
        api: ForewarnApi | None = None,
    ) -> None:
        self.store = store
        self.api = api  # asked about snoozes and maintenance windows; None: nothing is silenced
        self.bot = bot
        self.pacing = pacing
        self.render = render
        self.dashboard_url = dashboard_url
        self.policy = RetryPolicy(pacing.retry_base_s, pacing.retry_max_s)
        self._wakes = {chat: asyncio.Event() for chat in chat_ids}
        self._paces = {chat: ChatPace(pacing.min_gap_s, pacing.max_per_minute) for chat in self._wakes}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._silence_answers: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def start(self) -> None:
        """Start the chat tasks; whatever a previous run left pending goes out first."""
        self._tasks = [asyncio.create_task(self._run(chat), name=f"outbox-{chat}") for chat in self._wakes]
        self.wake()

    def wake(self) -> None:
        """New deliveries were recorded: let every chat's task look."""
        for event in self._wakes.values():
            event.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop sending; pending deliveries stay in the store for the next run.

        A request already on its way is let finish and recorded (cancelling it could send
        the message twice); waits and backoffs end at once.
        """
        self._stopping.set()
        self.wake()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self, chat_id: int) -> None:
        wake = self._wakes[chat_id]
        while not self._stopping.is_set():
            await wake.wait()
            wake.clear()
            if await pause(self.pacing.batch_window_s, self._stopping):
                return
            try:
                await self._drain(chat_id)
            except StoppedError:
                return
            except Exception:  # a bug or a broken store must not end this chat's deliveries
                log.exception("delivering alerts to chat %d failed; trying again later", chat_id)
                if await pause(self.pacing.retry_max_s, self._stopping):
                    return
                wake.set()

    async def _drain(self, chat_id: int) -> None:
        pace = self._paces[chat_id]
        while not await pause(pace.wait_s(time.monotonic()), self._stopping):
            now = utc_now()
            muted_machines = {machine for machine, _ in self.store.mutes(chat_id, now)}
            pending, muted = split_muted(self.store.pending(chat_id), muted_machines)
            silenced = await self._silenced(pending)
            if silenced:
                muted += [d for d in pending if d.seq in silenced]
                pending = [d for d in pending if d.seq not in silenced]
            if muted:
                self.store.mark([d.seq for d in muted], "muted", now)
            plan = plan_next(pending, self.pacing.digest_over)
            if plan is None:
                return
            await self._send(chat_id, plan)
            pace.record(time.monotonic())

    async def _silenced(self, pending: list[Delivery]) -> set[int]:
        """The deliveries a snooze or a maintenance window silences, asked once per alert event."""
        if self.api is None:
            return set()
        found: set[int] = set()
        for delivery in pending:
            alert = delivery.alert
            key = (alert.alert_id, alert.state)
            if key not in self._silence_answers:
                try:
                    self._silence_answers[key] = await self.api.silenced(alert.machine_id, alert.alert_id)
                except ApiError as exc:  # the API cannot say: better a message too many than a missed alert
                    log.warning("cannot ask the API about silences (%s): alert %s is sent", exc, alert.alert_id)
                    self._silence_answers[key] = False
                while len(self._silence_answers) > 4096:
                    self._silence_answers.popitem(last=False)
            if self._silence_answers[key]:
                found.add(delivery.seq)
        return found

    async def _send(self, chat_id: int, plan: Single | Digest) -> None:
        seqs, outcome, text = await self._message(plan)
        keyboard = None  # verdict buttons only under a single open alert
        if isinstance(plan, Single) and plan.delivery.alert.state == "open":
            keyboard = verdict_keyboard(plan.delivery.alert.alert_id)
        try:
            await send_with_retry(self.bot, chat_id, text, self.policy, self._stopping, reply_markup=keyboard)
        except TelegramError as exc:  # refused for good (bot blocked, chat gone, bad request)
            log.error("chat %d refused an alert message (%s); %d marked failed", chat_id, exc, len(seqs))
            self.store.mark(seqs, "failed", utc_now())
            return
        self.store.mark(seqs, outcome, utc_now())
        log.info(
            "chat %d: %s delivered (%d alert events)",
            chat_id,
            "digest" if outcome == "digest" else "alert",
            len(seqs),
        )

    async def _message(self, plan: Single | Digest) -> tuple[list[int], Outcome, str]:
        if isinstance(plan, Single):
            return (
                [plan.delivery.seq],
                "sent",
                await self.render(plan.delivery.alert, escalated=plan.delivery.escalated),
            )
        alerts = [d.alert for d in plan.deliveries]
        escalated = {d.alert.alert_id for d in plan.deliveries if d.escalated}
        text, covered = digest_message(alerts, self.dashboard_url, len(alerts), escalated)
        return [d.seq for d in plan.deliveries[:covered]], "digest", text
