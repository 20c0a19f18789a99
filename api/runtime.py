"""Everything one running API holds: database, live state, event hub, ingest, chores.

`Runtime` is built by the app factory and reached by the routes through `runtime()`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from api.config import ApiConfig
from api.db import create_database_engine
from api.events import EventHub, StreamLimiter
from api.feedback import Feedback
from api.housekeeping import Housekeeper
from api.ingest import MqttIngest
from api.migrations import upgrade
from api.queries import LogFilter, Queries
from api.rows import prediction_view
from api.security import RateLimiter
from api.state import Event, StateCache
from api.store import BatchResult, Store
from common.settings import ConfigError
from contract.registry import Registry
from model.artifact import pointer_name, profile_of_card

__all__ = ["EXTENSION_KEY", "VERSION", "Runtime", "runtime"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "forewarn"
VERSION = "0.1.0"
_DAY_MS = 86_400_000
EVENT_FLOOR = "event_floor"


class Runtime:
    """The API's parts, wired together; `start()` starts the ingest and the chores."""

    def __init__(self, config: ApiConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        # profiles: the built-in ones, and those the operator added to the registry (re-read on change)
        self.registry = Registry(config.registry_dir or Path("/nonexistent-forewarn-registry"))
        self.default_profile = config.default_profile
        self.engine = create_database_engine(config.database_url, pool_size=config.threads)
        try:
            upgrade(self.engine)  # create or upgrade the schema (api/migrations)
        except sa.exc.SQLAlchemyError as exc:  # unreachable server, bad credentials, read-only file
            first_line = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).strip().splitlines()[0]
            raise ConfigError(f"FOREWARN_DATABASE_URL: cannot open the database: {first_line}") from None
        self.store = Store(self.engine)
        self.queries = Queries(self.engine)
        self.feedback = Feedback(self.engine)  # verdicts, maintenance, snoozes, windows
        self.cache = StateCache(offline_after_ms=round(config.offline_after_s * 1000))
        # After a clean shutdown the ids go on from its last one, so a client resuming with that
        # Last-Event-ID sees no gap; after a crash they start afresh (time-based) and it resyncs.
        floor = self.store.take_state(EVENT_FLOOR)
        self.hub = EventHub(config.event_buffer, first_id=None if floor is None else floor + 1)
        self.streams = StreamLimiter(config.max_streams_per_client, config.max_streams)
        self.rate_limiter = RateLimiter(config.write_rate_per_s, config.write_burst)
        self.ingest: MqttIngest | None = None
        if config.mqtt is not None:
            self.ingest = MqttIngest(
                config.mqtt,
                config.topics,
                self.store,
                self.cache,
                self.committed,
                batch_rows=config.batch_rows,
                batch_wait_s=config.batch_wait_ms / 1000,
            )
        self.housekeeper = Housekeeper(self.sweep, self.prune, config.prune_interval_s)
        self._started = False
        self.load_state()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def load_state(self) -> None:
        """Fill the live state from the database, so a restart shows the same machines."""
        now = self.now_ms()
        for machine in self.queries.machine_states():
            self.cache.load_machine(machine, now)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.ingest is not None:
            self.ingest.start()
        if self.config.housekeeping:
            self.housekeeper.start()

    def stop(self) -> None:
        """Store what was received, leave the broker, end the streams and chores."""
        if self.ingest is not None and self._started:
            self.ingest.stop()
        self.housekeeper.stop()
        self.hub.close()
        try:
            self.store.save_state(EVENT_FLOOR, self.hub.last_id)
        except sa.exc.SQLAlchemyError as exc:  # the next start then begins new ids: clients resync
            log.warning("could not save the last event id: %s", exc)
        self.engine.dispose()
        self._started = False

    # ------------------------------------------------------------------ changes

    def committed(self, result: BatchResult) -> None:
        """After a commit: update the live state and fan the changes out."""
        now = self.now_ms()
        events: list[Event] = []
        if result.predictions:
            # the stored row is the source of truth; rebuild the payload from it
            views = [prediction_view(row) for row in result.predictions]
            events += self.cache.add_predictions(views, (row["ts_ms"] for row in result.predictions), now)
        for machine_id, state, ts_ms in result.statuses:
            events += self.cache.set_status(machine_id, state, ts_ms, now)
        for view in result.alerts:
            events += self.cache.put_alert(view)
        self._publish(events)

    def acknowledge(self, alert_id: str, by: str) -> dict[str, Any] | None:
        view, changed = self.store.acknowledge(alert_id, by, self.now_ms())
        if view is not None and changed:
            self._publish(self.cache.put_alert(view))
        return view

    def sweep(self) -> None:
        self._publish(self.cache.sweep(self.now_ms()))

    def prune(self) -> None:
        cutoff = self.now_ms() - round(self.config.retention_days * _DAY_MS)
        removed = self.store.prune(cutoff)
        self.cache.forget(removed, cutoff)
        if removed:
            log.info(
                "pruned %d predictions older than %g days",
                sum(c["readings"] for c in removed.values()),
                self.config.retention_days,
            )

    # ------------------------------------------------------------------ profiles

    def value_fields(self, filters: LogFilter) -> list[str]:
        """The value columns of an export: the fields of the profiles its rows can have, in order."""
        profiles = self.queries.machine_profiles(filters.machine_id).values()
        wanted = [filters.profile] if filters.profile is not None else list(dict.fromkeys(p for p in profiles if p))
        names: dict[str, None] = {}
        for profile in wanted:
            names.update(dict.fromkeys(self._field_names(profile)))
        return list(names)

    def _field_names(self, profile: str) -> list[str]:
        """The profile's fields; for a profile no longer known, the keys its newest reading had."""
        known = self.registry.profile(profile)
        return [f.name for f in known.fields] if known is not None else list(self.queries.latest_values(profile))

    def training_distribution(self, profile: str) -> tuple[str | None, dict[str, Any] | None]:
        """The version of `profile`'s model in service and its card's training distribution.

        Read as JSON only (nothing unpickled); a card trained for another profile is not used.
        """
        models_dir = self.config.models_dir
        if models_dir is None:
            return None, None
        try:
            version = (models_dir / pointer_name(profile)).read_text().strip()
            card = json.loads((models_dir / version / "card.json").read_text())
        except (OSError, ValueError):
            return None, None
        if not isinstance(card, dict) or profile_of_card(card) != profile:
            return version, None
        return version, card.get("training_distribution")

    def health(self) -> tuple[dict[str, Any], bool]:
        """The health document and whether the API is ready (broker connected, database up)."""
        connected = self.ingest is not None and self.ingest.connected
        database = self.store.ping()
        document = {
            "status": "ok" if connected and database else "degraded",
            "broker_connected": connected,
            "database": database,
            "ingest_lag_s": None if self.ingest is None else round(self.ingest.writer.lag_s(), 3),
            "version": VERSION,
            "malformed_messages": 0 if self.ingest is None else self.ingest.malformed,
            "queued_messages": 0 if self.ingest is None else self.ingest.writer.pending(),
            "event_streams": self.streams.open_streams(),
            "services": self.cache.services(),
        }
        return document, connected and database

    def _publish(self, events: list[Event]) -> None:
        self.hub.publish_many(events)


def runtime() -> Runtime:
    """The Runtime of the app handling the current request."""
    found: Runtime = current_app.extensions[EXTENSION_KEY]
    return found
