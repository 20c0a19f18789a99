"""The webhook endpoints: a JSON file validated by pydantic; every mistake is one line.

    {
      "endpoints": [
        {"name": "cmms", "url": "https://cmms.example/hooks/forewarn",
         "secret_file": "/run/secrets/cmms-webhook", "events": ["alert.opened", "alert.cleared"]}
      ]
    }

`name`: a short id (it keys the deliveries: renaming an endpoint starts its deliveries afresh);
`url`: http:// or https:// only; `secret` or `secret_file`: the signing secret (at least 16
characters; `whsec_` + base64 as Standard Webhooks writes it, or any other text); `events`:
the event types wanted (default: all); `timeout_s`: per request (default 10).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.settings import ConfigError
from webhooks.events import EVENT_TYPES, secret_key

__all__ = ["Endpoint", "EndpointsFile", "load_endpoints"]

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MIN_SECRET = 16


class Endpoint(BaseModel):
    """One receiver of webhook events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(description="short id; keys the deliveries")]
    url: Annotated[str, Field(description="where events are POSTed: http:// or https://")]
    secret: Annotated[str | None, Field(default=None, description="the signing secret")] = None
    secret_file: Annotated[Path | None, Field(default=None, description="a file holding the signing secret")] = None
    events: Annotated[tuple[str, ...], Field(default=EVENT_TYPES, description="event types to send")] = EVENT_TYPES
    timeout_s: Annotated[float, Field(default=10.0, gt=0, le=120, description="seconds per request")] = 10.0

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"{value!r} must match {NAME.pattern}")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in EVENT_TYPES]
        if unknown or not value:
            raise ValueError(f"{', '.join(unknown) or 'nothing'}: choose from {', '.join(EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Endpoint:
        if (self.secret is None) == (self.secret_file is None):
            raise ValueError("give exactly one of secret and secret_file")
        return self

    def key(self) -> bytes:
        """The HMAC key (reads secret_file); ConfigError when it is missing or too short."""
        secret = self.secret
        if secret is None:
            assert self.secret_file is not None  # _one_secret
            try:
                secret = self.secret_file.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"webhook endpoint {self.name}: secret_file {self.secret_file}: {exc.strerror}"
                ) from None
        if len(secret) < MIN_SECRET:
            raise ConfigError(f"webhook endpoint {self.name}: the secret must have at least {MIN_SECRET} characters")
        try:
            return secret_key(secret)
        except ValueError:
            raise ConfigError(
                f"webhook endpoint {self.name}: a whsec_ secret must be base64 after the prefix"
            ) from None

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class EndpointsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoints: tuple[Endpoint, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> EndpointsFile:
        names = [e.name for e in self.endpoints]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"endpoint names must be unique: {', '.join(twice)}")
        return self


def load_endpoints(path: Path) -> tuple[Endpoint, ...]:
    """The endpoints of `path`; ConfigError with one line naming the file and the field."""
    try:
        data: Any = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from None
    try:
        endpoints = EndpointsFile.model_validate(data).endpoints
    except ValidationError as exc:
        error = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where or 'file'}: {message}") from None
    for endpoint in endpoints:
        endpoint.key()  # a missing or short secret is a start-up error, not a failed delivery
    return endpoints
