"""The broker's accounts as data: each role's rights, the plugin's document and the commands
that bring a running broker from one document to the next (broker/accounts.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from broker.accounts import Account, AccountError, Document, PasswordHash, changes, rights
from contract import Topics

TOPICS = Topics()


def _doc(*accounts: tuple[str, str, str]) -> dict[str, Any]:
    """The rendered document of accounts (name, role, password); hashes cheap for the test."""
    made = {name: Account(name, role, PasswordHash.of(password, iterations=1)) for name, role, password in accounts}  # type: ignore[arg-type]
    return Document(accounts=made).render(TOPICS)


def test_each_role_has_only_its_rights() -> None:
    sensor, worker, viewer = (
        rights("sensor", "x-1", TOPICS),
        rights("worker", "x-1", TOPICS),
        rights("viewer", "x-1", TOPICS),
    )
    assert sensor.publish == ("pdm/machines/x-1/readings", "pdm/machines/x-1/status")
    assert sensor.subscribe == sensor.receive == ()
    assert "$share/+/pdm/machines/+/readings/#" in worker.subscribe
    assert not any(topic.startswith("$share/") for topic in viewer.subscribe)  # only workers join a group
    assert "#" not in {*worker.subscribe, *viewer.subscribe}
    assert worker.publish[-1] == viewer.publish[-1] == "pdm/services/x-1/status"  # their own status only
    assert set(viewer.subscribe) == set(viewer.receive)
    # The alert state that survives restarts: the registers, the machines' statuses, its own sync echo.
    assert {"pdm/machines/+/alert-state/+", "pdm/services/x-1/sync"} <= set(worker.publish)
    assert {"pdm/machines/+/alert-state/+", "pdm/machines/+/status", "pdm/services/x-1/sync"} <= set(worker.receive)
    assert not any(topic.endswith("/sync") or "alert-state" in topic for topic in viewer.publish + viewer.subscribe)


def test_every_login_is_bound_to_its_own_name_and_a_worker_has_its_output_twin() -> None:
    doc = _doc(("press-7", "sensor", "a"), ("inference-worker-1", "worker", "b"))
    clients = {c["username"]: c for c in doc["clients"]}
    assert set(clients) == {"press-7", "inference-worker-1", "inference-worker-1-out"}
    assert all(c["clientid"] == name for name, c in clients.items())
    assert clients["inference-worker-1-out"]["roles"] == [{"rolename": "worker:inference-worker-1"}]
    assert doc["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }


def test_a_new_account_is_created_with_its_role_and_client_id() -> None:
    old, new = _doc(), _doc(("press-7", "sensor", "pw"))
    commands = changes(old, new, {"press-7": "pw"})
    assert [c["command"] for c in commands] == ["createRole", "createClient"]
    assert commands[1] | {"roles": None} == {
        "command": "createClient",
        "username": "press-7",
        "password": "pw",
        "clientid": "press-7",
        "roles": None,
    }


def test_a_new_password_is_set_on_both_logins_of_a_worker() -> None:
    old = _doc(("inference-worker-1", "worker", "old"))
    new = _doc(("inference-worker-1", "worker", "new"))
    commands = changes(old, new, dict.fromkeys(("inference-worker-1", "inference-worker-1-out"), "new"))
    assert sorted((c["command"], c["username"]) for c in commands) == [
        ("setClientPassword", "inference-worker-1"),
        ("setClientPassword", "inference-worker-1-out"),
    ]


def test_a_role_change_swaps_the_accounts_role() -> None:
    old, new = _doc(("api", "viewer", "a")), _doc(("api", "sensor", "b"))
    commands = changes(old, new, {"api": "b"})
    assert [(c["command"], c.get("rolename")) for c in commands] == [
        ("createRole", "sensor:api"),
        ("setClientPassword", None),
        ("addClientRole", "sensor:api"),
        ("removeClientRole", "viewer:api"),
        ("deleteRole", "viewer:api"),
    ]


def test_removing_an_account_deletes_its_logins_and_role() -> None:
    old, new = _doc(("inference-worker-1", "worker", "a")), _doc()
    commands = changes(old, new, {})
    assert sorted((c["command"], c.get("username") or c.get("rolename")) for c in commands) == [
        ("deleteClient", "inference-worker-1"),
        ("deleteClient", "inference-worker-1-out"),
        ("deleteRole", "worker:inference-worker-1"),
    ]


def test_the_priorities_mosquitto_writes_into_its_copy_change_nothing() -> None:
    ours = _doc(("press-7", "sensor", "a"))
    saved_by_mosquitto = copy.deepcopy(ours)
    for role in saved_by_mosquitto["roles"]:
        for acl in role["acls"]:
            acl["priority"] = 0
    assert changes(saved_by_mosquitto, ours, {}) == []


def test_a_hash_cannot_be_sent_to_a_running_broker() -> None:
    old = _doc(("press-7", "sensor", "a"))
    new = _doc(("press-7", "sensor", "b"))
    with pytest.raises(AccountError, match="only a stopped broker can load a hash"):
        changes(old, new, {})


def test_the_document_reads_back_what_it_wrote_and_keeps_what_it_does_not_manage() -> None:
    doc = _doc(("press-7", "sensor", "a"), ("inference-worker-1", "worker", "b"))
    doc["clients"].append({"username": "by-hand", "roles": [{"rolename": "custom"}]})
    doc["roles"].append({"rolename": "custom", "acls": []})
    parsed = Document.parse(doc)
    assert {name: a.role for name, a in parsed.accounts.items()} == {
        "press-7": "sensor",
        "inference-worker-1": "worker",
    }
    by_name = {"clients": "username", "roles": "rolename"}
    assert parsed.render(TOPICS) == doc | {
        k: sorted(doc[k], key=lambda item: item[name]) for k, name in by_name.items()
    }
    assert parsed.accounts["press-7"].password.matches("a")
    assert not parsed.accounts["press-7"].password.matches("b")


def test_the_tooling_admin_may_only_talk_to_the_plugin() -> None:
    doc = Document(admin=PasswordHash.of("x", iterations=1)).render(TOPICS)
    (admin,) = [c for c in doc["clients"] if c["username"] == "broker-admin"]
    (role,) = [r for r in doc["roles"] if r["rolename"] == admin["roles"][0]["rolename"]]
    assert admin["clientid"] == "broker-admin"
    assert {acl["topic"] for acl in role["acls"]} == {"$CONTROL/dynamic-security/#"}
