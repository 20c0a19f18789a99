"""The bot's client of the Forewarn HTTP API (see the API's /api/openapi.json).

Every failure becomes an :class:`ApiError` whose message can be shown to a person:
the API's own `error` text, or what went wrong on the way to it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from contract.profiles import builtin_profiles

__all__ = ["ApiError", "ForewarnApi", "NotFoundError", "UnauthorizedError"]


class ApiError(Exception):
    """The API could not answer; the message says why in words."""


class NotFoundError(ApiError):
    """404: no such machine, reading or alert."""


class UnauthorizedError(ApiError):
    """401: the API refused the bot's token."""


class ForewarnApi:
    """Async calls to the endpoints the bot needs."""

    def __init__(self, base_url: str, token: str | None, timeout_s: float = 5.0, profile_ttl_s: float = 60.0) -> None:
        self.token = token
        self._profiles: dict[str, tuple[float, dict[str, Any]]] = {}
        self._profile_ttl_s = profile_ttl_s
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            headers={"Accept": "application/json"},
        )

    async def machines(self) -> dict[str, Any]:
        """GET /api/machines: every machine and the counts by state."""
        return await self._get("/api/machines")

    async def machine(self, machine_id: str) -> dict[str, Any]:
        """GET /api/machines/{id}: one machine's summary."""
        return await self._get(f"/api/machines/{quote(machine_id, safe='')}")

    async def alerts(self, state: str = "open", machine_id: str | None = None) -> dict[str, Any]:
        """GET /api/alerts?state=...[&machine=...]: alerts, open first, newest first."""
        params = {"state": state} | ({"machine": machine_id, "limit": "5000"} if machine_id else {})
        return await self._get("/api/alerts", params=params)

    async def prediction(self, machine_id: str, reading_id: str) -> dict[str, Any]:
        """GET /api/readings/{machine}/{reading_id}: one scored reading."""
        return await self._get(f"/api/readings/{quote(machine_id, safe='')}/{quote(reading_id, safe='')}")

    async def profile(self, profile_id: str) -> dict[str, Any]:
        """GET /api/profiles/{id}: a machine class's fields, units and failure modes (kept a minute)."""
        now = time.monotonic()
        cached = self._profiles.get(profile_id)
        if cached is not None and now - cached[0] < self._profile_ttl_s:
            return cached[1]
        found = await self._get(f"/api/profiles/{quote(profile_id, safe='')}")
        self._profiles[profile_id] = (now, found)
        return found

    async def machine_profile(self, machine: Mapping[str, Any]) -> dict[str, Any] | None:
        """The profile a machine summary, prediction or alert names (its `profile` id).

        From the API (which also knows the operator's profiles); when the API cannot answer, a
        built-in profile is still known from the contract. None when neither knows it.
        """
        profile_id = machine.get("profile")
        if not isinstance(profile_id, str) or not profile_id:
            return None
        try:
            return await self.profile(profile_id)
        except ApiError:
            builtin = builtin_profiles().get(profile_id)
            return None if builtin is None else builtin.to_json_dict()

    async def ack(self, alert_id: str, by: str) -> dict[str, Any]:
        """POST /api/alerts/{id}/ack as `by`; needs the API token."""
        return await self._write(f"/api/alerts/{quote(alert_id, safe='')}/ack", {"by": by}, "acknowledging")

    async def verdict(self, alert_id: str, verdict: str, by: str) -> dict[str, Any]:
        """POST /api/alerts/{id}/verdict as `by`; needs the API token."""
        return await self._write(f"/api/alerts/{quote(alert_id, safe='')}/verdict", {"verdict": verdict, "by": by})

    async def maintenance(self, machine_id: str, action: str, note: str | None, by: str) -> dict[str, Any]:
        """POST /api/maintenance as `by`; needs the API token."""
        body = {"machine_id": machine_id, "action": action, "by": by} | ({"note": note} if note else {})
        return await self._write("/api/maintenance", body)

    async def snooze(self, target: str, target_id: str, minutes: int, by: str) -> dict[str, Any]:
        """POST /api/snoozes for a machine (`target` "machine") or one alert ("alert"), as `by`."""
        key = "machine_id" if target == "machine" else "alert_id"
        return await self._write("/api/snoozes", {key: target_id, "minutes": minutes, "by": by})

    async def snoozes(self) -> list[dict[str, Any]]:
        """GET /api/snoozes: those in force now."""
        found = (await self._get("/api/snoozes")).get("snoozes")
        return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []

    async def silenced(self, machine_id: str, alert_id: str) -> bool:
        """Whether a snooze or a maintenance window in force now keeps this alert event from being notified."""
        found = await self._get("/api/silences", {"machine": machine_id, "alert_id": alert_id})
        return bool(found.get("silenced"))

    async def _write(self, path: str, body: dict[str, Any], what: str = "writing") -> dict[str, Any]:
        if not self.token:
            raise UnauthorizedError(f"{what} is off: the bot has no FOREWARN_API_TOKEN")
        return await self._call("POST", path, json=body, headers={"Authorization": f"Bearer {self.token}"})

    async def close(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self._call("GET", path, params=params)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"the Forewarn API is unreachable ({type(exc).__name__})") from exc
        if response.status_code == 404:
            raise NotFoundError(_error_text(response))
        if response.status_code == 401:
            raise UnauthorizedError(f"the API refused the bot's token ({_error_text(response)})")
        if response.status_code >= 400:
            raise ApiError(f"the API answered {response.status_code}: {_error_text(response)}")
        return _json_object(response)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or str(response.status_code)
    error = body.get("error") if isinstance(body, dict) else None
    return str(error) if error else response.reason_phrase


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise ApiError("the API answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError("the API answered JSON that is not an object")
    return body
