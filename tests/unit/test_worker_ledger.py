"""A reading is acknowledged only when every output of its batch is confirmed, in order."""

from __future__ import annotations

from inference_worker.ledger import AckLedger


def _ledger() -> tuple[AckLedger, list[int]]:
    acked: list[int] = []
    return AckLedger(lambda mid, _qos: acked.append(mid)), acked


def test_inputs_wait_for_all_outputs() -> None:
    ledger, acked = _ledger()
    ledger.register([(1, 1), (2, 1)], [100, 101])
    ledger.confirmed(100)
    assert acked == []
    ledger.confirmed(101)
    assert acked == [1, 2]


def test_batches_are_acknowledged_in_arrival_order() -> None:
    ledger, acked = _ledger()
    ledger.register([(1, 1)], [100])
    ledger.register([(2, 1)], [101])
    ledger.confirmed(101)
    assert acked == []
    ledger.confirmed(100)
    assert acked == [1, 2]


def test_a_confirmation_that_beats_registration_still_counts() -> None:
    ledger, acked = _ledger()
    ledger.confirmed(100)
    ledger.register([(1, 1)], [100])
    assert acked == [1]


def test_an_ignored_status_publish_never_confirms_a_later_output() -> None:
    ledger, acked = _ledger()
    ledger.confirmed(7)  # PUBACK of a status publish, before we learnt its mid
    ledger.ignore(7)
    ledger.register([(1, 1)], [7])  # the mid is reused later for a prediction
    assert acked == []
    ledger.confirmed(7)
    assert acked == [1]


def test_qos0_inputs_are_not_acknowledged() -> None:
    ledger, acked = _ledger()
    ledger.register([(1, 0), (2, 1)], [])
    assert acked == [2]
