"""One thread per endpoint: deliver its oldest pending event, retrying with backoff.

Deliveries to one endpoint go in order (an alert's opening before its clearing), so a failing
endpoint holds its own queue, never another endpoint's. An attempt is a POST of the signed
envelope; any 2xx is success, anything else (an error status, a timeout, a refused or
dropped connection) is retried after an exponential backoff with jitter, until the event is
older than the give-up time. Redirects are not followed: a receiver's URL is configured, not
discovered.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from webhooks.config import Retry
from webhooks.endpoints import Endpoint
from webhooks.events import signature_headers
from webhooks.outbox import Delivery, Outbox

__all__ = ["EndpointSender", "backoff_s"]

log = logging.getLogger(__name__)
IDLE_S = 1.0  # the longest nap with nothing to do (stop and new deliveries wake it at once)
USER_AGENT = "Forewarn-Webhooks/1"


def backoff_s(attempts: int, retry: Retry, draw: Callable[[], float] = random.random) -> float:
    """Seconds before attempt `attempts + 1`: base x 2^(attempts-1), capped, half of it jittered."""
    delay = min(retry.base_s * 2.0 ** max(attempts - 1, 0), retry.max_s)
    return float(delay / 2 + delay / 2 * draw())


def utc_now() -> datetime:
    return datetime.now(UTC)


class EndpointSender:
    """Delivers one endpoint's events, in order, on its own thread."""

    def __init__(self, endpoint: Endpoint, outbox: Outbox, retry: Retry) -> None:
        self.endpoint = endpoint
        self.outbox = outbox
        self.retry = retry
        self.key = endpoint.key()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(
            timeout=httpx.Timeout(endpoint.timeout_s, connect=min(endpoint.timeout_s, 5.0)),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )
        self._thread = threading.Thread(target=self._run, name=f"webhook-{endpoint.name}", daemon=True)
        self.delivered = 0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the request in flight (if any) is answered and recorded."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self._step()
            except Exception:  # a bug or a broken store must not end this endpoint's deliveries
                log.exception("webhook endpoint %s: delivery failed unexpectedly; trying again", self.endpoint.name)
                wait = self.retry.max_s
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()

    def _step(self) -> float:
        """Attempt the next delivery if it is due; returns how long to wait before looking again."""
        delivery = self.outbox.next_for(self.endpoint.name)
        now = utc_now()
        if delivery is None:
            return IDLE_S
        if delivery.next_at > now:
            return min((delivery.next_at - now).total_seconds(), IDLE_S)
        error = self._attempt(delivery)
        attempts = delivery.attempts + 1
        now = utc_now()
        if error is None:
            self.outbox.delivered(delivery.seq, attempts, now)
            self.delivered += 1
            log.info(
                "webhook %s: %s %s delivered (attempt %d)",
                self.endpoint.name,
                delivery.event.type,
                delivery.event.id,
                attempts,
            )
            return 0.0
        if now - delivery.queued_at >= timedelta(seconds=self.retry.give_up_s):
            self.outbox.failed(delivery.seq, attempts, error, now)
            log.error(
                "webhook %s: gave up on %s %s after %d attempts: %s",
                self.endpoint.name,
                delivery.event.type,
                delivery.event.id,
                attempts,
                error,
            )
            return 0.0
        delay = backoff_s(attempts, self.retry)
        self.outbox.retry_at(delivery.seq, attempts, error, now + timedelta(seconds=delay))
        log.warning("webhook %s: attempt %d failed (%s); next in %.1f s", self.endpoint.name, attempts, error, delay)
        return min(delay, IDLE_S)

    def _attempt(self, delivery: Delivery) -> str | None:
        """POST the signed event; None on a 2xx, else what went wrong."""
        headers = signature_headers(self.key, delivery.event, int(time.time()))
        try:
            response = self._client.post(self.endpoint.url, content=delivery.event.body, headers=headers)
        except httpx.TimeoutException:
            return f"no answer within {self.endpoint.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
