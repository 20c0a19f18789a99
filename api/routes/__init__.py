"""One blueprint per feature; `BLUEPRINTS` is the order the app factory registers them in."""

from __future__ import annotations

from api.routes.alerts import bp as alerts
from api.routes.dashboard import bp as dashboard
from api.routes.docs import bp as docs
from api.routes.drift import bp as drift
from api.routes.events import bp as events
from api.routes.feedback import bp as feedback
from api.routes.health import bp as health
from api.routes.log import bp as log
from api.routes.machines import bp as machines
from api.routes.models import bp as models
from api.routes.profiles import bp as profiles

__all__ = ["BLUEPRINTS"]

# dashboard last: its catch-all file route must not shadow an API route
BLUEPRINTS = (health, machines, profiles, log, alerts, feedback, drift, models, events, docs, dashboard)
