"""Human-readable text of RUL and anomaly training results and evaluations."""

from __future__ import annotations

from typing import Any

from training.series.evaluate import SeriesEvaluation
from training.series.train import SeriesTrainResult

__all__ = ["format_series_evaluation", "format_series_training"]


def _spread(figure: dict[str, float]) -> str:
    return f"{figure['mean']:.2f} (sd {figure['sd']:.2f}, {figure['min']:.2f}-{figure['max']:.2f})"


def format_series_training(result: SeriesTrainResult) -> str:
    """Summary printed after training."""
    card = result.card
    data = card["data"]
    head = (
        f"{card['kind']} model {result.version} for profile {card['profile']['id']}: {data['rows']} rows of "
        f"{data['machines']} machines, {result.seconds:.1f} s; truth from {data['truth']}"
    )
    validation = card["metrics"]["validation"]
    lines = [head, *(_rul_training(card, validation) if card["kind"] == "rul" else _anomaly_training(card, validation))]
    lines.append(f"ONNX parity on the training rows: max |diff| {card['onnx']['parity']['max_abs_diff']:.2g}")
    return "\n".join(lines)


def _rul_training(card: dict[str, Any], v: dict[str, Any]) -> list[str]:
    unit = card["unit"]
    cut = v["cut"]
    folds = ", ".join(f"{x:.1f}" for x in v["fold_last_rmse"])
    return [
        f"validation: {card['hyperparameters']['folds']}-fold cross-validation over whole machines; "
        f"held-out histories cut {v['draws']} times at random (true RUL {cut['min_rul']}-{cut['max_rul']} {unit}, "
        f"at least {cut['min_history']} readings kept); errors against the TRUE RUL ({card['target']} in training)",
        f"last rows ({v['machines']} machines): RMSE {_spread(v['last_rmse'])}; NASA score {_spread(v['last_score'])}",
        f"  RMSE per fold: {folds}; mean error {v['last_mean_error']:+.2f} {unit} (> 0: late)",
        f"  {card['interval']['coverage']:.0%} interval: coverage {v['last_coverage']:.1%}, "
        f"mean width {v['last_mean_width']:.1f} {unit}",
        f"all rows ({v['all_rows']['rows']}): RMSE {v['all_rows']['rmse']:.2f} (against the capped target "
        f"{v['all_rows']['rmse_capped']:.2f}); interval coverage {v['all_rows']['coverage']:.1%}",
    ]


def _anomaly_training(card: dict[str, Any], v: dict[str, Any]) -> list[str]:
    lines = [
        f"threshold {card['threshold']:.4g} ({card['threshold_method']}, {card['normal_rows']} normal rows); "
        f"no alarm before {card['warmup']} readings",
    ]
    if "flagged_share" in v:
        lines.append(f"validation on held-out machines ({card['hyperparameters']['folds']} folds): {_alarms(v)}")
    else:
        lines.append(f"validation on held-out machines: {v['false_alarms_per_1000']:.2f} alarms per 1,000 readings")
    return lines


def _alarms(f: dict[str, Any]) -> str:
    median = "n/a" if f["median_lead"] is None else f"{f['median_lead']:.0f}"
    judged = f["machines"] - f["undecided"]
    cut = f" ({f['undecided']} cut before an alarm was due: not judged)" if f["undecided"] else ""
    return (
        f"{f['flagged_share']:.0%} of {judged} machines flagged {f['min_lead']}+ readings before failure{cut} "
        f"(median lead {median}, shortest {f['min_lead_seen']}); {f['early_false_alarm_machines']} machine(s) "
        f"with a false alarm in the first half of life, {f['false_alarms_per_1000']:.2f} per 1,000 healthy readings"
    )


def format_series_evaluation(evaluation: SeriesEvaluation) -> str:
    """Report printed by `evaluate`."""
    f = evaluation.figures
    lines = [f"{evaluation.kind} model {evaluation.version} on {evaluation.source}: truth from {evaluation.truth}"]
    if evaluation.kind == "rul":
        unit = evaluation.unit
        lines += [
            f"last row of each machine ({f['machines']}): RMSE {f['last_rmse']:.2f} {unit}, NASA score "
            f"{f['last_score']:.1f}, mean error {f['last_mean_error']:+.2f} (> 0: late)",
            f"all rows ({f['rows']}): RMSE {f['all_rmse']:.2f} {unit}, NASA score per row {f['all_score_mean']:.3f}",
            f"{f['coverage_nominal']:.0%} interval: coverage {f['coverage_last']:.1%} on last rows, "
            f"{f['coverage_all']:.1%} on all rows (mean width on last rows {f['mean_width_last']:.1f} {unit})",
        ]
    else:
        lines.append(_alarms(f))
    if evaluation.seen_in_training:
        lines.append("note: this file is the model's training data, so these figures are optimistic")
    return "\n".join(lines)
