"""The text of alert messages and digests (pure).

An alert message names the machine, the kind (predicted or detected), the failure mode,
the probability, the readings that matter for that mode, the model's explanation when the
prediction carries one, the time and a link to the machine in the dashboard. A `rul` alert
says how much life is left (with its interval) under which horizon; an `anomaly` alert gives
the score against its threshold and says what it is: no failure label, a deviation from normal.
Mode names, field labels and units, and which readings matter for a mode come from the
machine's profile (its physics rules name the fields, or the derived features whose expressions
name them). An early warning (the wear forecast, while the model still says normal) leads with the warning, its
mode and the time left, and gives the model's probability for what it is: today's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from contract import Alert
from contract.expressions import Expression, ExpressionError, parse_expression
from telegram_bot.text import (
    ANOMALY_MEANING,
    CLEARED_ICON,
    EARLY_WARNING_ICON,
    ESCALATION_ICON,
    KIND_ICONS,
    MAX_TEXT,
    STALE_ICON,
    Profile,
    as_list,
    as_number,
    clip,
    esc,
    kind_title,
    life,
    life_interval,
    machine_link,
    mode_text,
    numeric_fields,
    percent,
    reading_values,
    rul_horizon,
    rul_unit,
    score,
    when,
)

__all__ = [
    "alert_message",
    "digest_message",
    "early_warning_lines",
    "escalation_message",
    "explanation_lines",
    "readings_that_matter",
]

_DIGEST_FOOTER_ROOM = 300


def alert_message(
    alert: Alert, prediction: Mapping[str, Any] | None, dashboard_url: str, profile: Profile = None
) -> str:
    """One alert event (opened or cleared) as a Telegram HTML message."""
    lines = _cleared_lines(alert, profile) if alert.state == "cleared" else _opened_lines(alert, prediction, profile)
    lines.append(machine_link(dashboard_url, alert.machine_id))
    return "\n".join(lines)


def escalation_message(
    alert: Alert, prediction: Mapping[str, Any] | None, dashboard_url: str, after_s: float, profile: Profile = None
) -> str:
    """A critical alert nobody acknowledged in time, for the escalation chats."""
    head = f"{ESCALATION_ICON} <b>Escalated</b>: not acknowledged within {_minutes(after_s)}"
    return f"{head}\n{alert_message(alert, prediction, dashboard_url, profile)}"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes >= 1 else f"{seconds:g} s"


def _opened_lines(alert: Alert, prediction: Mapping[str, Any] | None, profile: Profile) -> list[str]:
    if alert.kind == "rul":
        lines = _rul_lines(alert, prediction, profile)
    elif alert.kind == "anomaly":
        lines = _anomaly_lines(alert, prediction)
    else:
        mode = _upper_first(mode_text(alert.predicted_mode, profile))
        lines = early_warning_lines(alert, profile) or [
            f"{KIND_ICONS.get(alert.kind, '🟠')} <b>{kind_title(alert.kind)}</b> on <b>{esc(alert.machine_id)}</b>",
            f"{mode}, probability {percent(alert.failure_probability)}",
        ]
        if prediction is not None:
            readings = readings_that_matter(prediction, alert.predicted_mode, profile)
            if readings:
                lines.append("Readings: " + ", ".join(readings))
    if prediction is not None:
        why = explanation_lines(prediction.get("explanation"), kind=str(prediction.get("model_kind") or "classifier"))
        lines.extend(f"Why: {esc(line)}" for line in why)
    lines.append(f"Opened {when(alert.opened_at)}")
    lines.append(f"Acknowledge: <code>/ack {esc(alert.alert_id)}</code>")
    return lines


def _rul_lines(alert: Alert, prediction: Mapping[str, Any] | None, profile: Profile) -> list[str]:
    """A machine entered its remaining-life horizon: how much life is left, with its interval."""
    source = prediction or {}
    unit = rul_unit(alert.to_dict(), profile) or rul_unit(source, profile)
    rul = alert.rul if alert.rul is not None else source.get("rul")
    horizon = rul_horizon(source, profile)
    name = _profile_name(profile)
    lines = [
        f"{KIND_ICONS['rul']} <b>{esc(alert.machine_id)}</b> entered its horizon: "
        f"~{life(rul, unit)} left{life_interval(source.get('rul_low'), source.get('rul_high'))}",
    ]
    if horizon is not None:
        lines.append(f"{kind_title('rul')}: remaining useful life under {life(horizon, unit)}{name}")
    return lines


def _anomaly_lines(alert: Alert, prediction: Mapping[str, Any] | None) -> list[str]:
    """An anomaly detector's alarm, said for what it is: no failure label, a deviation from normal."""
    source = prediction or {}
    value = alert.anomaly_score if alert.anomaly_score is not None else source.get("anomaly_score")
    limit = alert.anomaly_threshold if alert.anomaly_threshold is not None else source.get("anomaly_threshold")
    return [
        f"{KIND_ICONS['anomaly']} <b>Anomaly</b> on <b>{esc(alert.machine_id)}</b>: "
        f"score {score(value)} above threshold {score(limit)} — {ANOMALY_MEANING}",
    ]


