"""Run the Telegram bot in-process against the fake Bot API and a real broker, for tests."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from broker.local import LocalBroker, free_port
from common.mqtt import connect_client, create_client, wait_connected
from contract import Alert
from telegram_bot.bot import run_bot
from telegram_bot.config import BotConfig, Pacing
from tests.fakes.telegram_api import FakeTelegram
from tests.support.mqtt import Collector, Received, publish_and_wait
from tests.support.payloads import example

CHAT_A, CHAT_B, STRANGER = 111_111, -100_222_222, 333_333
DASHBOARD = "http://dashboard.test:8000"
# Fast pacing so tests stay quick; the production defaults are in config.Pacing.
TEST_PACING = Pacing(
    batch_window_s=0.3, digest_over=5, min_gap_s=0.0, max_per_minute=1000, retry_base_s=0.05, retry_max_s=0.4
)


def bot_config(broker: LocalBroker, telegram: FakeTelegram, state_dir: Path, **overrides: Any) -> BotConfig:
    """A config for one test: its own bot user (and so its own MQTT session) and state folder."""
    username = f"tgbot-{uuid.uuid4().hex[:8]}"
    password = broker.add_user(username, "viewer")
    config = BotConfig(
        token=telegram.token,
        allowed_chat_ids=frozenset({CHAT_A, CHAT_B}),
        telegram_base_url=telegram.base_url,
        api_url=f"http://127.0.0.1:{free_port()}",
        api_token=None,
        dashboard_url=DASHBOARD,
        mqtt=broker.settings(username, password, session_expiry_s=3600, receive_maximum=100),
        topics=broker.topics,
        state_dir=state_dir,
        pacing=TEST_PACING,
        poll_timeout_s=1,
    )
    return replace(config, **overrides)


class RunningBot:
    """The bot's `run_bot` on its own event loop in a thread; `stop()` ends it cleanly."""

    def __init__(self, config: BotConfig, broker: LocalBroker) -> None:
        self.config = config
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="telegram-bot", daemon=True)
        watcher = f"watch-{uuid.uuid4().hex[:8]}"
        self._status = Collector(
            broker.settings(watcher, broker.add_user(watcher, "viewer")),
            [config.topics.service_status(config.mqtt.username)],
        )

    def start(self, timeout: float = 15.0) -> RunningBot:
        """Start and wait until the bot's MQTT session is up (its status says online)."""
        before = self._online_count()
        self._thread.start()
        self._status.wait_for(lambda seen: self._online_count(seen) > before or self.error is not None, timeout)
        if self.error is not None:
            raise RuntimeError("bot failed to start") from self.error
        if self._online_count() <= before:
            raise RuntimeError("bot did not come online")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._status.close()
        if self._thread.is_alive():
            raise RuntimeError("bot did not stop")
        if self.error is not None:
            raise RuntimeError("bot failed") from self.error

    def _online_count(self, seen: list[Received] | None = None) -> int:
        """How often the bot's status went online (`seen`: the collector's snapshot, under its lock)."""
        messages = self._status.messages if seen is None else seen
        return sum(json.loads(m.payload)["state"] == "online" for m in messages)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()/stop()
            self.error = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await run_bot(self.config, self._stop)


class AlertPublisher:
    """Publishes alert events as the inference worker does (worker role, QoS 1)."""

    def __init__(self, broker: LocalBroker) -> None:
        name = f"worker-{uuid.uuid4().hex[:8]}"
        settings = broker.settings(name, broker.add_user(name, "worker"))
        self.topics = broker.topics
        self.client = create_client(settings, status_topic=None)
        connect_client(self.client, settings)
        if not wait_connected(self.client):
            raise RuntimeError("alert publisher could not connect")

    def publish(self, alert: Alert) -> None:
        assert publish_and_wait(self.client, self.topics.alerts(alert.machine_id), alert.to_json()) == 0

    def publish_raw(self, machine_id: str, payload: bytes) -> None:
        assert publish_and_wait(self.client, self.topics.alerts(machine_id), payload) == 0

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_alert(machine_id: str, **overrides: Any) -> Alert:
    """An open alert on `machine_id`, from the contract's example, with a fresh id."""
    base = example("alert") | {
        "machine_id": machine_id,
        "alert_id": f"a-{uuid.uuid4().hex[:12]}",
        "reading_id": f"{machine_id}-r{uuid.uuid4().hex[:6]}",
    }
    return Alert.from_dict(base | overrides)


def cleared(alert: Alert) -> Alert:
    return replace(
        alert,
        state="cleared",
        cleared_at="2026-11-27T08:20:00.000Z",
        message=f"{alert.machine_id}: back to normal",
    )
