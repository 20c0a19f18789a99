"""The webhooks service: the MQTT feed, the outbox and one sender per endpoint, wired together.

Why a service of its own (like the Telegram bot) rather than a part of the API or the bot:
an endpoint that is slow, down or answering 500 for hours must hold up nothing else, and the
service's own persistent MQTT session keeps the alerts it has not recorded yet at the broker
while it is down. It needs only read access to alerts (a viewer account, `webhooks`).
Verdicts and maintenance-log entries come from the API (api_feed.py). An alert event that a
snooze or a maintenance window silences (GET /api/silences) is recorded by the API but not
sent here either; when the API cannot say, it is sent.
"""

from __future__ import annotations

import logging
import threading

import httpx

from contract import Alert
from webhooks.api_feed import ApiFeed, ApiReader
from webhooks.config import WebhooksConfig
from webhooks.endpoints import Endpoint
from webhooks.events import Event, alert_event
from webhooks.feed import EventFeed
from webhooks.outbox import Outbox
from webhooks.sender import EndpointSender, utc_now

__all__ = ["WebhookService"]

log = logging.getLogger(__name__)


class WebhookService:
    def __init__(self, config: WebhooksConfig, endpoints: tuple[Endpoint, ...]) -> None:
        self.config = config
        self.endpoints = endpoints
        self.outbox = Outbox(config.state_dir / "webhooks.sqlite3")
        self.senders = {e.name: EndpointSender(e, self.outbox, config.retry) for e in endpoints}
        self.feed = EventFeed(config.mqtt, config.topics, self.record)
        self.api = ApiReader(config.api_url, config.api_token) if config.api_url else None
        self.api_feed = ApiFeed(self.api, self.outbox.cursor, self.record_from_api, config.poll_s) if self.api else None
        self._stopped = threading.Event()

    def record(self, alert: Alert) -> None:
        """Owe the alert's event to every endpoint that wants it (called before the MQTT ack)."""
        if self._silenced(alert):
            log.info(
                "alert %s %s on %s silenced (snooze or maintenance window): not sent",
                alert.alert_id,
                alert.state,
                alert.machine_id,
            )
            return
        event = alert_event(alert)
        wanted = [e.name for e in self.endpoints if e.wants(event.type)]
        new = self.outbox.enqueue(event, wanted, utc_now()) if wanted else 0
        log.info("%s %s on %s: %d new deliveries", event.type, alert.alert_id, alert.machine_id, new)
        for name in wanted:
            self.senders[name].wake()

    def record_from_api(self, feed: str, cursor: int, event: Event) -> None:
        """Owe a verdict's or a log entry's event (none: only move the cursor) and move the feed's cursor."""
        wanted = [e.name for e in self.endpoints if event.id and e.wants(event.type)]
        new = self.outbox.enqueue_after(feed, cursor, event, wanted, utc_now())
        if event.id:
            log.info("%s %s: %d new deliveries", event.type, event.id, new)
        for name in wanted:
            self.senders[name].wake()

    def _silenced(self, alert: Alert) -> bool:
        if self.api is None:
            return False
        try:
            return self.api.silenced(alert.machine_id, alert.alert_id)
        except (httpx.HTTPError, ValueError) as exc:  # better an event too many than a missed alert
            log.warning("cannot ask the API about silences (%s): alert %s is sent", exc, alert.alert_id)
            return False

    def start(self) -> None:
        pruned = self.outbox.prune(utc_now())
        log.info(
            "webhook endpoints: %s; %d deliveries pending, %d old ones pruned",
            ", ".join(f"{e.name} ({e.url})" for e in self.endpoints) or "none",
            self.outbox.pending_count(),
            pruned,
        )
        for sender in self.senders.values():
            sender.start()  # what a previous run left pending goes out first
        self.feed.start()
        if self.api_feed is not None:
            self.api_feed.start()

    def stop(self) -> None:
        """Stop taking events first (the rest wait at the broker), then let requests in flight finish."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.feed.stop()
        if self.api_feed is not None:
            self.api_feed.stop()
        if self.api is not None:
            self.api.close()
        for sender in self.senders.values():
            sender.stop()
        self.outbox.close()