def _profile_name(profile: Profile) -> str:
    name = profile.get("name") if profile else None
    return f" ({esc(name)})" if isinstance(name, str) and name else ""


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def early_warning_lines(alert: Alert, profile: Profile = None) -> list[str]:
    """The head of an early warning: what is coming, how soon, and the forecast's own words."""
    warning = alert.early_warning
    if not isinstance(warning, Mapping):
        return []
    mode = _upper_first(mode_text(warning.get("mode") or alert.predicted_mode, profile))
    lines = [
        f"{EARLY_WARNING_ICON} <b>Early warning</b> on <b>{esc(alert.machine_id)}</b>",
        f"{mode} {_time_left(warning)}",
    ]
    if isinstance(warning.get("text"), str) and warning["text"]:
        lines.append(_upper_first(esc(warning["text"])))
    lines.append(f"Model probability now {percent(alert.failure_probability)}: the forecast sees it coming first")
    return lines


def _time_left(warning: Mapping[str, Any]) -> str:
    """'in about 12 min of tool use' / 'in about 3.5 cycles' / 'now: inside the failure region'."""
    remaining = as_number(warning.get("remaining"))
    if remaining is None:  # the worker's explanation before machine profiles
        remaining = as_number(warning.get("remaining_min"))
    if remaining is None:
        return "ahead"
    if remaining <= 0:
        return "now: inside the failure region"
    unit = warning.get("unit") if isinstance(warning.get("unit"), str) and warning.get("unit") else "min"
    amount = f"{remaining:,.0f}" if remaining >= 10 else f"{remaining:,.1f}".rstrip("0").rstrip(".")
    use = " of tool use" if unit == "min" else ""
    return f"in about {amount} {esc(unit)}{use}"


def _cleared_lines(alert: Alert, profile: Profile) -> list[str]:
    times = f"Opened {when(alert.opened_at)}, cleared {when(alert.cleared_at)}"
    if alert.kind in ("rul", "anomaly"):
        what = kind_title(alert.kind)
    else:
        what = f"{kind_title(alert.kind)} ({mode_text(alert.predicted_mode, profile)})"
    if alert.cleared_reason == "offline":
        return [
            f"{STALE_ICON} <b>Closed as stale</b> on <b>{esc(alert.machine_id)}</b>",
            f"{what}: the machine stayed offline, so nobody can say it is resolved",
            esc(alert.message),
            times,
        ]
    if alert.cleared_reason == "superseded":
        return [
            f"{CLEARED_ICON} <b>Duplicate closed</b> on <b>{esc(alert.machine_id)}</b>",
            f"{what}: an alert opened earlier covers it",
            times,
        ]
    over = f"{what} is over: back to normal" if alert.kind in ("rul", "anomaly") else f"{what} is back to normal"
    return [f"{CLEARED_ICON} <b>Cleared</b> on <b>{esc(alert.machine_id)}</b>", over, times]


