"""The bot's handlers: one per command, the allow-list gate, alert events and errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from contract import InvalidName, validate_name
from telegram_bot.api_client import ApiError, ForewarnApi, NotFoundError
from telegram_bot.config import Escalation
from telegram_bot.escalation import needs_watching
from telegram_bot.mqtt_feed import AlertEvent, AlertFeed
from telegram_bot.outbox import AlertOutbox, utc_now
from telegram_bot.replies import alerts_reply, help_reply, machine_reply, mutes_reply, status_reply
from telegram_bot.sending import RetryPolicy, send_with_retry
from telegram_bot.store import Store
from telegram_bot.text import esc
from telegram_bot.verdicts import CALLBACK_PATTERN, parse_callback, verdict_keyboard, verdict_line, with_verdict

__all__ = ["MAX_MUTE_MINUTES", "BotHandlers"]

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
MAX_MUTE_MINUTES = 7 * 24 * 60
MAINTENANCE_ACTIONS = ("tool_replaced", "repaired", "inspected", "other")


class BotHandlers:
    """Handlers bound to the bot's store, API client, outbox and MQTT feed."""

    def __init__(
        self,
        store: Store,
        api: ForewarnApi,
        *,
        outbox: AlertOutbox,
        feed: AlertFeed,
        allowed_chat_ids: frozenset[int],
        dashboard_url: str,
        escalation: Escalation | None = None,
    ) -> None:
        self.store = store
        self.api = api
        self.outbox = outbox
        self.feed = feed
        self.escalation = escalation or Escalation()
        self.alert_chats = allowed_chat_ids  # every alert event goes to these
        # Commands are answered in these and the escalation chats (who must be able to /ack).
        self.allowed = allowed_chat_ids | self.escalation.chat_ids
        self.dashboard_url = dashboard_url
        # A reply is not durable like an alert: a few tries, then the person asks again.
        self.reply_policy = RetryPolicy(base_s=1.0, max_s=10.0, attempts=4)

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add every handler; the gate runs first (group -1) and stops strangers' updates."""
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        allowed = filters.Chat(chat_id=self.allowed)
        commands: dict[str, Callback] = {
            "start": self.help,
            "help": self.help,
            "status": self.status,
            "machine": self.machine,
            "alerts": self.alerts,
            "ack": self.ack,
            "mute": self.mute,
            "unmute": self.unmute,
            "maintenance": self.maintenance,
            "snooze": self.snooze,
        }
        for name, callback in commands.items():
            application.add_handler(CommandHandler(name, callback, filters=allowed))
        application.add_handler(CallbackQueryHandler(self.on_verdict_button, pattern=CALLBACK_PATTERN))
        application.add_handler(MessageHandler(filters.COMMAND & allowed, self.unknown))
        application.add_handler(TypeHandler(AlertEvent, self.on_alert))
        application.add_error_handler(self.on_error)

    async def gate(self, update: Update, _context: Context) -> None:
        """Let allowed chats through; log any other update without its text, and stop it."""
        chat = update.effective_chat
        if chat is not None and chat.id in self.allowed:
            return
        log.warning(
            "ignored update %d from chat %s (%s): not in TELEGRAM_ALLOWED_CHAT_IDS",
            update.update_id,
            chat.id if chat else "none",
            chat.type if chat else "no chat",
        )
        raise ApplicationHandlerStop

    async def help(self, update: Update, context: Context) -> None:
        """/start and /help: what the bot does and its commands."""
        await self._reply(update, context, help_reply(self.dashboard_url))

    async def status(self, update: Update, context: Context) -> None:
        """/status: every machine, counts by state."""
        try:
            text = status_reply(await self.api.machines())
        except ApiError as exc:
            text = f"Cannot get the status: {esc(exc)}"
        await self._reply(update, context, text)

    async def machine(self, update: Update, context: Context) -> None:
        """/machine ID: one machine's latest values, status, probability and open alerts."""
        machine_id = await self._machine_arg(update, context, "/machine ID")
        if machine_id is None:
            return
        try:
            machine = await self.api.machine(machine_id)
            text = machine_reply(machine, self.dashboard_url, await self.api.machine_profile(machine))
        except NotFoundError:
            text = f"No machine <b>{esc(machine_id)}</b> is known. /status lists them."
        except ApiError as exc:
            text = f"Cannot get {esc(machine_id)}: {esc(exc)}"
        await self._reply(update, context, text)

    async def alerts(self, update: Update, context: Context) -> None:
        """/alerts: the open alerts."""
        try:
            text = alerts_reply(await self.api.alerts("open"))
        except ApiError as exc:
            text = f"Cannot get the alerts: {esc(exc)}"
        await self._reply(update, context, text)

    async def ack(self, update: Update, context: Context) -> None:
        """/ack ALERT_ID: acknowledge an alert through the API, in the sender's name."""
        args = context.args or []
        if len(args) != 1:
            await self._reply(update, context, "Usage: /ack ALERT_ID (/alerts lists them)")
            return
        who = _who(update)
        try:
            view = await self.api.ack(args[0], by=who)
            self.store.settle(args[0], "acknowledged", utc_now())
            machine = esc(view.get("machine_id"))
            text = f"✅ Alert <code>{esc(args[0])}</code> on <b>{machine}</b> acknowledged by {esc(who)}"
        except NotFoundError:
            text = f"No alert <code>{esc(args[0])}</code>. /alerts lists the open ones."
        except ApiError as exc:
            text = f"Cannot acknowledge: {esc(exc)}"
        await self._reply(update, context, text)

    async def mute(self, update: Update, context: Context) -> None:
        """/mute ID MINUTES: no alert messages for that machine in this chat for a while."""
        chat_id = _chat_id(update)
        args = context.args or []
        if not args:
            await self._reply(update, context, mutes_reply(self.store.mutes(chat_id, utc_now())))
            return
        minutes = _minutes(args[1]) if len(args) == 2 else None
        if minutes is None:
            usage = f"Usage: /mute ID MINUTES (MINUTES from 1 to {MAX_MUTE_MINUTES})"
            await self._reply(update, context, usage)
            return
        machine_id = await self._machine_arg(update, context, "/mute ID MINUTES", args[:1])
        if machine_id is None:
            return
        until = utc_now() + timedelta(minutes=minutes)
        self.store.mute(chat_id, machine_id, until)
        name = esc(machine_id)
        text = f"🔕 Alerts of <b>{name}</b> are muted in this chat until {until:%Y-%m-%d %H:%M} UTC."
        await self._reply(update, context, f"{text}\n/unmute {name} to hear them again.")

    async def unmute(self, update: Update, context: Context) -> None:
        """/unmute ID: alert messages for that machine again."""
        machine_id = await self._machine_arg(update, context, "/unmute ID")
        if machine_id is None:
            return
        if self.store.unmute(_chat_id(update), machine_id):
            text = f"🔔 Alerts of <b>{esc(machine_id)}</b> are back on in this chat."
        else:
            text = f"<b>{esc(machine_id)}</b> was not muted in this chat."
        await self._reply(update, context, text)

    async def maintenance(self, update: Update, context: Context) -> None:
        """/maintenance MACHINE ACTION [note]: log what was done, in the sender's name."""
        args = context.args or []
        usage = f"Usage: /maintenance MACHINE ACTION [note] (ACTION: {', '.join(MAINTENANCE_ACTIONS)})"
        if len(args) < 2 or args[1] not in MAINTENANCE_ACTIONS:
            await self._reply(update, context, esc(usage))
            return
        machine_id = await self._machine_arg(update, context, usage, args[:1])
        if machine_id is None:
            return
        note = " ".join(args[2:]) or None
        who = _who(update)
        try:
            entry = await self.api.maintenance(machine_id, args[1], note, who)
            action = args[1].replace("_", " ")
            text = f"🛠 Logged on <b>{esc(machine_id)}</b>: {esc(action)} by {esc(who)} at {esc(entry.get('at'))}"
        except ApiError as exc:
            text = f"Cannot log the maintenance: {esc(exc)}"
        await self._reply(update, context, text)

    async def snooze(self, update: Update, context: Context) -> None:
        """/snooze machine ID MINUTES or /snooze alert ALERT_ID MINUTES: alerts recorded, not notified
        (here, in every chat and by the webhooks); /snooze alone lists those in force."""
        args = context.args or []
        usage = f"Usage: /snooze machine ID MINUTES, or /snooze alert ALERT_ID MINUTES (1 to {MAX_MUTE_MINUTES})"
        try:
            if not args:
                await self._reply(update, context, _snoozes_text(await self.api.snoozes()))
                return
            minutes = _minutes(args[2]) if len(args) == 3 else None
            if args[0] not in ("machine", "alert") or minutes is None:
                await self._reply(update, context, esc(usage))
                return
            target = args[1] if args[0] == "alert" else await self._machine_arg(update, context, usage, args[1:2])
            if target is None:
                return
            snoozed = await self.api.snooze(args[0], target, minutes, _who(update))
            what, until = f"{args[0].capitalize()} <code>{esc(target)}</code>", esc(snoozed.get("until"))
            text = f"😴 {what} snoozed until {until}: alerts recorded, not sent."
        except ApiError as exc:
            text = f"Cannot snooze: {esc(exc)}"
        await self._reply(update, context, text)

    async def on_verdict_button(self, update: Update, _context: Context) -> None:
        """A verdict button under an alert: record it through the API, say who decided what."""
        query = update.callback_query
        if query is None:
            return
        parsed = parse_callback(query.data)
        if parsed is None:
            await query.answer("Unknown button", show_alert=False)
            return
        verdict, alert_id = parsed
        who = _who(update)
        try:
            stored = await self.api.verdict(alert_id, verdict, who)
        except NotFoundError:
            await query.answer(f"No alert {alert_id[:64]}: it is not stored (any more)", show_alert=True)
            return
        except ApiError as exc:
            await query.answer(f"Not recorded: {str(exc)[:150]}", show_alert=True)
            return
        line = verdict_line(verdict, who, stored.get("mode"))
        message = query.message
        if isinstance(message, Message) and message.text:
            try:
                await query.edit_message_text(
                    with_verdict(message.text_html, line), reply_markup=verdict_keyboard(alert_id)
                )
            except TelegramError as exc:  # recorded anyway: the message just does not show it
                log.warning("could not edit the alert message of %s: %s", alert_id, exc)
        await query.answer(f"Recorded: {verdict.replace('_', ' ')}")

    async def unknown(self, update: Update, context: Context) -> None:
        """Any other command: point at /help."""
        await self._reply(update, context, "I do not know that command. /help lists what I can do.")

    async def on_alert(self, event: AlertEvent, _context: Context) -> None:
        """An alert event from MQTT: record what each chat is owed (and what to escalate), then acknowledge it."""
        now = utc_now()
        new = self.store.enqueue(event.alert, self.alert_chats, now)
        if self.escalation.enabled and needs_watching(event.alert):
            self.store.watch(event.alert, now + timedelta(seconds=self.escalation.after_s))
        elif event.alert.state == "cleared":
            self.store.settle(event.alert.alert_id, "cleared", now)
        self.feed.ack(event)
        log.info(
            "alert %s %s on %s: %d new deliveries",
            event.alert.alert_id,
            event.alert.state,
            event.alert.machine_id,
            new,
        )
        if new:
            self.outbox.wake()

    async def on_error(self, update: object, context: Context) -> None:
        """Log any handler's failure (without message text) and tell the chat, if allowed."""
        log.error("handling a %s failed", type(update).__name__, exc_info=context.error)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is not None and chat.id in self.allowed:
            try:
                await context.bot.send_message(chat.id, "Sorry, that failed; the bot's log says why.")
            except Exception:  # the chat may be what failed; the log line above is enough
                log.debug("could not report the error to the chat", exc_info=True)

    async def _machine_arg(
        self, update: Update, context: Context, usage: str, args: list[str] | None = None
    ) -> str | None:
        args = (context.args or []) if args is None else args
        if len(args) != 1:
            await self._reply(update, context, f"Usage: {usage}")
            return None
        try:
            return validate_name(args[0])
        except InvalidName:
            await self._reply(update, context, f"<code>{esc(args[0][:64])}</code> is not a machine id.")
            return None

    async def _reply(self, update: Update, context: Context, text: str) -> None:
        await send_with_retry(context.bot, _chat_id(update), text, self.reply_policy)


def _chat_id(update: Update) -> int:
    if update.effective_chat is None:
        raise ValueError("update without a chat")
    return update.effective_chat.id


def _who(update: Update) -> str:
    """The sender as the API records who acknowledged: their name, else @username (64 at most)."""
    user = update.effective_user
    if user is None:
        return "telegram"
    name = user.full_name.strip() or (f"@{user.username}" if user.username else f"telegram user {user.id}")
    return name[:64]


def _snoozes_text(snoozes: list[dict[str, Any]]) -> str:
    if not snoozes:
        return "Nothing is snoozed. /snooze machine ID MINUTES to snooze a machine's alerts."
    lines = ["😴 Snoozed (alerts recorded, not sent):"]
    for snooze in snoozes:
        what = f"machine {snooze.get('machine_id')}" if snooze.get("machine_id") else f"alert {snooze.get('alert_id')}"
        lines.append(
            f"{esc(what)} until {esc(snooze.get('until'))}" + (f" by {esc(snooze['by'])}" if snooze.get("by") else "")
        )
    return "\n".join(lines)


def _minutes(raw: str) -> int | None:
    try:
        minutes = int(raw)
    except ValueError:
        return None
    return minutes if 1 <= minutes <= MAX_MUTE_MINUTES else None
