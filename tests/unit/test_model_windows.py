"""Rolling window features: the batch (training) and incremental (serving) paths agree to the bit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.series import SeriesFeatures
from model.windows import ALL, STATS, MachineWindow, Window, WindowSpec, history_features

FIELDS = ("vibration", "temperature", "pressure")
SPEC = WindowSpec(
    FIELDS,
    (
        Window(5, STATS),
        Window(30, ("mean", "slope")),
        Window(ALL, STATS),
        Window(10, ("mean", "min", "max"), baseline=30),
    ),
)


def _history(readings: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    drift = np.arange(readings)[:, None] * np.array([0.01, -0.2, 3.0])
    return np.asarray(rng.normal([2.0, 350.0, 9000.0], [0.1, 2.0, 25.0], (readings, 3)) + drift)


def _incremental(values: np.ndarray, spec: WindowSpec, snapshot: bool = False) -> np.ndarray:
    state = MachineWindow.for_spec(spec)
    rows = []
    for order, reading in enumerate(values):
        assert state.push(reading, order)
        rows.append(state.features(spec))
        if snapshot:  # every reading goes through a serialised snapshot, as a shared store would
            state = MachineWindow.from_bytes(state.to_bytes())
    return np.array(rows)


@pytest.mark.parametrize("readings", [1, 2, 4, 5, 6, 29, 30, 31, 95])
def test_batch_equals_incremental_to_the_bit(readings: int) -> None:
    values = _history(readings)
    batch = history_features(values, SPEC)
    assert batch.shape == (readings, len(SPEC.feature_names))
    assert np.array_equal(batch, _incremental(values, SPEC))
    assert np.array_equal(batch, _incremental(values, SPEC, snapshot=True))


@settings(max_examples=40, deadline=None)
@given(
    readings=st.integers(1, 70),
    size=st.integers(1, 25),
    baseline=st.integers(0, 12),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_batch_equals_incremental_for_any_window(
    readings: int, size: int, baseline: int, scale: float, seed: int
) -> None:
    spec = WindowSpec(FIELDS, (Window(size, STATS, baseline), Window(ALL, ("mean", "slope"))))
    values = _history(readings, seed) * scale
    assert np.array_equal(history_features(values, spec), _incremental(values, spec))


def test_machines_scored_together_equal_each_alone() -> None:
    """The worker computes a batch of machines at once: no row may depend on the others."""
    features = SeriesFeatures(FIELDS, SPEC)
    histories = [_history(n, seed) for seed, n in enumerate([3, 31, 64])]
    states = []
    for values in histories:
        state = features.state()
        for order, reading in enumerate(values):
            state.push(reading, order)
        states.append(state)
    together = features.rows(states)
    for row, values in zip(together, histories, strict=True):
        assert np.array_equal(row, features.history(values)[-1])


def test_a_batch_with_interleaved_machines_and_duplicates_equals_one_by_one() -> None:
    """The worker pushes a batch in arrival order; a machine may come several times, or be redelivered."""
    features = SeriesFeatures(FIELDS, SPEC)
    histories = {"a": _history(40, 1), "b": _history(45, 2)}
    states = {name: features.state() for name in histories}
    expected = {name: features.history(values) for name, values in histories.items()}
    arrivals = [("a", i) for i in range(40)] + [("b", i) for i in range(45)]
    order = np.random.default_rng(3).permutation(len(arrivals))
    # Interleave the machines but keep each machine's own order, and redeliver every fifth reading.
    by_machine = {"a": iter(range(40)), "b": iter(range(45))}
    batch, wanted = [], []
    for index in order:
        name = arrivals[index][0]
        position = next(by_machine[name])
        batch.append((states[name], histories[name][position], float(position)))
        wanted.append(expected[name][position])
        if position % 5 == 0:
            batch.append((states[name], histories[name][position], float(position)))
    for start in range(0, len(batch), 32):
        rows, applied = features.push_rows(batch[start : start + 32])
        assert applied.sum() == len(rows)
        for row in rows:
            assert np.array_equal(row, wanted.pop(0))
    assert not wanted


def test_both_ways_of_summing_in_order_agree_to_the_bit() -> None:
    from model.windows import _ROW_BY_ROW_FROM, _sum_in_order

    values = np.random.default_rng(5).normal(1000.0, 300.0, (30, 4 * _ROW_BY_ROW_FROM)) ** 3
    whole = _sum_in_order(values)  # row by row
    pieces = np.concatenate([_sum_in_order(values[:, i : i + 7]) for i in range(0, values.shape[1], 7)])  # accumulate
    assert np.array_equal(whole, pieces)
    assert not np.array_equal(whole, np.ascontiguousarray(values.T).sum(axis=1))  # numpy adds these 8 at a time


def _named(batch: np.ndarray, spec: WindowSpec, name: str) -> np.ndarray:
    return batch[:, spec.feature_names.index(name)]


def _reference(values: np.ndarray, t: int, size: int) -> np.ndarray:
    return values[max(0, t - size + 1) : t + 1]


def _slope(window: np.ndarray) -> float:
    return float(np.polyfit(np.arange(len(window)), window, 1)[0]) if len(window) > 1 else 0.0


def test_statistics_match_their_definitions() -> None:
    values = _history(60)
    batch = history_features(values, SPEC)
    for t in range(60):
        last5 = _reference(values[:, 2], t, 5)
        assert _named(batch, SPEC, "pressure_mean5")[t] == pytest.approx(last5.mean(), rel=1e-12)
        assert _named(batch, SPEC, "pressure_slope5")[t] == pytest.approx(_slope(last5), rel=1e-9, abs=1e-9)
        assert _named(batch, SPEC, "pressure_min5")[t] == last5.min()
        assert _named(batch, SPEC, "pressure_max5")[t] == last5.max()
        life = values[: t + 1, 1]
        assert _named(batch, SPEC, "temperature_mean_all")[t] == pytest.approx(life.mean(), rel=1e-12)
        assert _named(batch, SPEC, "temperature_slope_all")[t] == pytest.approx(_slope(life), rel=1e-9, abs=1e-9)
        assert _named(batch, SPEC, "temperature_max_all")[t] == life.max()
        level = values[: min(t + 1, 30), 0].mean()
        recent = _reference(values[:, 0], t, 10)
        assert _named(batch, SPEC, "vibration_mean10_b30")[t] == pytest.approx(recent.mean() - level, abs=1e-12)
        assert _named(batch, SPEC, "vibration_min10_b30")[t] == pytest.approx(recent.min() - level, abs=1e-12)


def test_duplicate_or_late_readings_are_ignored() -> None:
    state = MachineWindow.for_spec(SPEC)
    assert state.push([1.0, 2.0, 3.0], 5)
    before = state.to_bytes()
    assert not state.push([9.0, 9.0, 9.0], 5)  # a QoS 1 redelivery
    assert not state.push([9.0, 9.0, 9.0], 4)  # late
    assert state.to_bytes() == before
    assert state.push([2.0, 3.0, 4.0], 6)
    assert state.count == 2


def test_reset_starts_a_new_life() -> None:
    values = _history(40)
    state = MachineWindow.for_spec(SPEC)
    for order, reading in enumerate(values):
        state.push(reading, order)
    state.reset()
    for order, reading in enumerate(values[:7]):
        state.push(reading, order)
    assert np.array_equal(state.features(SPEC), history_features(values[:7], SPEC)[-1])


def test_state_is_small_and_refuses_foreign_bytes() -> None:
    state = MachineWindow.for_spec(SPEC)
    for order, reading in enumerate(_history(50)):
        state.push(reading, order)
    data = state.to_bytes()
    assert len(data) < (SPEC.length + 6) * len(FIELDS) * 8 + 64
    copy = MachineWindow.from_bytes(data)
    assert (copy.count, copy.last_order) == (50, 49.0)
    with pytest.raises(ValueError, match="window state"):
        MachineWindow.from_bytes(data[:-8])
    with pytest.raises(ValueError, match="window state"):
        MachineWindow.from_bytes(b"not a state at all, not at all")


def test_feature_names_and_warmup() -> None:
    spec = WindowSpec(("a", "b"), (Window(3, ("mean", "slope")), Window(ALL, ("max",)), Window(4, ("mean",), 20)))
    assert spec.feature_names == (
        "a_mean3",
        "b_mean3",
        "a_slope3",
        "b_slope3",
        "a_max_all",
        "b_max_all",
        "a_mean4_b20",
        "b_mean4_b20",
    )
    assert (spec.length, spec.warmup, spec.baselines) == (4, 20, (20,))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Window(-1, ("mean",)), "at least 1"),
        (lambda: Window(3, ("median",)), "distinct names"),
        (lambda: Window(3, ("mean", "mean")), "distinct names"),
        (lambda: Window(3, ("mean",), baseline=-2), "baseline"),
        (lambda: WindowSpec(("a", "a"), ()), "distinct field"),
        (lambda: WindowSpec(("a",), (Window(3, ("mean",)), Window(3, ("max",)))), "differ"),
    ],
)
def test_bad_windows_are_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
