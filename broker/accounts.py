"""Broker accounts: who may connect, under which client id, and what each may read and write.

Mosquitto's dynamic-security plugin holds them, in its file `dynsec/dynamic-security.json`
(read when the broker starts) and, while it runs, in memory (changed over MQTT, see
dynsec.py). The rules:

- An account is a name, a role (sensor, worker, viewer) and a random password. A sensor's
  name is its machine id; names are checked by `contract.validate_name`, so `/`, `+` and `#`
  never reach a topic.
- An account connects under one client id only: its own name. The plugin refuses any other
  id for it, and since every account is bound that way, no account can connect under
  another's id (and take over its session or kick it off).
- A worker account `W` has a twin `W-out` for the worker's second, output connection (same
  password, same role; see inference_worker/service.py).
- Rights are explicit per account: each has a role of its own (`sensor:press-7`) listing its
  topics, never a pattern on the user name. Everything not listed is denied, SUBSCRIBE
  included: a filter outside an account's rights gets SUBACK 135 (not authorised), in any
  form (`#`, another machine's topic, a `$share/...` group). Only workers may join a shared
  subscription, and only on the readings.

Every change is computed on the file and, when the broker runs, sent to it as commands
first: Mosquitto applies them and saves its own copy, which the tooling then replaces with
the computed one. The copies differ only in password hashes: Mosquitto 2.0 hashes a
password it is sent with its fixed 101 PBKDF2 iterations, the tooling with ITERATIONS. The
broker keeps the weaker hash in memory until it restarts and reads the file.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from broker.dynsec import ADMIN_USER, Command, DynsecControl, Endpoint
from common.mqtt import OUTPUT_SUFFIX
from contract import Channel, Topics, validate_name
from contract.sparkplug import edge_node_filters, host_filters

Role = Literal["sensor", "worker", "viewer", "sparkplug-host", "sparkplug-node"]
ROLES: tuple[str, ...] = get_args(Role)
ADMIN_ROLE = "dynsec-admin"
# PBKDF2-SHA512 iterations of the hashes the tooling writes. Every CONNECT pays them once on
# the broker's single thread: 0.9 ms more per login than Mosquitto's 101 here, so 2,000 sensors
# reconnecting at once cost the broker ~1.8 s more (bench/bench_connect.py; SECURITY.md).
ITERATIONS = 1000
_SALT_BYTES = 12  # the size Mosquitto 2.0 keeps
_DEFAULT_ACCESS = {"publishClientSend": False, "publishClientReceive": False, "subscribe": False, "unsubscribe": True}
_LEGACY_FILES = ("users.json", "passwd", "acl")  # Mosquitto's password file and ACL, before dynsec


class AccountError(ValueError):
    """An account change that is refused; the message says why in one line."""


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class PasswordHash:
    """A PBKDF2-HMAC-SHA512 hash as the plugin stores it (base64 salt and digest)."""

    salt: str
    digest: str
    iterations: int

    @classmethod
    def of(cls, password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> PasswordHash:
        salt = salt or secrets.token_bytes(_SALT_BYTES)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
        return cls(base64.b64encode(salt).decode(), base64.b64encode(digest).decode(), iterations)

    @classmethod
    def from_mosquitto(cls, line: str) -> PasswordHash:
        """A `$7$iterations$salt$digest` hash of a Mosquitto 2.0 password file."""
        kind, iterations, salt, digest = line.split("$")[1:]
        if kind != "7":
            raise ValueError(f"unsupported password hash type ${kind}$")
        return cls(salt, digest, int(iterations))

    def matches(self, password: str) -> bool:
        salt = base64.b64decode(self.salt)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, self.iterations)
        return secrets.compare_digest(base64.b64encode(digest).decode(), self.digest)


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccountError(f"role {role!r} must be one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def role_name(role: Role, name: str) -> str:
    return f"{role}:{name}"


# -- the rights of each role ------------------------------------------------------------


@dataclass(frozen=True)
class Rights:
    """Topics an account may publish to, and filters it may subscribe to and receive on."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    receive: tuple[str, ...] = ()

    def acls(self) -> list[dict[str, Any]]:
        kinds = (
            ("publishClientSend", self.publish),
            ("subscribePattern", self.subscribe),
            ("publishClientReceive", self.receive),
        )
        return [{"acltype": kind, "topic": topic, "allow": True} for kind, topics in kinds for topic in topics]


