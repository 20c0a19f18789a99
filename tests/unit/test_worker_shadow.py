"""Champion and challenger in the worker's core: the challenger scores every reading in shadow, never alerts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from contract import Prediction, Profile
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Scorer
from model.scoring import ScoreBatch
from tests.unit.test_worker_core import NOW, TOPICS, TORQUE, Explainers, FakeScorer, _profile_of, _reading


class FailingScorer(FakeScorer):
    def score(self, raw: np.ndarray) -> ScoreBatch:
        raise RuntimeError("challenger broke")


def _processor(champion: Scorer, challenger: Scorer | None) -> BatchProcessor:
    def ai4i_only(model: Scorer | None) -> Callable[[Profile], Scorer | None]:
        return lambda profile: model if profile.id == "ai4i-mill" else None

    return BatchProcessor(
        TOPICS,
        ai4i_only(champion),
        AlertTracker(clear_after=2),
        lambda: NOW,
        _profile_of,
        Explainers(None),
        challengers=ai4i_only(challenger),
    )


class HalfScorer(FakeScorer):
    """The challenger: half the champion's probability, so they disagree on what they flag."""

    def score(self, raw: np.ndarray) -> ScoreBatch:
        self.batches.append(raw)
        probability = raw[:, TORQUE] / 200.0
        return ScoreBatch(probability, ["TWF" if p >= 0.3 else None for p in probability.tolist()])


def test_every_reading_gets_one_champion_and_one_shadow_prediction_each_naming_its_model() -> None:
    champion, challenger = FakeScorer("aaaaaaaaaaaa", 0.6), HalfScorer("bbbbbbbbbbbb", 0.3)
    result = _processor(champion, challenger).process(
        [_reading("m1", 1, torque_nm=20.0), _reading("m2", 2, torque_nm=70.0)]
    )
    assert [(p.reading_id, p.model_version, p.shadow) for p in result.predictions] == [
        ("r-1", "aaaaaaaaaaaa", False),
        ("r-2", "aaaaaaaaaaaa", False),
    ]
    assert [(p.reading_id, p.model_version, p.shadow) for p in result.shadow] == [
        ("r-1", "bbbbbbbbbbbb", True),
        ("r-2", "bbbbbbbbbbbb", True),
    ]
    first, second = result.shadow
    assert (first.failure_probability, first.threshold, first.status) == (0.1, 0.3, "normal")
    assert (second.failure_probability, second.status, second.predicted_mode) == (0.35, "predictive", "TWF")
    assert len(challenger.batches) == 1


def test_a_shadow_prediction_never_opens_an_alert_and_goes_to_the_shadow_topic() -> None:
    champion, challenger = FakeScorer("aaaaaaaaaaaa", 0.9), HalfScorer("bbbbbbbbbbbb", 0.2)
    result = _processor(champion, challenger).process([_reading("m1", 1, torque_nm=80.0)])
    assert result.predictions[0].status == "normal"
    assert result.shadow[0].status == "predictive"
    assert result.alerts == []
    outgoing = result.outgoing(TOPICS)
    assert [o.topic for o in outgoing] == [TOPICS.predictions("m1"), TOPICS.shadow("m1")]
    decoded = Prediction.from_json(outgoing[1].payload)
    assert (decoded.shadow, decoded.model_version) == (True, "bbbbbbbbbbbb")
    assert Prediction.from_json(outgoing[0].payload).shadow is False


def test_a_challenger_that_fails_costs_only_its_shadow_predictions() -> None:
    processor = _processor(FakeScorer("aaaaaaaaaaaa", 0.6), FailingScorer("bbbbbbbbbbbb"))
    result = processor.process([_reading("m1", 1, torque_nm=80.0), _reading("m1", 2)])
    assert [p.model_version for p in result.predictions] == ["aaaaaaaaaaaa", "aaaaaaaaaaaa"]
    assert result.shadow == []
    assert [a.kind for a in result.alerts] == ["predicted"]
    assert processor.shadow_failures == 1


def test_without_a_challenger_nothing_is_scored_in_shadow() -> None:
    result = _processor(FakeScorer(), None).process([_reading("m1", 1)])
    assert len(result.predictions) == 1
    assert result.shadow == []


def test_a_shadow_prediction_of_a_failing_machine_says_failure_like_the_champions() -> None:
    champion, challenger = FakeScorer("aaaaaaaaaaaa"), HalfScorer("bbbbbbbbbbbb")
    result = _processor(champion, challenger).process(
        [_reading("m1", 1, failure=1, failure_description="Power Failure")]
    )
    assert result.predictions[0].status == result.shadow[0].status == "failure"