def readings_that_matter(prediction: Mapping[str, Any], mode: str | None, profile: Profile) -> list[str]:
    """The readings behind `mode` (the fields its profile's rules look at, then the derived
    quantities they compare), or every reading when the profile says nothing of the mode."""
    if not profile or not mode:
        return reading_values(prediction, profile)
    expressions = _derived_expressions(profile)  # parsed once for both uses below
    fields, derived = mode_quantities(profile, mode, expressions)
    if not fields:
        return reading_values(prediction, profile)
    return reading_values(prediction, profile, fields) + _derived_values(prediction, profile, derived, expressions)


def mode_quantities(
    profile: Profile, mode: str | None, expressions: Mapping[str, Expression]
) -> tuple[list[str], list[str]]:
    """The fields (in profile order) and derived features (of `expressions`, the profile's
    parsed) the rules and limits of `mode` depend on."""
    if not profile or not mode:
        return [], []
    physics = _mapping(profile.get("physics"))
    named: list[str] = []
    for rule in as_list(physics.get("rules")):
        if isinstance(rule, Mapping) and str(rule.get("mode", "")).upper() == mode.upper():
            named += [str(c.get("value")) for c in as_list(rule.get("when")) if isinstance(c, Mapping)]
    for limit in as_list(_mapping(physics.get("early_warning")).get("limits")):
        if isinstance(limit, Mapping) and str(limit.get("mode", "")).upper() == mode.upper():
            named += [str(limit.get("counter")), str(_mapping(limit.get("per")).get("field"))]
    wanted = set(named)
    for name in named:
        if name in expressions:
            wanted |= expressions[name].names
    fields = [str(f.get("name")) for f in as_list(profile.get("fields")) if isinstance(f, Mapping)]
    derived = [name for name in expressions if name in named]
    return [name for name in fields if name in wanted], derived


def _derived_expressions(profile: Profile) -> dict[str, Expression]:
    """The profile's derived features, parsed by the contract (never eval'ed); a bad one is left out."""
    known = {str(f["name"]) for f in numeric_fields(profile)}
    found: dict[str, Expression] = {}
    for item in as_list(_mapping(profile).get("derived")):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        try:
            found[item["name"]] = parse_expression(str(item.get("expr", "")), known | set(found))
        except ExpressionError:
            continue
        known.add(item["name"])
    return found


def _derived_values(
    prediction: Mapping[str, Any], profile: Profile, names: list[str], expressions: Mapping[str, Expression]
) -> list[str]:
    """'power 9,701 W'-style pieces for derived features computable from the prediction's values."""
    values = {k: v for k, v in _mapping(prediction.get("values")).items() if as_number(v) is not None}
    computed: dict[str, Any] = dict(values)
    for name, expression in expressions.items():  # in order: later ones may use earlier ones
        if expression.names <= set(computed):
            computed[name] = expression.evaluate(computed)
    derived = {str(d["name"]): d for d in as_list(_mapping(profile).get("derived")) if isinstance(d, Mapping)}
    pieces = []
    for name in names:
        number = as_number(computed.get(name))
        if number is None:
            continue
        item = derived[name]
        digits = item.get("decimals") if isinstance(item.get("decimals"), int) else 2
        unit = f" {esc(item['unit'])}" if item.get("unit") else ""
        pieces.append(f"{esc(item.get('label') or name)} {number:,.{digits}f}{unit}")
    return pieces


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def explanation_lines(explanation: object, limit: int = 3, kind: str = "classifier") -> list[str]:
    """Plain-text lines from a prediction's explanation, whatever shape it has (or none).

    A classifier's or a detector's contributions that raised its output are the reasons; a
    RUL model's reasons are those that shortened the remaining life.
    """
    if not isinstance(explanation, Mapping):
        return []
    lines = [text for text in map(_condition_text, as_list(explanation.get("conditions"))) if text]
    if not lines:
        contributions = explanation.get("contributions")
        lines = _pushed_down(contributions) if kind == "rul" else _pushed_up(contributions)
    return lines[:limit]


