"""The seed's design, rebuilt for comparison: score inside the MQTT callback, one reading at a time.

    python -m bench.seed_design      # same environment as `python -m inference_worker`

For each reading, paho's `on_message` decodes it, runs scikit-learn's `predict_proba`
on that one row (~5-10 ms whatever the batch size), and publishes the prediction from
the callback. paho reads before it writes and acknowledges after the callback returns,
so under load the callback's publishes starve and throughput collapses. Same model,
same contract, same broker session settings as the worker: only the design differs.
Never use this in service; `python -m bench` runs it for a bounded time.
"""

from __future__ import annotations

import signal
import threading

import paho.mqtt.client as mqtt

from common.logs import setup_logging
from common.mqtt import connect_client, create_client
from common.settings import run_cli
from contract import InvalidReading, Prediction, default_profile, reading_parser, utc_now_iso
from inference_worker import config
from model.artifact import NO_FAILURE, load_model
from model.engineering import spec_of_card


def main() -> int:
    cfg = config.load()
    log = setup_logging(cfg.instance)
    loaded = load_model(cfg.models_dir)
    pipeline = loaded.pipeline
    pipeline.steps[-1][1].set_params(n_jobs=1)
    none = loaded.classes.index(NO_FAILURE)
    topics = cfg.topics
    profile = default_profile()  # the benchmark's sensor is a machine of the default profile
    parser, spec = reading_parser(profile), spec_of_card(loaded.card)

    def on_message(client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        machine_id = topics.parse(message.topic).machine_id
        try:
            reading = parser.parse(bytes(message.payload), machine_id)
        except InvalidReading:
            return
        probability = float(1.0 - pipeline.predict_proba(spec.raw_matrix([reading.values]))[0, none])
        prediction = Prediction(
            reading_id=reading.reading_id,
            machine_id=machine_id,
            profile=profile.id,
            ts=reading.ts,
            scored_at=utc_now_iso(),
            status="predictive" if probability >= loaded.threshold else "normal",
            failure_probability=round(probability, 4),
            predicted_mode=None,
            model_version=loaded.version,
            threshold=loaded.threshold,
            values=reading.values,
            failure=reading.failure,
            failure_description=reading.failure_description,
        )
        client.publish(topics.predictions(machine_id), prediction.to_json(), qos=1)

    status = topics.service_status(cfg.instance)
    client = create_client(cfg.mqtt, status)
    client.on_message = on_message
    readings = topics.shared(cfg.share_group, topics.all_readings_any_depth())
    connect_client(client, cfg.mqtt, status_topic=status, subscriptions=[(readings, 1)])
    log.info("seed design serving model %s with scikit-learn inside the callback", loaded.version)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    run_cli(main)
