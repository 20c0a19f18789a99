"""Human-readable text of training results and evaluations."""

from __future__ import annotations

from typing import Any

from training.evaluate import Evaluation
from training.train import TrainResult

__all__ = ["format_evaluation", "format_training"]


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _headline(metrics: dict[str, Any]) -> str:
    return (
        f"precision {_number(metrics['precision'])}  recall {_number(metrics['recall'])}  "
        f"F1 {_number(metrics['f1'])}  PR-AUC {_number(metrics['pr_auc'])}"
    )


def _per_mode(metrics: dict[str, Any]) -> str:
    parts = [f"{mode} {m['detected']}/{m['n']} ({m['recall']:.2f})" for mode, m in metrics["per_mode"].items()]
    return "recall per mode: " + ("  ".join(parts) or "no failures")


def _confusion(metrics: dict[str, Any]) -> list[str]:
    c = metrics["confusion"]
    return [
        "confusion matrix (rows: actual, columns: predicted)",
        f"  {'':<12}{'normal':>8}{'failure':>9}",
        f"  {'normal':<12}{c['tn']:>8}{c['fp']:>9}",
        f"  {'failure':<12}{c['fn']:>8}{c['tp']:>9}",
    ]


def format_training(result: TrainResult) -> str:
    """Summary printed after `python -m training`."""
    card = result.card
    validation = card["metrics"]["validation"]
    cv = card["metrics"]["train_out_of_fold"]
    lines = [
        f"model {result.version}: {card['data']['rows']} rows, {result.seconds:.1f} s, "
        f"{card['model_bytes'] / 1e6:.1f} MB, threshold {card['threshold']:.4f}",
        f"train out-of-fold ({card['data']['train_rows']} rows): {_headline(cv)}",
        f"validation ({validation['rows']} rows, {validation['failures']} failures): {_headline(validation)}",
        _per_mode(validation),
        f"mode accuracy of detected failures: {_number(validation['mode_accuracy'])}",
    ]
    return "\n".join(lines)


def format_evaluation(evaluation: Evaluation) -> str:
    """Report printed by `python -m training evaluate`."""
    m = evaluation.metrics
    lines = [
        f"model {evaluation.version} on {evaluation.source}: {m['rows']} rows, {m['failures']} failures, "
        f"threshold {m['threshold']:.4f}",
        _headline(m),
        *_confusion(m),
        _per_mode(m),
        f"mode accuracy of detected failures: {_number(m['mode_accuracy'])}",
    ]
    if evaluation.seen_in_training:
        lines.append("note: this file was part of the model's training data, so these figures are optimistic")
    return "\n".join(lines)
