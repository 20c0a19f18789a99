"""Small formatting pieces shared by alert messages and command replies (pure, HTML-escaped).

Every message is sent with Telegram's HTML parse mode, so anything that comes from data
(machine ids, modes, explanation text) goes through :func:`esc`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from contract import parse_ts

# Telegram refuses texts over 4096 characters (counted after parsing the HTML); stay well under.
MAX_TEXT = 3800

MODE_NAMES = {
    "TWF": "tool wear failure",
    "HDF": "heat dissipation failure",
    "PWF": "power failure",
    "OSF": "overstrain failure",
    "RNF": "random failure",
}

# (label, unit, format) of each reading, in the order a person reads a machine.
READINGS: dict[str, tuple[str, str, str]] = {
    "air_temp_k": ("air", "K", "{:,.1f}"),
    "process_temp_k": ("process", "K", "{:,.1f}"),
    "rotational_speed_rpm": ("speed", "rpm", "{:,.0f}"),
    "torque_nm": ("torque", "Nm", "{:,.1f}"),
    "tool_wear_min": ("tool wear", "min", "{:,.0f}"),
}

STATUS_ICONS = {"failure": "🔴", "predictive": "🟠", "normal": "🟢"}
KIND_ICONS = {"detected": "🔴", "predicted": "🟠"}
OFFLINE_ICON = "⚫"
CLEARED_ICON = "✅"
EARLY_WARNING_ICON = "🟡"
STALE_ICON = "⚪"
ESCALATION_ICON = "⏫"


def esc(value: object) -> str:
    """Text safe to put inside Telegram HTML."""
    return html.escape(str(value), quote=False)


def percent(value: object) -> str:
    """0.934 -> '93 %'; anything that is not a finite number -> '?'."""
    number = as_number(value)
    return "?" if number is None else f"{number * 100:.0f} %"


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def when(ts: object, with_date: bool = True) -> str:
    """An RFC 3339 timestamp as '2026-11-27 08:15:02 UTC' (or just the time)."""
    if not isinstance(ts, str):
        return "?"
    try:
        moment = parse_ts(ts)
    except ValueError:
        return esc(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if with_date else "%H:%M:%S UTC")


def mode_text(mode: object) -> str:
    """'PWF' -> 'power failure (PWF)'; None -> 'failure mode unknown'."""
    if not isinstance(mode, str) or not mode:
        return "failure mode unknown"
    name = MODE_NAMES.get(mode.upper())
    return f"{name} ({esc(mode)})" if name else esc(mode)


def kind_title(kind: object) -> str:
    return "Failure detected" if kind == "detected" else "Failure predicted"


def machine_link(dashboard_url: str, machine_id: str) -> str:
    """The dashboard's page of one machine."""
    return f"{dashboard_url.rstrip('/')}/#/machine/{quote(machine_id, safe='')}"


def reading_values(prediction: Mapping[str, Any], names: tuple[str, ...] = tuple(READINGS)) -> list[str]:
    """'torque 65.7 Nm'-style pieces for the named readings present in a prediction."""
    pieces = []
    for name in names:
        number = as_number(prediction.get(name))
        if number is not None and name in READINGS:
            label, unit, fmt = READINGS[name]
            pieces.append(f"{label} {fmt.format(number)} {unit}")
    return pieces


def clip(text: str, limit: int) -> str:
    """Shorten `text` (before escaping) so one long id cannot blow a message's size."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
