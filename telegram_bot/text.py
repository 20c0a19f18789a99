"""Small formatting pieces shared by alert messages and command replies (pure, HTML-escaped).

Every message is sent with Telegram's HTML parse mode, so anything that comes from data
(machine ids, modes, explanation text) goes through :func:`esc`.

What a machine measures and how it fails comes from its profile, as the API answers it
(``GET /api/profiles/ID``: fields with label, unit and decimals; failure modes with code and
name). Without one (an API that does not know it), values are shown by their field names.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from contract import parse_ts

# Telegram refuses texts over 4096 characters (counted after parsing the HTML); stay well under.
MAX_TEXT = 3800

# A profile as the API answers it (GET /api/profiles/ID); None when it is not known.
Profile = Mapping[str, Any] | None
NUMERIC_KINDS = ("sensor", "counter")

STATUS_ICONS = {"failure": "🔴", "predictive": "🟠", "normal": "🟢"}
KIND_ICONS = {"detected": "🔴", "predicted": "🟠", "rul": "⏳", "anomaly": "🔶"}
# What an anomaly detector's alarm is, said wherever it shows: it learned normal behaviour only.
ANOMALY_MEANING = "no failure label; a deviation from normal"
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


def mode_text(mode: object, profile: Profile = None) -> str:
    """'PWF' -> 'Power Failure (PWF)' with the profile's name of the mode; None -> 'failure mode unknown'."""
    if not isinstance(mode, str) or not mode:
        return "failure mode unknown"
    name = mode_names(profile).get(mode.upper())
    return f"{esc(name)} ({esc(mode)})" if name else esc(mode)


def mode_names(profile: Profile) -> dict[str, str]:
    """The profile's failure modes, code (upper case) -> name."""
    modes = as_list(profile.get("failure_modes")) if profile else []
    return {
        str(m["code"]).upper(): str(m["name"])
        for m in modes
        if isinstance(m, Mapping) and isinstance(m.get("code"), str) and isinstance(m.get("name"), str)
    }


def numeric_fields(profile: Profile) -> list[Mapping[str, Any]]:
    """The profile's sensors and counters, in its order (each with name, label, unit, decimals)."""
    fields = as_list(profile.get("fields")) if profile else []
    return [
        f
        for f in fields
        if isinstance(f, Mapping) and f.get("kind") in NUMERIC_KINDS and isinstance(f.get("name"), str)
    ]


def kind_title(kind: object) -> str:
    return {"detected": "Failure detected", "rul": "End of life near", "anomaly": "Anomaly"}.get(
        str(kind), "Failure predicted"
    )


def model_kind(latest: Mapping[str, Any] | None, profile: Profile) -> str:
    """The kind of model behind a machine's numbers: its latest prediction's, else its profile's.

    A prediction not scored yet (no model, windows warming up) says what its profile expects.
    """
    said = latest.get("model_kind") if latest else None
    if said in ("rul", "anomaly"):
        return str(said)
    if latest and latest.get("status") != "unscored":
        return "classifier"
    model = profile.get("model") if profile else None
    kind = model.get("kind") if isinstance(model, Mapping) else None
    return str(kind) if kind in ("rul", "anomaly") else "classifier"


def rul_unit(source: Mapping[str, Any] | None, profile: Profile) -> str:
    """The unit of a remaining life: the prediction's or alert's own, else the profile's."""
    unit = source.get("rul_unit") if source else None
    if not isinstance(unit, str) or not unit:
        unit = _rul_section(profile).get("unit")
    return unit if isinstance(unit, str) else ""


def rul_horizon(source: Mapping[str, Any] | None, profile: Profile) -> float | None:
    """The horizon a remaining life is compared with: the prediction's, else the profile's."""
    horizon = as_number(source.get("rul_horizon")) if source else None
    return horizon if horizon is not None else as_number(_rul_section(profile).get("horizon"))


def _rul_section(profile: Profile) -> Mapping[str, Any]:
    model = profile.get("model") if profile else None
    section = model.get("rul") if isinstance(model, Mapping) else None
    return section if isinstance(section, Mapping) else {}


def life(value: object, unit: str) -> str:
    """A remaining life in whole units: '24 cycles'; '?' when unknown."""
    number = as_number(value)
    if number is None:
        return "?"
    text = f"{max(0.0, number):,.0f}"
    return f"{text} {esc(unit)}" if unit else text


def life_interval(low: object, high: object) -> str:
    """' (18 to 31)' (an en dash between) around a remaining life, or '' when there is no interval."""
    lo, hi = as_number(low), as_number(high)
    return "" if lo is None or hi is None else f" ({max(0.0, lo):,.0f}–{max(0.0, hi):,.0f})"


def score(value: object) -> str:
    """An anomaly score with 3 significant digits: '7.21'; '?' when unknown."""
    number = as_number(value)
    if number is None:
        return "?"
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"


def machine_link(dashboard_url: str, machine_id: str) -> str:
    """The dashboard's page of one machine."""
    return f"{dashboard_url.rstrip('/')}/#/machine/{quote(machine_id, safe='')}"


def reading_values(prediction: Mapping[str, Any], profile: Profile, names: Sequence[str] | None = None) -> list[str]:
    """'torque 65.7 Nm'-style pieces: the profile's numbers (or those `names`) a prediction carries.

    Labels, units and decimals are the profile's; without a profile every number of the
    prediction's values is shown by its field name.
    """
    values = prediction.get("values")
    if not isinstance(values, Mapping):
        return []
    fields = numeric_fields(profile) or [{"name": key, "label": key} for key in values]
    pieces = []
    for field in fields:
        name = str(field["name"])
        number = as_number(values.get(name))
        if number is None or (names is not None and name not in names):
            continue
        decimals = field.get("decimals")
        digits = decimals if isinstance(decimals, int) and 0 <= decimals <= 9 else 2
        unit = f" {esc(field['unit'])}" if isinstance(field.get("unit"), str) and field["unit"] else ""
        pieces.append(f"{esc(field.get('label') or name)} {number:,.{digits}f}{unit}")
    return pieces


def as_list(value: object) -> list[Any]:
    """A JSON array as a list; anything else (missing, null, an object) as an empty one."""
    return list(value) if isinstance(value, list | tuple) else []


def clip(text: str, limit: int) -> str:
    """Shorten `text` (before escaping) so one long id cannot blow a message's size."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