def rights(role: Role, name: str, topics: Topics) -> Rights:
    """What an account of `role` named `name` may do; nothing else is allowed."""
    if role in ("sparkplug-host", "sparkplug-node"):
        return _sparkplug_rights(role, name, topics)
    if role == "sensor":
        return Rights(publish=(topics.readings(name), topics.status(name)))
    statuses = topics.all_service_statuses()
    if role == "worker":
        readings = topics.all_readings_any_depth()  # deeper topics get rejected, not ignored
        # Peers' statuses: a worker leaving for good checks that another one stays (service.py).
        # Alert state that survives restarts (inference_worker/alerts.py): the retained
        # registers, the machines' statuses (the stale rule) and the worker's own sync echo.
        state = (topics.all_alert_states(), topics.all_of(Channel.STATUS), topics.service_sync(name))
        reads = (readings, topics.all_of(Channel.ALERTS), statuses, *state)
        return Rights(
            publish=(
                topics.all_of(Channel.PREDICTIONS),
                topics.all_of(Channel.SHADOW),  # a challenger model's predictions (issue 17)
                topics.all_of(Channel.ALERTS),
                topics.all_of(Channel.REJECTED),
                topics.all_alert_states(),
                topics.service_sync(name),
                topics.service_status(name),
            ),
            subscribe=(f"$share/+/{readings}", *reads),  # any group: the topic is what is guarded
            receive=reads,
        )
    channels = (Channel.READINGS, Channel.STATUS, Channel.PREDICTIONS, Channel.SHADOW, Channel.ALERTS, Channel.REJECTED)
    viewed = (*(topics.all_of(channel) for channel in channels), statuses)
    return Rights(publish=(topics.service_status(name),), subscribe=viewed, receive=viewed)


def _sparkplug_rights(role: Role, name: str, topics: Topics) -> Rights:
    """Sparkplug B accounts (gateways, issue 18).

    An edge node (account name = its edge node id) writes its own node's and devices' births,
    data and deaths in any group and reads the commands sent to it. The host application
    (`python -m publisher sparkplug`) reads every Sparkplug message, sends NCMD/DCMD and its STATE,
    and publishes readings and statuses for the machines it maps (any machine: the broker's
    account list does not know which machines a mapping names) plus its own service status.
    """
    if role == "sparkplug-node":
        writes, reads = edge_node_filters(name)
        return Rights(publish=tuple(writes), subscribe=tuple(reads), receive=tuple(reads))
    writes, reads = host_filters(name)
    own = (topics.all_of(Channel.READINGS), topics.all_of(Channel.STATUS), topics.service_status(name))
    return Rights(publish=(*writes, *own), subscribe=tuple(reads), receive=tuple(reads))


# -- the plugin's document ----------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password: PasswordHash

    @property
    def logins(self) -> tuple[str, ...]:
        """The plugin clients of this account: itself, and a worker's output twin."""
        return (self.name, self.name + OUTPUT_SUFFIX) if self.role == "worker" else (self.name,)


