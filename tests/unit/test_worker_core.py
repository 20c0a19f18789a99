"""BatchProcessor with a fake model: decoding, rejections, scoring, alerts and explanations."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from contract import Alert, AlertRegister, Prediction, Profile, Rejection, Topics, default_profile, utc_now_iso
from contract.profiles import parse_profile
from contract.registry import UnknownProfile
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Incoming
from model.engineering import RAW_COLUMNS, feature_spec
from model.scoring import ScoreBatch

TOPICS = Topics("test")
NOW = "2026-01-01T00:00:00.000Z"
TORQUE = RAW_COLUMNS.index("torque_nm")


class FakeScorer:
    """Failure probability = torque / 100 Nm; mode "OSF" from a probability of 0.5 up."""

    def __init__(self, version: str = "0123456789ab", threshold: float = 0.6) -> None:
        self.version = version
        self.threshold = threshold
        self.spec = feature_spec(default_profile())
        self.batches: list[np.ndarray] = []

    def score(self, raw: np.ndarray) -> ScoreBatch:
        self.batches.append(raw)
        probability = raw[:, TORQUE] / 100.0
        return ScoreBatch(probability, ["OSF" if p >= 0.5 else None for p in probability.tolist()])


class FakeExplainer:
    """Names the torque of each row it is asked about, so the test sees which rows it got."""

    def __init__(self) -> None:
        self.rows = 0

    def explain(self, raw: np.ndarray) -> list[dict[str, Any]]:
        self.rows += len(raw)
        return [{"torque_nm": float(row[TORQUE])} for row in raw]


def _payload(n: int, **changes: Any) -> bytes:
    reading: dict[str, Any] = {
        "reading_id": f"r-{n}",
        "ts": utc_now_iso(),
        "type": "M",
        "air_temp_k": 300.0,
        "process_temp_k": 310.0,
        "rotational_speed_rpm": 1500,
        "torque_nm": 40.0,
        "tool_wear_min": 20,
        "failure": 0,
        "failure_description": "No Failure",
    }
    return json.dumps(reading | changes).encode()


def _reading(machine: str, n: int, **changes: Any) -> Incoming:
    return Incoming(TOPICS.readings(machine), _payload(n, **changes))


class Explainers:
    """The processor's `explainer_for`: records the versions asked for, hands out one explainer."""

    def __init__(self, explainer: FakeExplainer | None) -> None:
        self.explainer = explainer
        self.asked: list[str] = []

    def __call__(self, scorer: Any) -> FakeExplainer | None:
        self.asked.append(scorer.version)
        return self.explainer


FAN = parse_profile(
    """
id: fan-u
name: Test fan
fields:
  - {name: vibration_mm_s, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
  - {name: bearing_temp_c, label: bearing temperature, kind: sensor, unit: °C, min: -40, max: 200}
failure_modes:
  - {code: BRG, name: Bearing Failure}
""",
    "fan.yaml",
)
BINDINGS = {"fan-1": FAN}  # every other machine is an AI4I machine, but "stray" has no profile


def _profile_of(machine_id: str) -> Profile:
    if machine_id == "stray":
        raise UnknownProfile("machine stray is bound to no profile")
    return BINDINGS.get(machine_id, default_profile())


def _processor(scorer: FakeScorer | None = None, explainers: Explainers | None = None) -> BatchProcessor:
    model = scorer or FakeScorer()
    return BatchProcessor(
        TOPICS,
        lambda profile: model if profile.id == "ai4i-mill" else None,
        AlertTracker(clear_after=2),
        lambda: NOW,
        _profile_of,
        explainers or Explainers(None),
    )


def test_valid_readings_are_decoded_and_scored_in_one_call_in_order() -> None:
    scorer = FakeScorer()
    result = _processor(scorer).process([_reading("m1", 1, torque_nm=10.0), _reading("m2", 2, torque_nm=30.0)])
    assert len(scorer.batches) == 1
    assert scorer.batches[0][:, TORQUE].tolist() == [10.0, 30.0]
    first, second = result.predictions
    assert (first.machine_id, first.reading_id, first.failure_probability) == ("m1", "r-1", 0.1)
    assert (second.machine_id, second.reading_id, second.failure_probability) == ("m2", "r-2", 0.3)
    assert (first.model_version, first.threshold, first.scored_at) == ("0123456789ab", 0.6, NOW)
    assert (first.profile, first.values["torque_nm"]) == ("ai4i-mill", 10.0)
    assert result.rejections == []
    assert result.alerts == []


