"""Run the inference worker.

    python -m inference_worker

Settings come from the environment (see inference_worker/config.py and the README):
FOREWARN_MQTT_HOST/PORT/CA/USERNAME/PASSWORD(_FILE), FOREWARN_WORKER_ID (names this
worker's persistent session: keep it stable across restarts), FOREWARN_MODELS_DIR, ...
Start more workers with other FOREWARN_WORKER_IDs to split the load.

Exit status: 0 after SIGTERM/SIGINT; 1 when the worker loop died of an unexpected error
(it said `offline` first), so that a supervisor restarts it; 2 for a configuration error.
"""

from __future__ import annotations

import signal
import threading

from common.logs import setup_logging
from common.settings import ConfigError, run_cli
from inference_worker import config
from inference_worker.service import Worker
from model.artifact import ModelError, load_model
from model.scoring import ModelScorer


def main() -> int:
    cfg = config.load()
    log = setup_logging(cfg.instance)
    try:
        scorer = ModelScorer(load_model(cfg.models_dir, defer_pipeline=True))
    except ModelError as exc:
        raise ConfigError(str(exc)) from None
    log.info("serving model %s (threshold %.3f)", scorer.version, scorer.threshold)
    stopping = threading.Event()
    worker = Worker(cfg, scorer, on_failure=stopping.set)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    worker.start()
    stopping.wait()
    if worker.failed:
        log.error("exiting with status 1: the worker loop died (see above)")
        return 1
    log.info("stopping")
    worker.stop()
    return 0


if __name__ == "__main__":
    run_cli(main)
