"""Wires the bot together and runs it: Telegram polling, the MQTT alert feed, the outbox.

    stop = asyncio.Event()
    await run_bot(config, stop)   # returns after stop.set(), everything closed

The token is kept out of the logs from the first line on (see redact.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from telegram_bot.api_client import ForewarnApi
from telegram_bot.config import BotConfig
from telegram_bot.escalation import Escalator
from telegram_bot.handlers import BotHandlers
from telegram_bot.mqtt_feed import AlertFeed
from telegram_bot.outbox import AlertOutbox, AlertRenderer, utc_now
from telegram_bot.redact import install_redactor
from telegram_bot.replies import menu
from telegram_bot.sending import RetryPolicy
from telegram_bot.store import Store

__all__ = ["build_application", "run_bot"]

log = logging.getLogger(__name__)
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(config: BotConfig) -> AnyApplication:
    """The python-telegram-bot Application, pointed at the configured Bot API server."""
    defaults = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
    return (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.telegram_base_url)
        .base_file_url(config.telegram_file_url)
        .defaults(defaults)
        .build()
    )


async def run_bot(config: BotConfig, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set; a refused token raises telegram.error.InvalidToken."""
    remove_redactor = install_redactor(config.token)
    store = Store(config.state_dir / "bot.sqlite3")
    api = ForewarnApi(config.api_url, config.api_token)
    try:
        pruned = store.prune(utc_now())
        chats = sorted(config.allowed_chat_ids) or "none"
        log.info("allowed chats: %s; %d old deliveries pruned", chats, pruned)
        if config.escalation.enabled:
            after = config.escalation.after_s / 60
            log.info("critical alerts unacknowledged for %g min go to %s", after, sorted(config.escalation.chat_ids))
        await _run(config, stop, store, api)
    finally:
        await api.close()
        store.close()
        remove_redactor()


async def _run(config: BotConfig, stop: asyncio.Event, store: Store, api: ForewarnApi) -> None:
    application = build_application(config)
    renderer = AlertRenderer(api, config.dashboard_url, escalate_after_s=config.escalation.after_s)
    outbox = AlertOutbox(
        store,
        application.bot,
        chat_ids=config.chat_ids,
        pacing=config.pacing,
        render=renderer,
        dashboard_url=config.dashboard_url,
        api=api,
    )
    feed = AlertFeed(config.mqtt, config.topics, application.update_queue)
    escalator = Escalator(store, api, outbox, config.escalation)
    handlers = BotHandlers(
        store,
        api,
        outbox=outbox,
        feed=feed,
        allowed_chat_ids=config.allowed_chat_ids,
        dashboard_url=config.dashboard_url,
        escalation=config.escalation,
    )
    handlers.register(application)
    policy = RetryPolicy(config.pacing.retry_base_s, config.pacing.retry_max_s)
    if not await _initialize(application, stop, policy):
        return
    try:
        await _start(application, config)
        outbox.start()
        escalator.start()
        feed.start(asyncio.get_running_loop())
        log.info("bot @%s is running", application.bot.username)
        await stop.wait()
    finally:
        await escalator.stop()
        await _stop(application, outbox, feed)


async def _initialize(application: AnyApplication, stop: asyncio.Event, policy: RetryPolicy) -> bool:
    """getMe until Telegram answers (a network outage at start is not fatal); False if stopped."""
    attempt = 0
    while not stop.is_set():
        try:
            await application.initialize()
            return True
        except NetworkError as exc:
            attempt += 1
            delay = policy.delay_s(attempt)
            log.warning("Telegram unreachable at start (%s); retry in %.1f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return False


async def _start(application: AnyApplication, config: BotConfig) -> None:
    try:
        await application.bot.set_my_commands([BotCommand(name, text) for name, text in menu()])
    except TelegramError as exc:  # the menu is a convenience; the commands work without it
        log.warning("could not register the command menu: %s", exc)
    await application.start()
    assert application.updater is not None  # built by ApplicationBuilder
    await application.updater.start_polling(
        timeout=config.poll_timeout_s, allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY], bootstrap_retries=-1
    )


async def _stop(application: AnyApplication, outbox: AlertOutbox, feed: AlertFeed) -> None:
    """Stop taking alerts first; anything not yet recorded stays unacknowledged at the broker."""
    await asyncio.to_thread(feed.stop)
    await outbox.stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
