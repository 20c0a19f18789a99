"""The webhooks service: the MQTT feed, the outbox and one sender per endpoint, wired together.

Why a service of its own (like the Telegram bot) rather than a part of the API or the bot:
an endpoint that is slow, down or answering 500 for hours must hold up nothing else, and the
service's own persistent MQTT session keeps the alerts it has not recorded yet at the broker
while it is down. It needs only read access to alerts (a viewer account, `webhooks`). The
events of issue 17 part B (verdict given, maintenance logged) come from the API; it will
publish them on topics of the contract, and this service records them the same way.
"""

from __future__ import annotations

import logging
import threading

from contract import Alert
from webhooks.config import WebhooksConfig
from webhooks.endpoints import Endpoint
from webhooks.events import alert_event
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
        self._stopped = threading.Event()

    def record(self, alert: Alert) -> None:
        """Owe the alert's event to every endpoint that wants it (called before the MQTT ack)."""
        event = alert_event(alert)
        wanted = [e.name for e in self.endpoints if e.wants(event.type)]
        new = self.outbox.enqueue(event, wanted, utc_now()) if wanted else 0
        log.info("%s %s on %s: %d new deliveries", event.type, alert.alert_id, alert.machine_id, new)
        for name in wanted:
            self.senders[name].wake()

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

    def stop(self) -> None:
        """Stop taking events first (the rest wait at the broker), then let requests in flight finish."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.feed.stop()
        for sender in self.senders.values():
            sender.stop()
        self.outbox.close()
