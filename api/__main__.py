"""Serve the Forewarn API with waitress on FOREWARN_API_HOST:FOREWARN_API_PORT.

    python -m api            # 127.0.0.1:8000 by default; settings: see api/config.py
    python -m api --check    # check the settings and the database, then exit
    python -m api db status  # the database's schema revision and the newest one
    python -m api db history # every revision, oldest first
    python -m api db upgrade [REVISION]   # upgrade now (the API also does it at every start)

Needs the broker user (default `api`, viewer role) and its password in
var/secrets/api.password (or FOREWARN_MQTT_PASSWORD). Writes (alert acknowledgement) need
FOREWARN_API_TOKEN; without it they answer 503. Stop with Ctrl-C or SIGTERM: what was
received is stored and acknowledged first.
"""

from __future__ import annotations

import _thread
import argparse
import dataclasses
import signal
import threading
import time
from types import FrameType

import sqlalchemy as sa
from alembic.util import CommandError
from flask import Flask

from api.app import create_app, runtime_of
from api.config import database_url, load
from api.db import create_database_engine
from api.migrations import HEAD, history, status, upgrade
from api.server import create_api_server
from common import gc_tuning
from common.logs import setup_logging
from common.settings import ConfigError, run_cli

_STREAMS_END_S = 5.0  # longest wait for open event streams to send their last events


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description="Serve the Forewarn HTTP API.")
    parser.add_argument("--check", action="store_true", help="check settings and database, then exit")
    commands = parser.add_subparsers(dest="command", metavar="db")
    db = commands.add_parser("db", help="the history database's schema migrations")
    db.add_argument("action", choices=("status", "history", "upgrade"))
    db.add_argument("revision", nargs="?", default=HEAD, help="upgrade target (default: the newest)")
    args = parser.parse_args()
    log = setup_logging("api")
    if args.command == "db":
        return _db(args.action, args.revision)
    config = load()
    if args.check:
        config = dataclasses.replace(config, mqtt=None, housekeeping=False)
        runtime_of(create_app(config)).stop()
        print(f"ok: settings valid, database reachable ({config.database_url.split('://')[0]})")
        return 0
    app = create_app(config)
    server = create_api_server(app, config.host, config.port, config.threads)
    _stop_on_signals(app)
    gc_tuning.settle()  # started: what start-up built stays out of the collector's walks
    log.info(
        "serving on http://%s:%d (%d threads, %d event streams of %d per client, %d connections of %d per client)",
        config.host,
        config.port,
        config.threads,
        config.max_streams,
        config.max_streams_per_client,
        config.max_connections,
        config.max_connections_per_client,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        runtime_of(app).stop()
        server.close()
    return 0


def _db(action: str, revision: str) -> int:
    """Schema migrations by hand; a bad revision or an unreachable database is one line, exit 2."""
    if action == "history":
        for name, parent, doc in history():
            print(f"{name}  (parent {parent or 'none'})  {doc.strip().splitlines()[0] if doc else ''}")
        return 0
    engine = create_database_engine(database_url())
    try:
        if action == "upgrade":
            upgrade(engine, revision)
        current, newest = status(engine)
    except (CommandError, sa.exc.SQLAlchemyError) as exc:
        text = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).strip().splitlines()[0]
        raise ConfigError(f"FOREWARN_DATABASE_URL: {action}: {text}") from None
    finally:
        engine.dispose()
    print(f"current: {current or 'none'}; newest: {newest}")
    return 0


def _stop_on_signals(app: Flask) -> None:
    """SIGTERM and Ctrl-C wind down while waitress still serves, then stop the server.

    First what was received is stored and acknowledged and its events go out, then the hub
    closes and each open event stream sends what is left and ends; a dashboard resuming with
    its Last-Event-ID at the next process then misses nothing. waitress's run() answers the
    final interrupt by waiting up to 5 s for its threads, which the streams no longer hold.
    A second signal stops at once.
    """
    winding_down = threading.Event()

    def wind_down() -> None:
        state = runtime_of(app)
        state.stop()
        deadline = time.monotonic() + _STREAMS_END_S
        while state.streams.open_streams() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # waitress's loop writes the streams' last bytes
        _thread.interrupt_main()  # the SIGINT handler below, now in its second round

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        if not winding_down.is_set():
            winding_down.set()
            threading.Thread(target=wind_down, name="wind-down", daemon=True).start()
            return
        runtime_of(app).hub.close()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


if __name__ == "__main__":
    run_cli(main)
