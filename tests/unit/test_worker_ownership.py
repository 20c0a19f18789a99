"""Routing windowed machines to one worker: rendezvous hashing and the hand-over plan."""

from __future__ import annotations

from contract import default_profile
from contract.profiles import builtin_profiles
from inference_worker.ownership import Ownership, owner_of, routed

MACHINES = [f"engine-{n}" for n in range(300)]
THREE = ["inference-worker-1", "inference-worker-2", "inference-worker-3"]


def test_every_machine_has_one_owner_whatever_order_the_workers_are_listed_in() -> None:
    owners = {m: owner_of(m, THREE) for m in MACHINES}
    assert owners == {m: owner_of(m, list(reversed(THREE))) for m in MACHINES}
    shares = [sum(owner == w for owner in owners.values()) for w in THREE]
    assert min(shares) > 60  # about a third each


def test_a_worker_leaving_moves_only_its_own_machines() -> None:
    before = {m: owner_of(m, THREE) for m in MACHINES}
    after = {m: owner_of(m, THREE[:2]) for m in MACHINES}
    moved = [m for m in MACHINES if before[m] != after[m]]
    assert moved == [m for m in MACHINES if before[m] == THREE[2]]


def test_the_plan_subscribes_at_once_and_hands_over_after_the_grace() -> None:
    me = Ownership(THREE[0], grace_s=2.0)
    subscribe, unsubscribe = me.plan(MACHINES, [], now=0.0)  # alone: every machine
    assert (subscribe, unsubscribe) == (sorted(MACHINES), [])
    mine_of_three = {m for m in MACHINES if owner_of(m, THREE) == THREE[0]}
    assert me.plan(MACHINES, THREE[1:], now=1.0) == ([], [])  # peers came: kept for the grace
    subscribe, unsubscribe = me.plan(MACHINES, THREE[1:], now=3.5)
    assert subscribe == []
    assert set(unsubscribe) == set(MACHINES) - mine_of_three
    assert me.owned == mine_of_three
    subscribe, _ = me.plan(MACHINES, [], now=4.0)  # the peers left: their machines come back
    assert set(subscribe) == set(MACHINES) - mine_of_three


def test_a_machine_given_back_within_the_grace_is_not_unsubscribed() -> None:
    me = Ownership(THREE[0], grace_s=2.0)
    me.plan(MACHINES, [], now=0.0)
    me.plan(MACHINES, THREE[1:], now=1.0)
    assert me.plan(MACHINES, [], now=1.5) == ([], [])
    assert me.plan(MACHINES, [], now=10.0) == ([], [])
    assert me.owned == set(MACHINES)


def test_only_profiles_with_windows_or_series_models_are_routed() -> None:
    assert routed(builtin_profiles()["turbofan"])
    assert not routed(default_profile())
