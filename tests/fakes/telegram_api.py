"""A fake Telegram Bot API server: real HTTP on a loopback port, no network needed.

    with FakeTelegram() as telegram:           # bot token: telegram.token
        ...TELEGRAM_API_BASE_URL = telegram.base_url
        telegram.user_says(chat_id=42, text="/status")      # an incoming update
        telegram.fail_next("sendMessage", Failure(429, retry_after=1), Failure(500))
        telegram.wait_for(lambda t: len(t.messages_to(42)) == 1)

Implements POST /bot<TOKEN>/<method> for getMe, getUpdates (long polling with offset and
timeout), sendMessage (checks the HTML and the length like Telegram, records the message
per chat with its inline keyboard), editMessageText (checks it like sendMessage, keeps the
message's history), answerCallbackQuery (records the answer), setMyCommands,
getMyCommands, deleteWebhook, close and logOut. `user_presses` sends the callback query of
an inline button, as Telegram does when a person presses it. Failures queued
with `fail_next` are answered (and counted) before the method works again.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Failure", "FakeTelegram", "SentMessage"]

BOT_ID = 7000001
# Tags Telegram's HTML parse mode accepts.
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
_STRAY_LT = re.compile(r"<(?!/?[a-zA-Z][a-zA-Z-]*[\s>])")
_STRAY_AMP = re.compile(r"&(?!(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);)")
_JSON_PARAMS = {"commands", "allowed_updates", "reply_markup", "entities", "link_preview_options", "scope"}


@dataclass(frozen=True)
class Failure:
    """One error answer: 429 (with retry_after seconds), 500, 502, 400, ..."""

    status: int
    retry_after: int | None = None
    description: str | None = None

    def body(self) -> dict[str, Any]:
        text = self.description or {
            429: "Too Many Requests: retry after {}",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(self.status, "Error").format(self.retry_after)
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": text}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent; `text` is what a person reads (HTML tags removed)."""

    message_id: int
    chat_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None = None
    edits: tuple[str, ...] = ()  # the visible text of each edit, oldest first

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1000
    next_message_id: int = 1
    messages: list[SentMessage] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    delays: dict[str, list[float]] = field(default_factory=dict)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)


