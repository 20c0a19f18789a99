"""Keep the bot token out of every log line, whoever logs it (httpx logs request URLs)."""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["TokenRedactor", "install_redactor"]

MASK = "<bot-token>"


class TokenRedactor(logging.Filter):
    """Replaces the token in a record's message, exception and stack text."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, MASK), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for name in ("exc_text", "stack_info"):
            text = getattr(record, name)
            if text and self.secret in text:
                setattr(record, name, text.replace(self.secret, MASK))
        return True


def install_redactor(secret: str, logger: logging.Logger | None = None) -> Callable[[], None]:
    """Add the filter to every handler of `logger` (the root); returns a function that removes it.

    A filter on a handler sees records from all loggers, unlike a filter on a logger.
    """
    target = logger or logging.getLogger()
    redactor = TokenRedactor(secret)
    handlers = list(target.handlers)
    for handler in handlers:
        handler.addFilter(redactor)

    def remove() -> None:
        for handler in handlers:
            handler.removeFilter(redactor)

    return remove
