"""sendMessage with Telegram's errors handled: wait on 429, back off on 5xx and network errors.

Our own loop rather than python-telegram-bot's AIORateLimiter: that one needs the extra
`aiolimiter` dependency and only retries 429s, while alerts must also survive 5xx and
network errors, and the pacing per chat lives in the outbox, which knows the alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import random
import re
import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

__all__ = ["RetryPolicy", "StoppedError", "pause", "plain_text", "retry_after_s", "send_with_retry"]

log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for 5xx and network errors; `attempts` None means until it works."""

    base_s: float = 1.0
    max_s: float = 60.0
    attempts: int | None = None

    def delay_s(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many bots do not retry in lockstep."""
        ceiling = min(self.base_s * 2.0 ** (attempt - 1), self.max_s)
        return float(ceiling * random.uniform(0.5, 1.0))


def retry_after_s(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 returns int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's deprecation notice about the int form
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class StoppedError(Exception):
    """The bot is stopping: no new attempt was started (one in flight is always finished)."""


async def send_with_retry(
    bot: Bot,
    chat_id: int,
    text: str,
    policy: RetryPolicy,
    stopping: asyncio.Event | None = None,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send an HTML message; permanent refusals (BadRequest, Forbidden, ...) are raised.

    `stopping` ends the retries between attempts (raising StoppedError), never during a request:
    a request cut short might have reached Telegram, and the message would go out twice.
    """
    attempt = 0
    parse_mode: str | None = ParseMode.HTML
    while True:
        if stopping is not None and stopping.is_set():
            raise StoppedError(f"not sending to chat {chat_id}: stopping")
        attempt += 1
        try:
            return await bot.send_message(chat_id, text, parse_mode=parse_mode, reply_markup=reply_markup)
        except RetryAfter as exc:
            delay = retry_after_s(exc)
            log.warning("Telegram asks to wait %.1f s before writing to chat %d", delay, chat_id)
        except BadRequest as exc:
            if parse_mode is None or "parse entities" not in exc.message:
                raise
            log.error("Telegram could not parse our HTML (%s); sending plain text", exc.message)
            text, parse_mode, delay = plain_text(text), None, 0.0
        except (NetworkError, InvalidToken) as exc:  # 5xx, timeouts, connection errors
            delay = policy.delay_s(attempt)
            log.warning("sending to chat %d failed (%s); retry %d in %.1f s", chat_id, exc, attempt, delay)
        if policy.attempts is not None and attempt >= policy.attempts:
            raise TimeoutError(f"gave up sending to chat {chat_id} after {attempt} attempts")
        await pause(delay, stopping)


async def pause(seconds: float, stopping: asyncio.Event | None) -> bool:
    """Sleep `seconds`, or less if `stopping` is set meanwhile; True when stopping."""
    if stopping is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), max(seconds, 0.0))
    return stopping.is_set()


def plain_text(text: str) -> str:
    """The HTML message as plain text, for the fallback above."""
    return html.unescape(_TAG.sub("", text))