def test_status_follows_the_machine_then_the_threshold_and_the_mode_comes_from_the_scorer() -> None:
    result = _processor().process(
        [
            _reading("m1", 1, torque_nm=20.0),
            _reading("m1", 2, torque_nm=55.0),
            _reading("m1", 3, torque_nm=70.0),
            _reading("m1", 4, torque_nm=20.0, failure=1, failure_description="Power Failure"),
        ]
    )
    statuses = [(p.status, p.predicted_mode) for p in result.predictions]
    assert statuses == [("normal", None), ("normal", "OSF"), ("predictive", "OSF"), ("failure", None)]


def test_bad_messages_are_rejected_with_a_reason_and_the_rest_still_scored() -> None:
    scorer = FakeScorer()
    result = _processor(scorer).process(
        [
            Incoming(TOPICS.readings("m1") + "/extra", _payload(1)),
            Incoming(TOPICS.predictions("m1"), _payload(2)),
            Incoming(TOPICS.readings("m1"), b"{oops"),
            _reading("m1", 4, torque_nm="heavy"),
            _reading("m1", 5),
        ]
    )
    reasons = [(machine, rejection.reason) for machine, rejection in result.rejections]
    assert reasons[:2] == [("m1", "bad_topic"), ("m1", "bad_topic")]
    assert [reason for _, reason in reasons[2:]] == ["not_json", "wrong_type"]
    assert [p.reading_id for p in result.predictions] == ["r-5"]
    assert scorer.batches[0].shape == (1, len(RAW_COLUMNS))
    wrong_type = result.rejections[3][1]
    assert (wrong_type.field, wrong_type.reading_id, wrong_type.received_at) == ("torque_nm", "r-4", NOW)
    assert wrong_type.payload_excerpt.startswith('{"reading_id": "r-4"')


def test_a_topic_outside_the_machines_has_no_machine_to_report_to() -> None:
    result = _processor().process([Incoming("elsewhere/readings", _payload(1))])
    ((machine, rejection),) = result.rejections
    assert machine is None
    assert rejection.reason == "bad_topic"


def test_a_batch_of_rejections_only_never_calls_the_scorer() -> None:
    scorer = FakeScorer()
    result = _processor(scorer).process([Incoming(TOPICS.readings("m1"), b"[]")])
    assert scorer.batches == []
    assert result.predictions == []


def test_alerts_open_on_a_predictive_reading_and_clear_after_calm() -> None:
    processor = _processor()
    opened = processor.process([_reading("m1", 1, torque_nm=80.0), _reading("m1", 2, torque_nm=90.0)]).alerts
    assert [(a.kind, a.state, a.reading_id, a.predicted_mode) for a in opened] == [("predicted", "open", "r-1", "OSF")]
    # torque 40 Nm scores 0.4: under the threshold (0.6) but not calm (below 0.3, the clear ratio 0.5)
    assert processor.process([_reading("m1", 3), _reading("m1", 4), _reading("m1", 5)]).alerts == []
    assert processor.process([_reading("m1", 6, torque_nm=20.0)]).alerts == []
    (cleared,) = processor.process([_reading("m1", 7, torque_nm=20.0)]).alerts
    assert (cleared.alert_id, cleared.state, cleared.cleared_at) == (opened[0].alert_id, "cleared", NOW)


