"""The text of command replies, built from the API's JSON (pure, defensive about shapes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from telegram_bot.text import (
    ANOMALY_MEANING,
    KIND_ICONS,
    MAX_TEXT,
    OFFLINE_ICON,
    STATUS_ICONS,
    Profile,
    as_list,
    clip,
    esc,
    life,
    life_interval,
    machine_link,
    mode_text,
    model_kind,
    percent,
    reading_values,
    rul_horizon,
    rul_unit,
    score,
    when,
)

__all__ = [
    "COMMANDS",
    "alerts_reply",
    "help_reply",
    "machine_reply",
    "menu",
    "mutes_reply",
    "status_reply",
]

# (command, arguments, what it does): the command menu and /help are both made from this.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("status", "", "all machines, counts by state"),
    ("machine", "ID", "latest values, status, probability or remaining life or anomaly score, open alerts"),
    ("alerts", "", "open alerts"),
    ("ack", "ALERT_ID", "acknowledge an alert"),
    ("mute", "ID MINUTES", "silence a machine's alerts in this chat"),
    ("unmute", "ID", "hear a machine's alerts again"),
    ("maintenance", "ID ACTION [note]", "log maintenance: tool_replaced, repaired, inspected, other"),
    ("snooze", "machine|alert ID MINUTES", "alerts recorded, not sent, everywhere, for a while"),
    ("help", "", "what this bot does"),
)
_SEVERITY_ORDER = {"failure": 0, "predictive": 1, "offline": 2, "normal": 3}


def menu() -> list[tuple[str, str]]:
    """(command, description) pairs for Telegram's command menu."""
    return [(name, f"{args}: {text}" if args else text) for name, args, text in COMMANDS]


def help_reply(dashboard_url: str) -> str:
    """The text of /start and /help."""
    lines = ["<b>Forewarn</b> sends this chat the alerts of your machines and answers:"]
    lines += [f"/{' '.join(filter(None, (name, args)))} — {esc(text)}" for name, args, text in COMMANDS]
    lines.append(f"Dashboard: {esc(dashboard_url)}")
    return "\n".join(lines)


def status_reply(data: Mapping[str, Any]) -> str:
    """/status: counts by state, then one line per machine, worst first."""
    machines = [m for m in as_list(data.get("machines")) if isinstance(m, Mapping)]
    if not machines:
        return "No machines have reported yet."
    counts = data["counts"] if isinstance(data.get("counts"), Mapping) else {}
    summary = " · ".join(
        f"{icon} {_count(counts, state)} {state}" for state, icon in (*STATUS_ICONS.items(), ("offline", OFFLINE_ICON))
    )
    header = f"<b>{len(machines)} machines</b>: {summary}"
    lines = [_status_line(m) for m in sorted(machines, key=_severity)]
    return _fit(header, lines, footer="Details: /machine ID")


def _count(counts: Mapping[str, Any], state: str) -> int:
    value = counts.get(state)
    return value if isinstance(value, int) else 0


def _severity(machine: Mapping[str, Any]) -> tuple[int, str]:
    state = "offline" if machine.get("online") is False else str(machine.get("status"))
    return _SEVERITY_ORDER.get(state, 4), str(machine.get("machine_id"))


def _status_line(machine: Mapping[str, Any]) -> str:
    name = f"<b>{esc(clip(str(machine.get('machine_id')), 40))}</b>"
    if machine.get("online") is False:
        return f"{OFFLINE_ICON} {name} offline, last seen {when(machine.get('last_seen'))}"
    status = machine.get("status")
    latest = machine.get("latest") if isinstance(machine.get("latest"), Mapping) else {}
    kind = model_kind(latest, None)
    parts = [f"{STATUS_ICONS.get(str(status), '⚪')} {name} {esc(_status_word(status, kind))}"]
    if latest:
        parts.append(_figure(latest, kind))
    alerts = as_list(machine.get("open_alerts"))
    if alerts:
        parts.append(f"{len(alerts)} open alert{'s' if len(alerts) > 1 else ''}")
    return ", ".join(parts)


def machine_reply(machine: Mapping[str, Any], dashboard_url: str, profile: Profile = None) -> str:
    """/machine ID: status, the model's verdict (failure probability, remaining useful life with
    its interval and horizon, or anomaly score against its threshold), latest values (the
    profile's fields) and open alerts."""
    machine_id = str(machine.get("machine_id"))
    online = "online" if machine.get("online") else "offline"
    status = machine.get("status")
    icon = STATUS_ICONS.get(str(status), "⚪")
    latest = machine.get("latest")
    kind = model_kind(latest if isinstance(latest, Mapping) else None, profile)
    lines = [f"{icon} <b>{esc(machine_id)}</b>: {esc(_status_word(status, kind))}, {online}"]
    if profile and isinstance(profile.get("name"), str):
        lines.append(f"Profile: {esc(profile['name'])} ({esc(profile.get('id'))})")
    if isinstance(latest, Mapping):
        lines += _latest_lines(latest, machine.get("threshold"), profile, kind)
    alerts = [a for a in as_list(machine.get("open_alerts")) if isinstance(a, Mapping)]
    lines.append(f"Open alerts: {len(alerts)}" if alerts else "No open alerts.")
    lines += [_alert_line(alert, with_machine=False, profile=profile) for alert in alerts[:10]]
    lines.append(machine_link(dashboard_url, machine_id))
    return "\n".join(lines)


