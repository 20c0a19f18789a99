"""`/`: the dashboard's built files (dashboard/dist), or a page telling how to build them."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

from api.errors import ApiError
from api.runtime import runtime

bp = Blueprint("dashboard", __name__)

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forewarn</title></head>
<body>
<h1>Forewarn API is running</h1>
<p>The dashboard has not been built yet. Build it once with:</p>
<pre>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>then reload this page. The API itself is described at <a href="api/openapi.json">api/openapi.json</a>;
its state at <a href="api/health">api/health</a>.</p>
</body></html>
"""


@bp.get("/")
def index() -> Response:
    dist = runtime().config.dashboard_dir
    if not (dist / "index.html").is_file():
        return Response(PLACEHOLDER, mimetype="text/html")
    return send_from_directory(dist, "index.html", max_age=0)


class NonApiPath(PathConverter):
    """A path outside /api/, so unknown API routes stay 404/405 of their own."""

    regex = r"(?!api/)[^/].*?"


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["nonapi"] = NonApiPath


@bp.get("/<nonapi:filename>")
def asset(filename: str) -> Response:
    """A built file; send_from_directory refuses paths that leave the folder, and dotfiles are never served."""
    if any(part.startswith(".") for part in filename.split("/")):
        raise ApiError(404, f"no such file: /{filename}")  # .source-hash and the like are not the dashboard's
    try:
        return send_from_directory(runtime().config.dashboard_dir, filename)
    except NotFound:
        raise ApiError(404, f"no such file: /{filename}") from None