@dataclass
class Document:
    """The plugin's configuration, split into what the tooling manages and what it keeps as is."""

    accounts: dict[str, Account] = field(default_factory=dict)
    admin: PasswordHash | None = None
    other_clients: list[dict[str, Any]] = field(default_factory=list)  # made by hand: kept
    other_roles: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    default_access: dict[str, bool] = field(default_factory=lambda: dict(_DEFAULT_ACCESS))

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Document:
        doc = cls(groups=list(data.get("groups", [])), default_access=dict(data.get("defaultACLAccess", {})))
        ours = {ADMIN_ROLE}
        for client in data.get("clients", []):
            username, password = client.get("username"), _hash_of(client)
            roles = [r.get("rolename") for r in client.get("roles", [])]
            kind, _, owner = (roles[0] if len(roles) == 1 and roles[0] else "").partition(":")
            if username == ADMIN_USER and password is not None:
                doc.admin = password
            elif kind in ROLES and owner == username and password is not None:
                doc.accounts[username] = Account(username, kind, password)  # type: ignore[arg-type]
                ours.add(roles[0])
            elif not (kind == "worker" and username == owner + OUTPUT_SUFFIX):  # a twin derives from its worker
                doc.other_clients.append(client)
        doc.other_roles = [r for r in data.get("roles", []) if r.get("rolename") not in ours]
        return doc

    def logins(self) -> set[str]:
        """Every login name in use: accounts, workers' output twins, the admin, clients made by hand."""
        names = {login for account in self.accounts.values() for login in account.logins}
        return names | {ADMIN_USER} | {str(c.get("username")) for c in self.other_clients}

    def render(self, topics: Topics) -> dict[str, Any]:
        """The plugin's JSON: every managed account, its twin and its own role."""
        clients, roles = list(self.other_clients), list(self.other_roles)
        if self.admin is not None:
            clients.append(_client(ADMIN_USER, ADMIN_ROLE, self.admin, bound=True))
            roles.append({"rolename": ADMIN_ROLE, "acls": _admin_acls()})
        for account in self.accounts.values():
            own_role = role_name(account.role, account.name)
            clients += [_client(login, own_role, account.password, bound=True) for login in account.logins]
            roles.append({"rolename": own_role, "acls": rights(account.role, account.name, topics).acls()})
        return {
            "defaultACLAccess": self.default_access,
            "clients": sorted(clients, key=lambda c: str(c.get("username"))),
            "roles": sorted(roles, key=lambda r: str(r.get("rolename"))),
            "groups": self.groups,
        }


def _client(username: str, rolename: str, password: PasswordHash, bound: bool) -> dict[str, Any]:
    client: dict[str, Any] = {
        "username": username,
        "password": password.digest,
        "salt": password.salt,
        "iterations": password.iterations,
        "roles": [{"rolename": rolename}],
    }
    if bound:
        client["clientid"] = username
    return client


def _admin_acls() -> list[dict[str, Any]]:
    """The admin may only talk to the plugin: no application topic at all."""
    control = "$CONTROL/dynamic-security/#"
    return Rights(publish=(control,), subscribe=(control,), receive=(control,)).acls()


def _hash_of(client: dict[str, Any]) -> PasswordHash | None:
    try:
        return PasswordHash(str(client["salt"]), str(client["password"]), int(client["iterations"]))
    except (KeyError, TypeError, ValueError):
        return None


def changes(old: dict[str, Any], new: dict[str, Any], passwords: dict[str, str]) -> list[Command]:
    """The plugin commands that turn a broker running `old` into `new`.

    `passwords` holds the clear passwords set in this change: the plugin takes a password
    only in clear and hashes it itself.
    """
    old_roles = {r["rolename"]: r for r in old.get("roles", [])}
    new_roles = {r["rolename"]: r for r in new.get("roles", [])}
    old_clients = {c["username"]: c for c in old.get("clients", [])}
    new_clients = {c["username"]: c for c in new.get("clients", [])}
    commands: list[Command] = []
    if old.get("defaultACLAccess") != new.get("defaultACLAccess"):
        acls = [{"acltype": kind, "allow": allow} for kind, allow in new["defaultACLAccess"].items()]
        commands.append({"command": "setDefaultACLAccess", "acls": acls})
    for name, role in new_roles.items():
        if name not in old_roles:
            commands.append({"command": "createRole", "rolename": name, "acls": role["acls"]})
            continue
        before, after = _acls(old_roles[name]), _acls(role)
        changed = [key for key in before if before[key] != after.get(key)]  # removed, or allow flipped
        commands += [{"command": "removeRoleACL", "rolename": name, "acltype": k, "topic": t} for k, t in changed]
        commands += [
            {"command": "addRoleACL", "rolename": name, "acltype": k, "topic": t, "allow": allow}
            for (k, t), allow in after.items()
            if before.get((k, t)) != allow
        ]
    for username, client in new_clients.items():
        commands += _client_changes(old_clients.get(username), client, passwords)
    commands += [{"command": "deleteClient", "username": name} for name in old_clients.keys() - new_clients.keys()]
    commands += [{"command": "deleteRole", "rolename": name} for name in old_roles.keys() - new_roles.keys()]
    return commands


