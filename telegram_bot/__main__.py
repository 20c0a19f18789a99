"""Run the Telegram bot.

    TELEGRAM_BOT_TOKEN=123:abc TELEGRAM_ALLOWED_CHAT_IDS=123456789 python -m telegram_bot

Without TELEGRAM_BOT_TOKEN it says how to enable it and exits 0, so `make up` can always
start it. Other settings (see telegram_bot/config.py and telegram_bot/README.md):
TELEGRAM_API_BASE_URL, FOREWARN_API_URL, FOREWARN_API_TOKEN, FOREWARN_DASHBOARD_URL and the
shared FOREWARN_MQTT_* settings (user `telegram-bot`, role viewer).
"""

from __future__ import annotations

import asyncio
import os
import signal

from telegram.error import InvalidToken

from common.logs import setup_logging
from common.settings import ConfigError, run_cli
from telegram_bot import config
from telegram_bot.bot import run_bot

HOW_TO_ENABLE = (
    "telegram bot: off (set TELEGRAM_BOT_TOKEN and TELEGRAM_ALLOWED_CHAT_IDS, in the environment "
    "or .env, to enable it; see telegram_bot/README.md)"
)


def main() -> int:
    # Opt in to python-telegram-bot 23's timedelta `retry_after` (sending.py reads both forms),
    # which also silences PTB 22's deprecation warning on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    token = config.bot_token()
    if token is None:
        print(HOW_TO_ENABLE)
        return 0
    cfg = config.load(token)
    log = setup_logging(config.SERVICE)
    if not cfg.allowed_chat_ids:
        log.warning("TELEGRAM_ALLOWED_CHAT_IDS is empty: the bot answers no one and sends alerts nowhere")
    try:
        asyncio.run(_serve(cfg))
    except InvalidToken:
        raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN; check it with BotFather") from None
    return 0


async def _serve(cfg: config.BotConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_bot(cfg, stop)


if __name__ == "__main__":
    run_cli(main)
