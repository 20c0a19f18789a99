"""Which other workers a stopping worker counts as online (inference_worker/peers.py)."""

from __future__ import annotations

from contract import Status
from inference_worker.peers import Peers


def test_only_other_workers_last_online_status_counts() -> None:
    peers = Peers("inference-worker-1")
    peers.saw("inference-worker-1", Status("online").to_json())  # itself
    peers.saw("api", Status("online").to_json())  # not a worker
    peers.saw("inference-worker-2", Status("online").to_json())
    peers.saw("inference-worker-3", Status("online").to_json())
    peers.saw("inference-worker-3", Status("offline").to_json())  # its last word: gone
    assert peers.online() == ["inference-worker-2"]


def test_a_malformed_status_changes_nothing() -> None:
    peers = Peers("inference-worker-1")
    peers.saw("inference-worker-2", Status("online").to_json())
    for junk in (b"not json", b"[1, 2]", b"{}", b'{"state": 7}'):
        peers.saw("inference-worker-2", junk)
        peers.saw("inference-worker-4", junk)
    assert peers.online() == ["inference-worker-2"]
