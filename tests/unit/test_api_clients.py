"""Who the client is (the real address behind a trusted proxy), the per-address connection count,
and the Host names the API answers to: pure functions, no sockets."""

from __future__ import annotations

import pytest

from api.clients import ConnectionGuard, parse_networks, real_client
from api.config import LOCAL_HOSTS
from api.security import host_name

PROXIES = parse_networks(["10.0.0.5", "172.16.0.0/12", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),  # the proxy says who it serves
        ("10.0.0.5", "1.1.1.1, 203.0.113.7", "203.0.113.7"),  # a client-written hop is not believed
        ("10.0.0.5", "203.0.113.7, 172.18.0.2", "203.0.113.7"),  # two proxies in a row
        ("10.0.0.5", " 203.0.113.7 ,", "10.0.0.5"),  # an empty hop: no guessing past it
        ("10.0.0.5", "unknown", "10.0.0.5"),
        ("10.0.0.5", "172.18.0.2", "10.0.0.5"),  # proxies all the way
        ("10.0.0.5", None, "10.0.0.5"),
        ("203.0.113.9", "127.0.0.1", "203.0.113.9"),  # from anyone else the header is ignored
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("not-an-address", "203.0.113.7", "not-an-address"),
    ],
)
def test_the_client_is_named_by_a_trusted_proxy_only(peer: str, forwarded_for: str | None, client: str) -> None:
    assert real_client(peer, forwarded_for, PROXIES) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert real_client("10.0.0.5", "203.0.113.7", ()) == "10.0.0.5"


def test_a_bad_proxy_address_is_named() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example'"):
        parse_networks(["10.0.0.1", "proxy.example"])


def test_the_guard_admits_up_to_the_cap_per_address_and_exempts_proxies() -> None:
    guard = ConnectionGuard(per_client=2, exempt=PROXIES)
    assert [guard.admit("203.0.113.7") for _ in range(3)] == [True, True, False]
    assert guard.admit("203.0.113.8")  # another address has its own count
    assert all(guard.admit("10.0.0.5") for _ in range(10))  # a trusted proxy carries many clients
    guard.release("203.0.113.7")
    assert guard.admit("203.0.113.7")
    assert (guard.refused, guard.open_from("203.0.113.7"), guard.total()) == (1, 2, 13)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost", "localhost"),
        ("LocalHost:8000", "localhost"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("localhost.:8000", "localhost"),
        ("evil.example", "evil.example"),
        ("localhost:http", None),
        ("[::1]x", None),
        ("[::1", None),
        ("", None),
        (":8000", None),
    ],
)
def test_the_host_name_is_read_without_its_port(header: str, name: str | None) -> None:
    assert host_name(header) == name


def test_only_local_names_are_answered_by_default() -> None:
    assert set(LOCAL_HOSTS) == {"localhost", "127.0.0.1", "::1"}
