"""Explanations: decision-path contributions that add up, and the failure-mode rules in words."""

from __future__ import annotations

import numpy as np
import pytest

from contract import parse_reading
from model.artifact import NO_FAILURE, load_model
from model.engineering import raw_matrix
from model.explain import Explainer, ForestArrays, forest_arrays, rule_conditions
from tests.support.payloads import encode, example, reading


@pytest.fixture(scope="module")
def loaded(models_dir):
    return load_model(models_dir)


def test_contributions_add_up_to_the_forest_probability(loaded, tmp_path) -> None:
    arrays = forest_arrays(loaded.pipeline, loaded.classes.index(NO_FAILURE))
    arrays.save(tmp_path / "explainer.npz")
    explainer = Explainer(ForestArrays.load(tmp_path / "explainer.npz"))
    rows = [parse_reading(encode(reading(torque_nm=t, tool_wear_min=w))) for t in (20, 40, 65) for w in (10, 150, 230)]
    raw = raw_matrix(rows)
    probability = 1 - loaded.pipeline.predict_proba(raw)[:, loaded.classes.index(NO_FAILURE)]
    totals = explainer.base_value + explainer.contributions(raw).sum(axis=1)
    assert np.max(np.abs(totals - probability)) < 1e-9


def test_an_explanation_lists_the_drivers_and_the_rules(loaded) -> None:
    explainer = Explainer(forest_arrays(loaded.pipeline, loaded.classes.index(NO_FAILURE)))
    raw = raw_matrix([parse_reading(encode(example("reading")))])
    (explanation,) = explainer.explain(raw)
    shown = sum(c["contribution"] for c in explanation["contributions"])
    probability = 1 - loaded.pipeline.predict_proba(raw)[0, loaded.classes.index(NO_FAILURE)]
    assert explanation["base_value"] + shown + explanation["rest"] == pytest.approx(probability, abs=1e-3)
    assert explanation["contributions"][0]["contribution"] > 0
    assert {c["mode"] for c in explanation["conditions"]} == {"PWF", "OSF"}


def test_rule_conditions_say_the_margin_in_words() -> None:
    # type L, air 300 K, process 308 K (8.0 K apart), 1300 rpm, 40 Nm, 280 min -> 11,200 min*Nm
    (heat, overstrain) = rule_conditions(np.array([0, 300.0, 308.0, 1300, 40.0, 280]))
    assert heat["mode"] == "HDF"
    assert heat["holds"] is True
    assert "8.0 K below the 8.6 K limit" in heat["text"]
    assert overstrain["text"] == "wear × torque 11,200 min·Nm, 102% of the 11,000 limit for type L"
    assert rule_conditions(np.array([1, 300.0, 310.0, 1500, 40.0, 20])) == []
