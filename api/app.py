"""The app factory: one Flask app, one Runtime, one blueprint per feature."""

from __future__ import annotations

from flask import Flask

from api.clients import RealClientMiddleware
from api.config import ApiConfig, load
from api.errors import register_error_handlers
from api.routes import BLUEPRINTS
from api.runtime import EXTENSION_KEY, Runtime
from api.security import install_guards

__all__ = ["create_app", "runtime_of"]


def create_app(config: ApiConfig | None = None) -> Flask:
    """Build the API for `config` (default: from the environment) and start its ingest.

    Stop it with ``runtime_of(app).stop()``: that commits and acknowledges what was received,
    leaves the broker (the persistent session keeps what arrives meanwhile) and ends streams.
    """
    config = config or load()
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's field order
    app.wsgi_app = RealClientMiddleware(app.wsgi_app, config.trusted_proxies)  # type: ignore[method-assign]
    state = Runtime(config)
    app.extensions[EXTENSION_KEY] = state
    install_guards(app, config, state.rate_limiter)
    register_error_handlers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    state.start()
    return app


def runtime_of(app: Flask) -> Runtime:
    found: Runtime = app.extensions[EXTENSION_KEY]
    return found
