"""send_with_retry against the fake Bot API: waits, backs off, falls back, or gives up clearly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import BadRequest

from telegram_bot.sending import RetryPolicy, send_with_retry
from tests.fakes.telegram_api import Failure, FakeTelegram

FAST = RetryPolicy(base_s=0.01, max_s=0.05)


@pytest.fixture
def telegram(monkeypatch) -> Iterator[FakeTelegram]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    with FakeTelegram() as fake:
        yield fake


def _send(telegram: FakeTelegram, text: str, policy: RetryPolicy = FAST) -> str:
    async def go() -> str:
        async with Bot(telegram.token, base_url=telegram.base_url) as bot:
            message = await send_with_retry(bot, 42, text, policy)
            return str(message.text)

    return asyncio.run(go())


def test_errors_are_retried_until_the_message_goes_once(telegram):
    telegram.fail_next("sendMessage", Failure(429, retry_after=1), Failure(500), Failure(502))
    assert _send(telegram, "<b>hello</b>") == "hello"
    assert len(telegram.calls("sendMessage")) == 4
    assert [m.text for m in telegram.messages_to(42)] == ["hello"]


def test_a_bounded_policy_gives_up_with_a_clear_error(telegram):
    telegram.fail_next("sendMessage", *[Failure(500)] * 5)
    with pytest.raises(TimeoutError, match="gave up sending to chat 42 after 3 attempts"):
        _send(telegram, "x", RetryPolicy(base_s=0.01, max_s=0.01, attempts=3))
    assert telegram.messages_to(42) == []


def test_html_telegram_cannot_parse_goes_out_as_plain_text(telegram):
    assert _send(telegram, "<b>unclosed & raw") == "unclosed & raw"
    assert telegram.messages_to(42)[0].parse_mode is None


def test_a_permanent_refusal_is_raised_not_retried(telegram):
    telegram.fail_next("sendMessage", Failure(400, description="Bad Request: chat not found"))
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        _send(telegram, "x")
    assert len(telegram.calls("sendMessage")) == 1
