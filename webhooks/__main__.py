"""Run the webhooks service.

    python -m webhooks        # endpoints from FOREWARN_WEBHOOKS_FILE (default var/webhooks.json)

Without the file it says how to enable it and exits 0, so `make up` can always start it. A
bad file (not JSON, a URL that is not http(s), a missing secret...) is one line naming the file
and the field, and exit status 2. See webhooks/README.md.
"""

from __future__ import annotations

import signal
import threading

from common.logs import setup_logging
from common.settings import run_cli
from webhooks import config
from webhooks.endpoints import load_endpoints
from webhooks.service import WebhookService

HOW_TO_ENABLE = "webhooks: off (no {file}; list your endpoints there to enable them, see webhooks/README.md)"


def main() -> int:
    path = config.endpoints_file()
    if not path.exists():
        print(HOW_TO_ENABLE.format(file=path))
        return 0
    endpoints = load_endpoints(path)
    cfg = config.load()
    setup_logging(config.SERVICE)
    service = WebhookService(cfg, endpoints)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    service.start()
    try:
        stop.wait()
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    run_cli(main)
