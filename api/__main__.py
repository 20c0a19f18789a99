"""Serve the Forewarn API with waitress on FOREWARN_API_HOST:FOREWARN_API_PORT.

    python -m api            # 127.0.0.1:8000 by default; settings: see api/config.py
    python -m api --check    # check the settings and the database, then exit

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

from flask import Flask

from api.app import create_app, runtime_of
from api.config import load
from api.server import create_api_server
from common.logs import setup_logging
from common.settings import run_cli

_STREAMS_END_S = 5.0  # longest wait for open event streams to send their last events


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description="Serve the Forewarn HTTP API.")
    parser.add_argument("--check", action="store_true", help="check settings and database, then exit")
    args = parser.parse_args()
    log = setup_logging("api")
    config = load()
    if args.check:
        config = dataclasses.replace(config, mqtt=None, housekeeping=False)
        runtime_of(create_app(config)).stop()
        print(f"ok: settings valid, database reachable ({config.database_url.split('://')[0]})")
        return 0
    app = create_app(config)
    server = create_api_server(app, config.host, config.port, config.threads)
    _stop_on_signals(app)
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