class FakeTelegram:
    """The fake server; thread-safe, started by `start()` or `with`."""

    def __init__(self, token: str = "123456789:FAKE-token-for-tests_0123456789abcdef") -> None:  # noqa: S107
        self.token = token
        self.username = "forewarn_test_bot"
        self._state = _State()
        self._changed = threading.Condition()
        self._closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-telegram", daemon=True)

    @property
    def base_url(self) -> str:
        """What the bot takes as TELEGRAM_API_BASE_URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ for tests

    def user_says(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        username: str = "ada",
        chat_type: str = "private",
    ) -> int:
        """A person writes `text` in a chat; returns the update id the bot will get."""
        with self._changed:
            update_id = self._state.next_update_id
            self._state.next_update_id += 1
            message: dict[str, Any] = {
                "message_id": 100_000 + update_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, "first_name": first_name},
                "from": {
                    "id": user_id or abs(chat_id),
                    "is_bot": False,
                    "first_name": first_name,
                    "last_name": last_name,
                    "username": username,
                },
                "text": text,
            }
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            self._state.updates.append({"update_id": update_id, "message": message})
            self._changed.notify_all()
        return update_id

    def user_presses(
        self,
        message: SentMessage,
        callback_data: str,
        *,
        user_id: int = 4242,
        first_name: str = "Ada",
        last_name: str = "Lovelace",
    ) -> str:
        """A person presses the inline button carrying `callback_data` under `message`; the query id."""
        with self._changed:
            update_id = self._state.next_update_id
            self._state.next_update_id += 1
            query_id = f"cbq-{update_id}"
            self._state.updates.append(
                {
                    "update_id": update_id,
                    "callback_query": {
                        "id": query_id,
                        "from": {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name},
                        "chat_instance": str(message.chat_id),
                        "data": callback_data,
                        "message": {
                            "message_id": message.message_id,
                            "date": int(time.time()),
                            "chat": {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "group"},
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Forewarn"},
                            "text": message.text,
                        },
                    },
                }
            )
            self._changed.notify_all()
        return query_id

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._state.callback_answers)

    def message(self, message_id: int) -> SentMessage:
        with self._changed:
            return next(m for m in self._state.messages if m.message_id == message_id)

    def fail_next(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of `method` with these failures, in order."""
        with self._changed:
            self._state.failures.setdefault(method, []).extend(failures)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Answer the next `count` calls of `method` `seconds` late (after doing the work)."""
        with self._changed:
            self._state.delays.setdefault(method, []).extend([seconds] * count)

    def clear_failures(self) -> None:
        """Forget every queued failure: the service is healthy again."""
        with self._changed:
            self._state.failures.clear()

    def failures_left(self, method: str) -> int:
        with self._changed:
            return len(self._state.failures.get(method, []))

    @property
    def messages(self) -> list[SentMessage]:
        with self._changed:
            return list(self._state.messages)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[str]:
        with self._changed:
            return [c for c in self._state.calls if method is None or c == method]

    @property
    def commands(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._state.commands)

    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet (by asking with a higher offset)."""
        with self._changed:
            return len(self._state.updates)

    def wait_for(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 10.0) -> bool:
        """Wait until predicate(self) holds; the caller asserts on the result."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.1))
        return True

    # ------------------------------------------------------------------ the API

    def handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._changed:
            self._state.calls.append(method)
            self._changed.notify_all()
            queued = self._state.failures.get(method)
            if queued:
                failure = queued.pop(0)
                return failure.status, failure.body()
        answer = _METHODS.get(method)
        if answer is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        result = answer(self, params)
        with self._changed:
            delays = self._state.delays.get(method)
            delay = delays.pop(0) if delays else 0.0
        time.sleep(delay)  # a slow network: the work is done, the answer is late
        return result

    def _get_me(self, _params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(
            {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Forewarn",
                "username": self.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset, timeout = int(params.get("offset", 0)), float(params.get("timeout", 0))
        limit = int(params.get("limit", 100))
        deadline = time.monotonic() + timeout
        with self._changed:
            # Asking with an offset confirms every update below it: they are never sent again.
            self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            while not self._state.updates and not self._closing and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return 200, _ok(self._state.updates[:limit])

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        try:
            text = _visible_text(raw) if parse_mode == "HTML" else raw
        except ValueError as exc:
            return 400, _bad_request(f"can't parse entities: {exc}")
        if not text.strip():
            return 400, _bad_request("message text is empty")
        if len(text) > 4096:
            return 400, _bad_request("message is too long")
        chat_id = int(params["chat_id"])
        with self._changed:
            markup = params.get("reply_markup")
            sent = SentMessage(self._state.next_message_id, chat_id, text, raw, parse_mode, markup or None)
            self._state.next_message_id += 1
            self._state.messages.append(sent)
            self._changed.notify_all()
        return 200, _ok(
            {
                "message_id": sent.message_id,
                "date": int(time.time()),
                "text": text,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Forewarn"},
            }
        )

    def _edit_message_text(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        try:
            text = _visible_text(raw) if parse_mode == "HTML" else raw
        except ValueError as exc:
            return 400, _bad_request(f"can't parse entities: {exc}")
        if not text.strip() or len(text) > 4096:
            return 400, _bad_request("message text is empty or too long")
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        with self._changed:
            found = [
                i for i, m in enumerate(self._state.messages) if (m.chat_id, m.message_id) == (chat_id, message_id)
            ]
            if not found:
                return 400, _bad_request("message to edit not found")
            old = self._state.messages[found[0]]
            if raw == old.raw_text and params.get("reply_markup") == old.reply_markup:
                return 400, _bad_request("message is not modified")
            self._state.messages[found[0]] = SentMessage(
                old.message_id, chat_id, text, raw, parse_mode, params.get("reply_markup"), (*old.edits, text)
            )
            self._changed.notify_all()
        return 200, _ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "text": text,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Forewarn"},
            }
        )

    def _answer_callback_query(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self._state.callback_answers.append(dict(params))
            self._changed.notify_all()
        return 200, _ok(True)

    def _set_my_commands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self._state.commands = list(params.get("commands", []))
        return 200, _ok(True)

    def _get_my_commands(self, _params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(self.commands)

    def _true(self, _params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(True)


_METHODS: dict[str, Callable[[FakeTelegram, dict[str, Any]], tuple[int, dict[str, Any]]]] = {
    "getMe": FakeTelegram._get_me,
    "getUpdates": FakeTelegram._get_updates,
    "sendMessage": FakeTelegram._send_message,
    "editMessageText": FakeTelegram._edit_message_text,
    "answerCallbackQuery": FakeTelegram._answer_callback_query,
    "setMyCommands": FakeTelegram._set_my_commands,
    "getMyCommands": FakeTelegram._get_my_commands,
    "deleteWebhook": FakeTelegram._true,
    "close": FakeTelegram._true,
    "logOut": FakeTelegram._true,
}


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _bad_request(detail: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": f"Bad Request: {detail}"}


class _TelegramHtml(HTMLParser):
    """Checks HTML the way Telegram does (known tags, balanced) and keeps the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise ValueError(f"unsupported start tag {tag!r}")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise ValueError(f"can't find end tag corresponding to start tag {tag!r}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _visible_text(raw: str) -> str:
    stray = _STRAY_LT.search(raw) or _STRAY_AMP.search(raw)
    if stray:
        raise ValueError(f"unescaped {stray.group()[0]!r} at byte offset {stray.start()}")
    parser = _TelegramHtml()
    parser.feed(raw)
    parser.close()
    if parser.open:
        raise ValueError(f"unclosed tag {parser.open[-1]!r}")
    return "".join(parser.text)


def _params(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length).decode() if length else ""
    if (handler.headers.get("Content-Type") or "").startswith("application/json"):
        return dict(json.loads(body or "{}"))
    params: dict[str, Any] = dict(parse_qsl(body, keep_blank_values=True))
    for name in _JSON_PARAMS & params.keys():
        params[name] = json.loads(params[name])
    return params


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            head, _, method = self.path.partition("?")[0].lstrip("/").partition("/")
            if not head.startswith("bot"):
                self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            self._answer(*fake.handle(head[3:], method, _params(self)))

        do_GET = do_POST  # noqa: N815 (http.server's naming)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the bot gave up on a long poll (stopping): nothing to answer

        def log_message(self, *_args: object) -> None:
            pass

    return Handler
