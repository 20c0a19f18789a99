"""Issue 17's "Done when": verdicts teach a challenger, it shadows, is compared, promoted and rolled back under load.

The scenario itself is bench/lifecycle.py (``python -m bench.lifecycle`` prints its figures);
here it runs smaller, against the session's broker and model, and every promise is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.lifecycle import ScenarioConfig, format_figures, run_scenario
from broker.local import LocalBroker
from model.artifact import current_version
from model.roles import read_role


@pytest.mark.timeout(900)  # about 2 minutes alone; a shared CI machine may take several times that
def test_a_challenger_learned_from_verdicts_shadows_then_is_promoted_and_rolled_back_under_load(
    broker: LocalBroker, models_dir: Path, tmp_path: Path, machine_id: str
) -> None:
    config = ScenarioConfig(history_readings=1500, shadow_readings=500, swap_readings=400, swap_seconds=5.0)
    result = run_scenario(broker, models_dir, tmp_path, config, tag=machine_id[:20])
    figures = result.figures
    print(format_figures(figures))  # the closing note's figures (pytest -s)

    assert result.challenger != result.champion
    labels = figures["card_labels"]
    assert labels["verdict:real_failure"]["readings"] > 0
    assert labels["verdict:false_alarm"]["readings"] > 0
    assert labels["reported_failure"]["failures"] > 0
    assert figures["rejected"] == 0

    comparison = figures["comparison"]
    assert comparison["readings"] == config.machines * config.shadow_readings  # both scored every reading
    assert comparison["challenger"]["version"] == result.challenger
    assert comparison["champion"]["labelled"] > 0
    assert comparison["agreement"] is not None
    for model in ("champion", "challenger"):
        assert comparison[model]["alerts_per_machine_day"] > 0
        assert comparison[model]["ms_per_reading"] > 0
    # The plant's tools are weaker than AI4I's: the challenger, taught by its verdicts and reports,
    # catches the failures the champion misses, and the ground truth (never shown to it) agrees.
    truth = figures["ground_truth"]
    assert truth["challenger"]["recall"] > truth["champion"]["recall"] + 0.2
    # ...without paying for it in false alarms: its F1 on the ground truth beats the champion's
    # (precision alone swings with the few hundred flagged readings of this short run)
    assert _f1(truth["challenger"]) > _f1(truth["champion"])
    assert truth["challenger"]["precision"] > 0.6
    assert comparison["challenger"]["recall"] > comparison["champion"]["recall"]

    # Fewer alerts, none missed: the same predictions through the worker's alert rules, before and
    # after hysteresis and the operator's snooze (bench/alert_replay.py).
    for model, rates in figures["alert_rates"].items():
        before, after = rates["before"], rates["after"]
        assert before["failures"] > 0, model
        assert after["alerts_per_machine_day"] < before["alerts_per_machine_day"], model
        assert after["lost"] == 0, f"{model}: hysteresis and snooze hid {after['lost']} real failures"
        assert after["missed"] <= before["missed"], model
    snoozed = figures["alert_rates"]["champion"]["after"]
    assert snoozed["snoozes"] > 0
    assert snoozed["notified"] < snoozed["opened"]  # alerts snoozed after false alarms: recorded, not sent

    # Promotion and rollback under load: every reading scored exactly once by a champion,
    # every prediction naming its model, the versions switching A -> B -> A between batches.
    assert sorted(result.swap_scored) == sorted(result.swap_sent)
    assert set(result.swap_scored.values()) == {1}
    assert result.unnamed == 0
    assert set(result.swap_versions) == {result.champion, result.challenger}
    runs = [v for i, v in enumerate(result.swap_versions) if i == 0 or v != result.swap_versions[i - 1]]
    assert runs == [result.champion, result.challenger, result.champion]
    assert max(result.swap_shadow.values(), default=1) == 1  # a shadow prediction at most once too
    models = tmp_path / "models"
    assert current_version(models) == result.champion
    assert read_role(models, "previous", "ai4i-mill") == result.challenger
    assert read_role(models, "challenger", "ai4i-mill") is None


def _f1(figures: dict[str, float]) -> float:
    precision, recall = figures["precision"] or 0.0, figures["recall"] or 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
