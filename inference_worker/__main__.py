"""Run the inference worker.

    python -m inference_worker

Settings come from the environment (see inference_worker/config.py and the README):
FOREWARN_MQTT_HOST/PORT/CA/USERNAME/PASSWORD(_FILE), FOREWARN_WORKER_ID (names this
worker's persistent session: keep it stable across restarts), FOREWARN_MODELS_DIR,
FOREWARN_REGISTRY_DIR (machine -> profile bindings, re-read on change), ...
Start more workers with other FOREWARN_WORKER_IDs to split the load.

Each profile's model is loaded when its first reading arrives (the default profile's and
those of bound profiles at start-up, so a missing or broken model shows in the log at once);
a profile without a model is served `unscored` until one is trained.

Exit status: 0 after SIGTERM/SIGINT; 1 when the worker loop died of an unexpected error
(it said `offline` first), so that a supervisor restarts it; 2 for a configuration error.
"""

from __future__ import annotations

import signal
import threading

from common import gc_tuning
from common.logs import setup_logging
from common.settings import run_cli
from contract import DEFAULT_PROFILE
from inference_worker import config
from inference_worker.service import Worker


def main() -> int:
    cfg = config.load()
    log = setup_logging(cfg.instance)
    stopping = threading.Event()
    worker = Worker(cfg, on_failure=stopping.set)
    bound = set(worker.registry.bindings().values())
    for profile_id, profile in worker.registry.profiles().items():
        if profile_id == DEFAULT_PROFILE or profile_id in bound:
            worker.models.scorer_for(profile)
    log.info("models in service: %s", worker.models.served())
    if shadowed := worker.models.shadowed():
        log.info("challengers in shadow (scored, never alerting): %s", shadowed)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    worker.start()
    gc_tuning.settle()  # started: the models and what start-up built stay out of the collector's walks
    stopping.wait()
    if worker.failed:
        log.error("exiting with status 1: the worker loop died (see above)")
        return 1
    log.info("stopping")
    worker.stop()
    return 0


if __name__ == "__main__":
    run_cli(main)