def _condition_text(condition: object) -> str | None:
    if isinstance(condition, str):
        return condition
    if isinstance(condition, Mapping):
        for key in ("text", "description", "message", "summary", "condition"):
            if isinstance(condition.get(key), str):
                return str(condition[key])
    return None


def _pushed_up(contributions: object) -> list[str]:
    """'raised by load +0.31, wear +0.12' from {feature: contribution} or a list."""
    top = sorted((pair for pair in _pairs(contributions) if pair[1] > 0), key=lambda pair: -pair[1])[:3]
    return ["raised by " + ", ".join(f"{name} +{value:.2f}" for name, value in top)] if top else []


def _pushed_down(contributions: object) -> list[str]:
    """'shortened by t50_mean30 -21.5, ...': what took remaining life away."""
    top = sorted((pair for pair in _pairs(contributions) if pair[1] < 0), key=lambda pair: pair[1])[:3]
    return ["shortened by " + ", ".join(f"{name} {value:.1f}" for name, value in top)] if top else []


def _pairs(contributions: object) -> list[tuple[str, float]]:
    if isinstance(contributions, Mapping):
        numbers = ((str(key), as_number(value)) for key, value in contributions.items())
        return [(key, number) for key, number in numbers if number is not None]
    if isinstance(contributions, list | tuple):
        return [pair for item in contributions if (pair := _feature_pair(item)) is not None]
    return []


def _feature_pair(item: object) -> tuple[str, float] | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("feature"), str):
        return None
    value = as_number(item.get("contribution", item.get("value")))
    return None if value is None else (str(item["feature"]), value)


def digest_message(
    alerts: Sequence[Alert], dashboard_url: str, pending_total: int, escalated: Collection[str] = ()
) -> tuple[str, int]:
    """One message listing as many of `alerts` as fit; returns (text, how many it covers).

    Alerts whose id is in `escalated` are marked as escalations.
    """
    header = f"⚠️ <b>{pending_total} alert events at once</b>, in one message:"
    lines = [header]
    size = len(header) + _DIGEST_FOOTER_ROOM
    for alert in alerts:
        line = _digest_line(alert)
        if alert.alert_id in escalated:
            line = f"{ESCALATION_ICON} {line}"
        if size + len(line) + 1 > MAX_TEXT and len(lines) > 1:
            break
        lines.append(line)
        size += len(line) + 1
    covered = len(lines) - 1
    if covered < pending_total:
        lines.append(f"… {pending_total - covered} more follow.")
    lines.append(f"Open alerts: /alerts · dashboard: {esc(dashboard_url)}")
    return "\n".join(lines), covered


def _digest_line(alert: Alert) -> str:
    machine = f"<b>{esc(clip(alert.machine_id, 32))}</b>"
    mode = esc(clip(alert.predicted_mode or "?", 16))
    if alert.state == "cleared":
        cleared = when(alert.cleared_at, with_date=False)
        icon, verb = (STALE_ICON, "stale") if alert.cleared_reason == "offline" else (CLEARED_ICON, "cleared")
        return f"{icon} {machine} {alert.kind} {mode} {verb} {cleared}"
    if isinstance(alert.early_warning, Mapping):
        head = f"{EARLY_WARNING_ICON} {machine} early warning {mode} {_time_left(alert.early_warning)}"
    else:
        head = f"{KIND_ICONS.get(alert.kind, '🟠')} {machine} {alert.kind} {_digest_figure(alert, mode)}"
    return f"{head} {when(alert.opened_at, with_date=False)} <code>{esc(clip(alert.alert_id, 64))}</code>"


def _digest_figure(alert: Alert, mode: str) -> str:
    if alert.kind == "rul":
        return f"~{life(alert.rul, clip(alert.rul_unit or '', 16))} left"
    if alert.kind == "anomaly":
        return f"score {score(alert.anomaly_score)} &gt; {score(alert.anomaly_threshold)}"
    return f"{mode} {percent(alert.failure_probability)}"
