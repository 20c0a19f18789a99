"""The pure parts of docker/replica_id.py and docker/healthcheck.py."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType

import pytest

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"


def _load(name: str) -> ModuleType:
    # docker/ is not a package (the name would shadow the `docker` library): load by path.
    spec = importlib.util.spec_from_file_location(f"forewarn_docker_{name}", DOCKER_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


replica_id = _load("replica_id")
healthcheck = _load("healthcheck")


def _labels(name: str) -> bytes:
    return b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"


def _response(query: bytes, answer_name: bytes, rcode: int = 0, answers: int = 1) -> bytes:
    """What a DNS server answers: the question echoed, then one PTR record pointing back to it."""
    txid = struct.unpack_from(">H", query)[0]
    header = struct.pack(">HHHHHH", txid, 0x8180 | rcode, 1, answers, 0, 0)
    record = b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 600, len(answer_name)) + answer_name
    return header + query[12:] + (record if answers else b"")


def test_ptr_query_asks_for_the_reverse_name() -> None:
    query = replica_id.encode_ptr_query("172.18.0.5", 0x1234)
    assert query[:2] == b"\x12\x34"
    assert _labels("5.0.18.172.in-addr.arpa") + struct.pack(">HH", 12, 1) == query[12:]


def test_ptr_answer_gives_the_container_name() -> None:
    query = replica_id.encode_ptr_query("172.18.0.5", 7)
    name = _labels("forewarn-inference-worker-2.forewarn_default")
    assert replica_id.decode_ptr_answer(_response(query, name), 7) == "forewarn-inference-worker-2.forewarn_default"


def test_compressed_names_are_followed() -> None:
    query = replica_id.encode_ptr_query("10.0.0.9", 9)
    # "w-3" then a pointer to "in-addr.arpa" inside the question (offset 12 + len of "9.0.0.10.")
    pointer = 12 + len(_labels("9.0.0.10.in-addr.arpa")) - len(_labels("in-addr.arpa"))
    name = b"\x03w-3" + struct.pack(">H", 0xC000 | pointer)
    assert replica_id.decode_ptr_answer(_response(query, name), 9) == "w-3.in-addr.arpa"


@pytest.mark.parametrize(
    ("txid", "rcode", "answers"),
    [(8, 0, 1), (7, 3, 1), (7, 0, 0)],
    ids=["another query's answer", "NXDOMAIN", "no answer"],
)
def test_no_name_from_a_useless_answer(txid: int, rcode: int, answers: int) -> None:
    query = replica_id.encode_ptr_query("172.18.0.5", 7)
    packet = _response(query, _labels("x-1"), rcode=rcode, answers=answers)
    assert replica_id.decode_ptr_answer(packet, txid) is None


def test_looping_pointers_are_refused() -> None:
    with pytest.raises(ValueError, match="looping"):
        replica_id.read_name(b"\xc0\x00", 0)


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("forewarn-inference-worker-2.forewarn_default", "2"),
        ("forewarn-inference-worker-12", "12"),
        ("3f2a9c1d0b7e.forewarn_default", None),
        ("inference-worker.x", None),
    ],
)
def test_replica_number_from_the_container_name(name: str, number: str | None) -> None:
    assert replica_id.replica_number(name) == number


def test_an_explicit_worker_id_wins() -> None:
    assert replica_id.worker_id({"FOREWARN_WORKER_ID": "edge-7"}) == "edge-7"


def test_parse_stat_survives_odd_command_names() -> None:
    assert healthcheck.parse_stat("4242 (python (x) y) S 17 4242 4242 0 -1") == (4242, 17)


def test_established_connections_to_a_port() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:A1B2 0100007F:22B3 01 00000000:00000000 00:00000000 00000000  1883 0 1111 1\n"
        "   1: 0100007F:A1B3 0100007F:22B3 06 00000000:00000000 00:00000000 00000000  1883 0 2222 1\n"
        "   2: 0100007F:A1B4 0100007F:1F40 01 00000000:00000000 00:00000000 00000000  1883 0 3333 1\n"
        "   3: 00000000:22B3 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1883 0 4444 1\n"
    )
    assert healthcheck.established_to(8883, table) == {"1111"}
    assert healthcheck.established_to(8000, table) == {"3333"}


@pytest.mark.parametrize("argv", [[], ["tcp"], ["mqtt", "extra"], ["ftp://x"]])
def test_healthcheck_usage_errors(argv: list[str]) -> None:
    assert healthcheck.main(argv) == 2
