"""Inline verdict buttons under an alert message (pure).

Each button's callback data is ``v|CODE|ALERT_ID`` (Telegram allows 64 bytes: an alert id
longer than fits gets no buttons, the message still says how to act by command). Pressing
one records the verdict through the API in the presser's name; the bot then edits the
message to say who decided what, and keeps the buttons so the verdict can be changed.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from telegram_bot.text import esc

__all__ = ["CALLBACK_PATTERN", "parse_callback", "verdict_keyboard", "verdict_line", "with_verdict"]

CALLBACK_PATTERN = r"^v\|"
_MAX_DATA = 64
_CODES = {"rf": "real_failure", "fa": "false_alarm", "pm": "planned_maintenance", "un": "unsure"}
_LABELS = {
    "real_failure": "✅ Real failure",
    "false_alarm": "❌ False alarm",
    "planned_maintenance": "🛠 Planned maintenance",
    "unsure": "❔ Unsure",
}
VERDICT_MARK = "Verdict:"
_TAG = re.compile(r"<[^>]+>")


def verdict_keyboard(alert_id: str) -> InlineKeyboardMarkup | None:
    """Two rows of two verdict buttons; None when the alert id is too long for callback data."""
    data = {code: f"v|{code}|{alert_id}" for code in _CODES}
    if any(len(value.encode()) > _MAX_DATA for value in data.values()):
        return None
    buttons = [InlineKeyboardButton(_LABELS[_CODES[code]], callback_data=value) for code, value in data.items()]
    return InlineKeyboardMarkup([buttons[:2], buttons[2:]])


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """(verdict, alert_id) of a button's callback data; None when it is not one of ours."""
    parts = (data or "").split("|", 2)
    if len(parts) != 3 or parts[0] != "v" or parts[1] not in _CODES or not parts[2]:
        return None
    return _CODES[parts[1]], parts[2]


def verdict_line(verdict: str, who: str, mode: str | None = None) -> str:
    """'Verdict: false alarm — by Ada Lovelace' (HTML)."""
    what = esc(verdict.replace("_", " ")) + (f" ({esc(mode)})" if mode else "")
    return f"<b>{VERDICT_MARK}</b> {what} — by {esc(who)}"


def with_verdict(text_html: str, line: str) -> str:
    """The message's text with its verdict line replaced (a changed verdict) or added."""
    kept = [row for row in text_html.splitlines() if not _TAG.sub("", row).startswith(VERDICT_MARK)]
    return "\n".join([*kept, line])