def test_outgoing_messages_go_to_the_contract_topics_in_publishing_order() -> None:
    result = _processor().process([_reading("m1", 1, torque_nm=90.0), Incoming(TOPICS.readings("m2"), b"{")])
    outgoing = result.outgoing(TOPICS)
    register = TOPICS.alert_state("m1", "predicted")
    assert [o.topic for o in outgoing] == [
        TOPICS.predictions("m1"),
        TOPICS.alerts("m1"),
        register,
        TOPICS.rejected("m2"),
    ]
    assert [o.retain for o in outgoing] == [False, False, True, False]  # the register is the workers' memory
    assert Prediction.from_json(outgoing[0].payload).reading_id == "r-1"
    assert AlertRegister.from_json(outgoing[2].payload).event() == Alert.from_json(outgoing[1].payload)
    assert Rejection.from_json(outgoing[3].payload).reason == "not_json"


def test_only_readings_that_need_it_are_explained_by_the_version_that_scored_them() -> None:
    explainers = Explainers(FakeExplainer())
    processor = _processor(FakeScorer(version="fedcba987654"), explainers)
    result = processor.process([_reading("m1", 1), _reading("m1", 2, torque_nm=75.0), _reading("m2", 3)])
    assert explainers.asked == ["fedcba987654"]
    assert explainers.explainer is not None
    assert explainers.explainer.rows == 1
    assert [p.explanation for p in result.predictions] == [None, {"torque_nm": 75.0}, None]


def test_a_calm_batch_asks_for_no_explainer_and_a_missing_one_leaves_no_explanation() -> None:
    explainers = Explainers(FakeExplainer())
    _processor(explainers=explainers).process([_reading("m1", 1)])
    assert explainers.asked == []
    (prediction,) = _processor(explainers=Explainers(None)).process([_reading("m1", 1, torque_nm=90.0)]).predictions
    assert prediction.status == "predictive"
    assert prediction.explanation is None


def test_an_early_warning_is_explained_and_opens_an_alert_on_a_normal_reading() -> None:
    explainer = FakeExplainer()
    processor = _processor(explainers=Explainers(explainer))
    worn = [_reading("m1", n, tool_wear_min=180 + 2 * n) for n in range(8)]
    result = processor.process(worn)
    warned = [p for p in result.predictions if p.explanation]
    assert warned
    assert all(p.status == "normal" for p in result.predictions)
    assert all(p.explanation and p.explanation["early_warning"]["mode"] == "TWF" for p in warned)
    assert [a.kind for a in result.alerts] == ["predicted"]
    assert "early warning" in result.alerts[0].message
    assert result.alerts[0].early_warning is not None
    assert result.alerts[0].early_warning["mode"] == "TWF"
    assert warned[0].explanation is not None
    assert result.alerts[0].early_warning["remaining"] == warned[0].explanation["early_warning"]["remaining"]
    assert explainer.rows == len(warned)


def test_a_machine_without_a_profile_is_rejected_and_a_profile_without_a_model_is_unscored() -> None:
    scorer = FakeScorer()
    fan = Incoming(
        TOPICS.readings("fan-1"),
        json.dumps(
            {"reading_id": "f-1", "ts": NOW, "vibration_mm_s": 3.5, "bearing_temp_c": 60, "torque_nm": "ignored"}
        ).encode(),
    )
    result = _processor(scorer).process([_reading("stray", 1), fan, _reading("m1", 2, torque_nm=30.0)])
    ((machine, rejection),) = result.rejections
    assert (machine, rejection.reason, rejection.detail) == (
        "stray",
        "unknown_profile",
        "machine stray is bound to no profile",
    )
    unscored, scored = result.predictions
    assert (unscored.machine_id, unscored.profile, unscored.status) == ("fan-1", "fan-u", "unscored")
    assert (unscored.failure_probability, unscored.model_version, unscored.threshold) == (None, None, None)
    assert unscored.values == {"vibration_mm_s": 3.5, "bearing_temp_c": 60.0}
    assert (scored.machine_id, scored.failure_probability) == ("m1", 0.3)
    assert len(scorer.batches) == 1
    assert scorer.batches[0].shape == (1, len(RAW_COLUMNS))  # the fan's reading never reached the AI4I model


def test_a_reading_is_validated_against_its_own_profile() -> None:
    result = _processor().process([Incoming(TOPICS.readings("fan-1"), _payload(1))])  # an AI4I reading from a fan
    ((_machine, rejection),) = result.rejections
    assert (rejection.reason, rejection.field) == ("missing_field", "vibration_mm_s")
