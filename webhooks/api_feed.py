"""Verdicts and maintenance-log entries from the API into the outbox (`verdict.given`,
`maintenance.logged`), and the API's answer to "is this alert event silenced?".

The API stores verdicts and the maintenance log (api/feedback.py); this feed follows them
with GET /api/verdicts?history=true&after=ID and GET /api/maintenance?after=ID every
FOREWARN_WEBHOOKS_POLL_S, and records each new one with the feed's cursor in one outbox
transaction, so a restart continues where it stopped. On the first start the cursor is the
newest id the API has: what was decided before webhooks were configured is not sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from webhooks.events import Event, maintenance_event, verdict_event

__all__ = ["FEEDS", "ApiFeed", "ApiReader"]

log = logging.getLogger(__name__)
PAGE = 500
# cursor name -> (path, list key, event maker)
FEEDS: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], Event]]] = {
    "verdicts": ("/api/verdicts", "verdicts", verdict_event),
    "maintenance": ("/api/maintenance", "maintenance", maintenance_event),
}


class ApiReader:
    """The few reads the service makes of the API (with the token when reads need it)."""

    def __init__(self, base_url: str, token: str | None, timeout_s: float = 5.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s)

    def rows(self, path: str, key: str, after: int | None) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": PAGE if after is not None else 1}
        if path == "/api/verdicts":
            params["history"] = "true"
        if after is not None:
            params["after"] = after
        response = self._http.get(path, params=params)
        response.raise_for_status()
        found = response.json().get(key)
        return [row for row in found if isinstance(row, dict)] if isinstance(found, list) else []

    def silenced(self, machine_id: str, alert_id: str) -> bool:
        """Whether a snooze or a maintenance window in force keeps this alert event from being sent."""
        response = self._http.get("/api/silences", params={"machine": machine_id, "alert_id": alert_id})
        response.raise_for_status()
        return bool(response.json().get("silenced"))

    def close(self) -> None:
        self._http.close()


class ApiFeed:
    """A thread that polls the API's verdicts and maintenance log and hands new ones to `record`."""

    def __init__(
        self,
        reader: ApiReader,
        cursor: Callable[[str], int | None],
        record: Callable[[str, int, Event], None],
        poll_s: float,
    ) -> None:
        self.reader = reader
        self._cursor = cursor
        self._record = record
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks-api-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll_once(self) -> int:
        """Record what is new in every feed; how many events."""
        recorded = 0
        for name, (path, key, make) in FEEDS.items():
            after = self._cursor(name)
            if after is None:  # first start: begin after the newest row the API has
                newest = self.reader.rows(path, key, None)
                self._record(name, int(newest[0]["id"]) if newest else 0, _NOTHING)
                continue
            for row in self.reader.rows(path, key, after):
                self._record(name, int(row["id"]), make(row))
                recorded += 1
        return recorded

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("cannot read verdicts and maintenance from the API (%s); retrying", exc)
            self._stop.wait(self.poll_s)


# Moves a cursor without an event (the first start).
_NOTHING = Event("", "", b"")
