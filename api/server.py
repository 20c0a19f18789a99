"""The waitress server of the API: the one place its serving options are chosen."""

from __future__ import annotations

from typing import Any

from flask import Flask
from waitress.server import create_server

__all__ = ["WAITRESS_MAX_BODY", "create_api_server"]

# Waitress answers bodies this big with 413 itself; Flask checks the 16 KiB limit below it.
WAITRESS_MAX_BODY = 64 * 1024
# Waitress reads a connection while its request runs only with a lookahead above 0; only
# then does it see a client hang up (environ["waitress.client_disconnected"]), so an event
# stream of a closed tab ends within a second instead of at a failed keepalive write.
REQUEST_LOOKAHEAD = 1


def create_api_server(app: Flask, host: str, port: int, threads: int) -> Any:
    """A waitress server for `app` (not yet running: call its `run()`; `close()` to stop)."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=WAITRESS_MAX_BODY,
        channel_request_lookahead=REQUEST_LOOKAHEAD,
        ident="forewarn-api",
    )
