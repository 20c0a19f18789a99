"""Forewarn's HTTP API: live machine state, durable history, server-sent events.

    from api import create_app
    app = create_app()          # settings from the environment (see api/config.py)

Run it with ``python -m api`` (waitress). See api/openapi.py for every route.
"""

from api.app import create_app, runtime_of
from api.runtime import VERSION

__version__ = VERSION

__all__ = ["__version__", "create_app", "runtime_of"]
