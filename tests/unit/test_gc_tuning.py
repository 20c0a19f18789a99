"""common.gc_tuning: start-up's objects frozen out of the collector's walks, full collections spaced out."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from common import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_what_exists_and_spaces_full_collections(restored_gc: None) -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    kept = Node()  # a start-up object: frozen, never walked again
    young_and_middle = gc.get_threshold()[:2]
    gc_tuning.settle(full_every=50)
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects())
    assert gc.get_threshold() == (*young_and_middle, 50)


def test_a_cycle_made_after_settling_is_still_collected(restored_gc: None) -> None:
    gc_tuning.settle()
    collected: list[str] = []

    class Node:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            collected.append("node")

    Node()
    gc.collect()
    assert collected == ["node"]