def _acls(role: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """{(type, topic): allow}; the priority Mosquitto writes (0) is not ours to compare."""
    return {(acl["acltype"], acl["topic"]): bool(acl.get("allow")) for acl in role.get("acls", [])}


def _client_changes(old: dict[str, Any] | None, new: dict[str, Any], passwords: dict[str, str]) -> list[Command]:
    username = new["username"]
    new_password = _hash_of(new) != (_hash_of(old) if old else None)
    if new_password and username not in passwords:
        raise AccountError(
            f"{username}: its password hash changed and only a stopped broker can load a hash; "
            "stop the broker and run the command again"
        )
    roles = [r["rolename"] for r in new.get("roles", [])]
    if old is None:
        command = {"command": "createClient", "username": username, "password": passwords[username]}
        return [command | ({"clientid": new["clientid"]} if "clientid" in new else {}) | {"roles": new["roles"]}]
    commands: list[Command] = []
    if new_password:
        commands.append({"command": "setClientPassword", "username": username, "password": passwords[username]})
    if old.get("clientid") != new.get("clientid"):
        commands.append({"command": "setClientId", "username": username, "clientid": new.get("clientid")})
    old_roles = [r["rolename"] for r in old.get("roles", [])]
    commands += [{"command": "addClientRole", "username": username, "rolename": r} for r in roles if r not in old_roles]
    commands += [
        {"command": "removeClientRole", "username": username, "rolename": r} for r in old_roles if r not in roles
    ]
    return commands


def _place(doc: Document, account: Account, taken: set[str]) -> None:
    """Put `account` in `doc` (replacing its old self) unless a login of it is another account's."""
    existing = doc.accounts.get(account.name)
    clash = sorted(set(account.logins) & (taken - set(existing.logins if existing else ())))
    if clash:
        raise AccountError(f"user name {clash[0]!r} is taken by another account")
    doc.accounts[account.name] = account


# -- the files and the running broker ----------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """Where a running broker takes the tooling's admin connection."""

    host: str
    port: int
    ca_file: Path


class Accounts:
    """The accounts in the plugin's file, changed on a running broker too when there is one.

    `live` says where the broker runs (None: it does not). `admin_file` keeps the password
    of the tooling's admin account, readable by the tooling only.
    """

    def __init__(
        self,
        config_dir: Path,
        topics: Topics,
        admin_file: Path,
        live: Callable[[], Listener | None] = lambda: None,
        iterations: int = ITERATIONS,
    ) -> None:
        self.config_dir = config_dir
        self.iterations = iterations  # of the hashes written (bench/bench_connect.py compares some)
        self.topics = topics
        self.admin_file = admin_file
        self.live = live
        self.folder = config_dir / "dynsec"
        self.file = self.folder / "dynamic-security.json"

    def users(self) -> dict[str, str]:
        """{name: role} of every account."""
        return {name: account.role for name, account in self._load().accounts.items()}

    def add(self, name: str, role: str, password: str | None = None, *, change_role: bool = False) -> str:
        """Create `name` with `role`, or give it a new password; returns the password.

        An existing account keeps its role unless `change_role` (a sensor named `api` must
        not demote the API by accident).
        """
        password = password or new_password()
        account = Account(validate_name(name), check_role(role), PasswordHash.of(password, self.iterations))
        for login in account.logins:
            validate_name(login)
        with self._change() as (doc, passwords):
            existing = doc.accounts.get(name)
            if existing is not None and existing.role != account.role and not change_role:
                raise AccountError(
                    f"user {name!r} is a {existing.role}; to make it a {account.role}, add --change-role"
                )
            _place(doc, account, doc.logins())
            passwords.update(dict.fromkeys(account.logins, password))
        return password

    def add_many(self, names: list[str], role: str) -> dict[str, str]:
        """Create (or give new passwords to) many accounts of one role in one change (a fleet).

        `add` reads and writes the whole file per account, which is quadratic for thousands of
        sensors. Existing accounts keep their role (the rule of `add`). Returns the passwords.
        """
        checked = check_role(role)
        clear = {validate_name(name): new_password() for name in names}
        with self._change() as (doc, passwords):
            taken = doc.logins()
            for name, password in clear.items():
                account = Account(name, checked, PasswordHash.of(password, self.iterations))
                existing = doc.accounts.get(name)
                if existing is not None and existing.role != checked:
                    raise AccountError(f"user {name!r} is a {existing.role}, not a {checked}")
                for login in account.logins:
                    validate_name(login)
                _place(doc, account, taken)
                taken |= set(account.logins)
                passwords.update(dict.fromkeys(account.logins, password))
        return clear

    def remove(self, name: str) -> bool:
        with self._change() as (doc, _passwords):
            return doc.accounts.pop(name, None) is not None

    def sync(self) -> None:
        """Bring the file (and a running broker) to this version's rules; make the admin if missing."""
        with self._change():
            pass

    # -- internals ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _change(self) -> Iterator[tuple[Document, dict[str, str]]]:
        """Load, let the caller change, then apply to the running broker and write the file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        give_to_broker_user(self.folder)  # the broker saves its copy here
        with _locked(self.config_dir / ".accounts.lock"):
            old = self._read()
            doc = self._load(old)
            passwords: dict[str, str] = {}
            yield doc, passwords
            listener = self.live()
            self._ensure_admin(doc, running=listener is not None)
            new = doc.render(self.topics)
            if new == old:
                return
            if listener is not None:
                self._apply(listener, changes(old, new, passwords))
            write_private(self.file, json.dumps(new, indent=2) + "\n")
            for legacy in _LEGACY_FILES:
                (self.config_dir / legacy).unlink(missing_ok=True)

    def _apply(self, listener: Listener, commands: list[Command]) -> None:
        """Send `commands` to the running broker, as the admin (it saves its copy of the file)."""
        if commands:
            endpoint = Endpoint(listener.host, listener.port, listener.ca_file, self._admin_password())
            with DynsecControl(endpoint) as control:
                control.send(commands)

    def _ensure_admin(self, doc: Document, running: bool) -> None:
        """The tooling's admin account, with its password in `admin_file`; made when missing."""
        if doc.admin is not None and self.admin_file.exists():
            return
        if running:
            raise AccountError(
                f"no admin password for the running broker ({self.admin_file}): "
                "stop the broker and run `python -m broker init` to make a new one"
            )
        password = new_password()
        doc.admin = PasswordHash.of(password, self.iterations)
        self.admin_file.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.admin_file, password + "\n", broker_reads=False)

    def _admin_password(self) -> str:
        return self.admin_file.read_text().strip()

    def _read(self) -> dict[str, Any]:
        if self.file.exists():
            data: dict[str, Any] = json.loads(self.file.read_text())
            return data
        return {}

    def _load(self, data: dict[str, Any] | None = None) -> Document:
        data = self._read() if data is None else data
        if not data:
            return Document(accounts=self._legacy_accounts())
        return Document.parse(data)

    def _legacy_accounts(self) -> dict[str, Account]:
        """Accounts of the password file and user registry that came before the plugin, hashes kept."""
        registry, passwd = self.config_dir / "users.json", self.config_dir / "passwd"
        if not registry.exists() or not passwd.exists():
            return {}
        hashes = dict(line.split(":", 1) for line in passwd.read_text().splitlines() if ":" in line)
        return {
            name: Account(name, check_role(role), PasswordHash.from_mosquitto(hashes[name]))
            for name, role in json.loads(registry.read_text()).items()
            if name in hashes
        }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One change at a time (two commands, or init and add-user, run together)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_private(path: Path, text: str, broker_reads: bool = True) -> None:
    """Atomically write a file readable by its owner only (and, if `broker_reads`, the broker's user)."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if broker_reads:
        give_to_broker_user(temp)
    os.replace(temp, path)


def give_to_broker_user(path: Path) -> None:
    """When run as root, hand a file to the `mosquitto` user, which the broker drops to."""
    if os.geteuid() != 0:
        return
    try:
        import pwd

        entry = pwd.getpwnam("mosquitto")
    except (KeyError, ImportError):
        return
    os.chown(path, entry.pw_uid, entry.pw_gid)
