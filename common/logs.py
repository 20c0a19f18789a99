"""One log format for every service: time, service, level, message.

Under `make up`, FOREWARN_LOG_DIR makes each service also write a rotating file there.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(service)s %(levelname)s %(message)s"


class _ServiceFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


def setup_logging(service: str, level: str | None = None) -> logging.Logger:
    """Configure the root logger for `service` and return the service's logger."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level or os.environ.get("FOREWARN_LOG_LEVEL", "INFO"))
    for handler in _handlers(service):
        handler.addFilter(_ServiceFilter(service))
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs bot-token URLs at INFO
    return logging.getLogger(service)


def _handlers(service: str) -> list[logging.Handler]:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    log_dir = os.environ.get("FOREWARN_LOG_DIR")
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(Path(log_dir) / f"{service}.log", maxBytes=10_000_000, backupCount=5)
        )
    return handlers
