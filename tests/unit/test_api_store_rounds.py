"""The store's rounds: a batch's statuses and alerts as multi-row upserts, in arrival order."""

from __future__ import annotations

from api.store import _in_rounds


def test_each_round_holds_one_item_per_key_and_keeps_arrival_order() -> None:
    items = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("c", 1), ("b", 2)]
    rounds: list[list[tuple[str, int]]] = []

    def apply(batch: list[tuple[str, int]]) -> set[str]:
        rounds.append(batch)
        return {key for key, n in batch if n != 2}  # every second item of a key changes nothing

    changed = _in_rounds(items, lambda item: item[0], apply)
    assert rounds == [[("a", 1), ("b", 1), ("c", 1)], [("a", 2), ("b", 2)], [("a", 3)]]
    assert changed == [("a", 1), ("b", 1), ("a", 3), ("c", 1)]


def test_nothing_to_apply_runs_no_round() -> None:
    calls: list[list[str]] = []

    def apply(batch: list[str]) -> set[str]:
        calls.append(batch)
        return set()

    assert _in_rounds([], str, apply) == []
    assert calls == []