def _status_word(status: object, kind: str) -> str:
    """The status as this kind of model means it: `predictive` is a predicted failure, a life
    within its horizon, or an anomaly."""
    if status == "predictive" and kind == "rul":
        return "within horizon"
    if status == "predictive" and kind == "anomaly":
        return "anomaly"
    return str(status or "no data")


def _figure(latest: Mapping[str, Any], kind: str) -> str:
    """The short verdict of /status: a probability, a remaining life or an anomaly score."""
    if kind == "rul":
        return f"~{life(latest.get('rul'), rul_unit(latest, None))} left"
    if kind == "anomaly":
        return f"anomaly score {score(latest.get('anomaly_score'))}"
    return percent(latest.get("failure_probability"))


def _model_line(latest: Mapping[str, Any], threshold: object, profile: Profile, kind: str) -> str:
    if kind == "rul":
        unit = rul_unit(latest, profile)
        if latest.get("rul") is None:
            return "Remaining useful life: not estimated yet (the model needs more readings)"
        line = f"Remaining useful life ~{life(latest.get('rul'), unit)}"
        line += life_interval(latest.get("rul_low"), latest.get("rul_high"))
        horizon = rul_horizon(latest, profile)
        return line if horizon is None else f"{line}, horizon {life(horizon, unit)}"
    if kind == "anomaly":
        if latest.get("anomaly_score") is None:
            return "Anomaly score: not computed yet (the model needs more readings)"
        above = latest.get("status") == "predictive"
        verdict = f"above: an anomaly — {ANOMALY_MEANING}" if above else "below: normal behaviour"
        return (
            f"Anomaly score {score(latest.get('anomaly_score'))} vs threshold "
            f"{score(latest.get('anomaly_threshold'))} ({verdict})"
        )
    line = f"Failure probability {percent(latest.get('failure_probability'))}"
    if threshold is not None:
        line += f" (threshold {percent(threshold)})"
    if latest.get("predicted_mode"):
        line += f", {mode_text(latest.get('predicted_mode'), profile)}"
    return line


def _latest_lines(latest: Mapping[str, Any], threshold: object, profile: Profile, kind: str) -> list[str]:
    line = _model_line(latest, threshold, profile, kind)
    values = reading_values(latest, profile)
    return [line, *(["Latest: " + ", ".join(values)] if values else []), f"At {when(latest.get('ts'))}"]


def alerts_reply(data: Mapping[str, Any]) -> str:
    """/alerts: the open alerts, newest first, each with how to acknowledge it."""
    alerts = [a for a in as_list(data.get("alerts")) if isinstance(a, Mapping) and a.get("state") == "open"]
    if not alerts:
        return "✅ No open alerts."
    header = f"<b>{len(alerts)} open alert{'s' if len(alerts) > 1 else ''}</b>"
    return _fit(header, list(map(_alert_line, alerts)))


def _alert_line(alert: Mapping[str, Any], with_machine: bool = True, profile: Profile = None) -> str:
    kind = alert.get("kind")
    icon = KIND_ICONS.get(str(kind), "🟠")
    machine = f"<b>{esc(clip(str(alert.get('machine_id')), 40))}</b> " if with_machine else ""
    if kind == "rul":
        what = f"entered its horizon, ~{life(alert.get('rul'), rul_unit(alert, profile))} left"
    elif kind == "anomaly":
        what = f"anomaly, score {score(alert.get('anomaly_score'))} above {score(alert.get('anomaly_threshold'))}"
    else:
        what = f"{mode_text(alert.get('predicted_mode'), profile)}, {percent(alert.get('failure_probability'))}"
    text = f"{icon} {machine}{esc(kind)}, {what}, since {when(alert.get('opened_at'))}"
    if alert.get("acked_by"):
        return f"{text}\n    acknowledged by {esc(alert['acked_by'])}"
    return f"{text}\n    <code>/ack {esc(alert.get('alert_id'))}</code>"


def mutes_reply(mutes: Sequence[tuple[str, datetime]]) -> str:
    """/mute without arguments: what is muted in this chat."""
    if not mutes:
        return "Nothing is muted in this chat. Usage: /mute ID MINUTES"
    lines = [f"<b>{esc(machine)}</b> until {until:%Y-%m-%d %H:%M UTC}" for machine, until in mutes]
    return "Muted in this chat:\n" + "\n".join(lines)


def _fit(header: str, lines: list[str], footer: str | None = None) -> str:
    """Header, as many lines as fit in one message, a note on the rest, the footer."""
    kept: list[str] = []
    size = len(header) + len(footer or "") + 60
    for line in lines:
        if size + len(line) + 1 > MAX_TEXT:
            break
        kept.append(line)
        size += len(line) + 1
    rest = [f"… and {len(lines) - len(kept)} more (see the dashboard)"] if len(kept) < len(lines) else []
    return "\n".join([header, *kept, *rest, *([footer] if footer else [])])
