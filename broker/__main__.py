"""Broker tooling.

    python -m broker init                           # dev CA, server cert, the stack's own users
    python -m broker add-user press-7 --role sensor [--profile ai4i-mill]  # create, or rotate its password
    python -m broker add-user api --role sensor --change-role   # a role changes only when asked
    python -m broker remove-user press-7
    python -m broker list-users
    python -m broker bind press-7 PROFILE           # rebind a machine (services follow without a restart)
    python -m broker bindings | profiles            # list machine -> profile bindings, or the profiles
    python -m broker add-profile my-pump.yaml       # validate a profile and add it to the registry
    python -m broker run [--port 8883]              # render var/broker/mosquitto.conf and exec mosquitto
    python -m broker render-config [--port 8883]    # only write the rendered config

Accounts live in Mosquitto's dynamic-security plugin (broker/accounts.py). When a broker runs,
a change is applied to it at once (over MQTT, as the tooling's admin account) and saved to its
file; when none runs, the file is changed and the broker reads it at start. A running broker is
the one `run` started from this state folder (its pid file), or, for a broker elsewhere (compose's
`mosquitto`), one answering at FOREWARN_MQTT_HOST:FOREWARN_MQTT_PORT.

A sensor is bound to a profile when it is added (--profile, default FOREWARN_DEFAULT_PROFILE =
ai4i-mill) and `init` binds existing sensors that have none; the registry is
FOREWARN_REGISTRY_DIR (var/registry), and services learn a change without a restart.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from broker import bindings
from broker import config as broker_config
from broker.accounts import ROLES, Accounts, Listener, write_private
from broker.dynsec import DynsecError
from broker.pki import ensure_pki
from broker.runtime import exec_broker, prepare, running_listener
from common.mqtt import OUTPUT_SUFFIX
from common.settings import run_cli
from contract import InvalidName, ProfileError
from contract.registry import RegistryError

# The stack's own accounts, created by `init` with passwords saved for its services.
STACK_USERS = {
    "api": "viewer",
    "telegram-bot": "viewer",
    "slave1": "sensor",
    "slave2": "sensor",
    "sim-1": "sensor",
    "turbofan-1": "sensor",
    "turbofan-2": "sensor",
}
# Stack sensors of another profile than the default (bound by `init` when they have no binding).
STACK_PROFILES = {"turbofan-1": "turbofan", "turbofan-2": "turbofan"}
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def worker_account(worker_id: str) -> str:
    """The account of the worker with FOREWARN_WORKER_ID `worker_id` (see inference_worker/config.py)."""
    return f"inference-worker-{worker_id}"


def stack_users(worker_accounts: int) -> dict[str, str]:
    workers = {worker_account(str(n)): "worker" for n in range(1, worker_accounts + 1)}
    return workers | STACK_USERS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m broker", description="Forewarn broker tooling")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create certificates and the stack's users if missing")
    add = commands.add_parser("add-user", help="create a user, or give it a new password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--save", action="store_true", help="write the password to the secrets folder")
    add.add_argument("--change-role", action="store_true", help="allow changing an existing user's role")
    add.add_argument("--profile", default=None, help="a sensor's machine profile (default: FOREWARN_DEFAULT_PROFILE)")
    remove = commands.add_parser("remove-user", help="delete a user")
    remove.add_argument("name")
    commands.add_parser("list-users", help="print each user and its role")
    bind = commands.add_parser("bind", help="bind (or rebind) a machine to a profile")
    bind.add_argument("name")
    bind.add_argument("profile")
    commands.add_parser("bindings", help="list machine -> profile bindings")
    commands.add_parser("profiles", help="list the profiles (built-in and added)")
    add_profile = commands.add_parser("add-profile", help="validate a profile file and add it to the registry")
    add_profile.add_argument("file", type=Path)
    for name in ("run", "render-config"):
        sub = commands.add_parser(name)
        sub.add_argument("--port", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cfg = broker_config.load()
    accounts = Accounts(cfg.paths.config_dir, cfg.topics, cfg.admin_file, live=lambda: running_broker(cfg))
    try:
        if args.command in _REGISTRY_COMMANDS:
            return _registry_command(args, cfg)
        return _dispatch(args, cfg, accounts)
    except (InvalidName, ProfileError, RegistryError, ValueError, DynsecError) as exc:  # AccountError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2


_REGISTRY_COMMANDS = ("bind", "bindings", "profiles", "add-profile")


def _registry_command(args: argparse.Namespace, cfg: broker_config.BrokerConfig) -> int:
    folder = cfg.registry_dir
    if args.command == "bind":
        print(bindings.bind(folder, args.name, args.profile))
    elif args.command == "add-profile":
        print(bindings.add_profile_file(folder, args.file))
    else:
        lines = bindings.describe_bindings(folder) if args.command == "bindings" else bindings.describe_profiles(folder)
        print("\n".join(lines) if lines else "(none)")
    return 0


def _dispatch(args: argparse.Namespace, cfg: broker_config.BrokerConfig, accounts: Accounts) -> int:
    if args.command == "init":
        return _init(cfg, accounts)
    if args.command == "add-user":
        if args.profile is not None and args.role != "sensor":
            raise ValueError("--profile is for sensors (--role sensor)")
        profile = args.profile or cfg.default_profile
        if args.role == "sensor":
            # Bound before the account exists (a bad profile changes nothing, and the machine's
            # first reading finds its binding); undone when the account cannot be made.
            password = bindings.with_binding(
                cfg.registry_dir,
                args.name,
                profile,
                lambda: accounts.add(args.name, args.role, change_role=args.change_role),
            )
        else:
            password = accounts.add(args.name, args.role, change_role=args.change_role)
        _announce_password(args.name, args.role, password, cfg.secrets_dir if args.save else None)
        if args.role == "sensor":
            print(f"machine {args.name} bound to profile {profile}")
    elif args.command == "remove-user":
        if not accounts.remove(args.name):
            print(f"error: no user {args.name!r}", file=sys.stderr)
            return 1
        bindings.unbind(cfg.registry_dir, args.name)
        print(f"removed {args.name}")
    elif args.command == "list-users":
        for name, role in sorted(accounts.users().items()):
            print(f"{name} {role}")
    else:
        rendered = prepare(cfg.paths, args.port or cfg.port, cfg.bind)
        accounts.sync()
        if args.command == "run":
            exec_broker(rendered)
        print(rendered)
    return 0


def running_broker(cfg: broker_config.BrokerConfig) -> Listener | None:
    """Where the broker of this state folder runs, or None when it does not."""
    ca_file = cfg.paths.tls.ca_cert
    started_here = running_listener(cfg.paths)
    if started_here is not None:
        return Listener(*started_here, ca_file)
    # A loopback address with no pid file of ours may be another checkout's broker: not ours.
    if cfg.host not in LOOPBACK and _answers(cfg.host, cfg.port):
        return Listener(cfg.host, cfg.port, ca_file)
    return None


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:  # refused, no such host (compose: the broker's container is not up yet)
        return False


def _init(cfg: broker_config.BrokerConfig, accounts: Accounts) -> int:
    if ensure_pki(cfg.paths.tls):
        print(f"created development CA and server certificate in {cfg.paths.tls.folder}")
    prepare(cfg.paths, cfg.port, cfg.bind)
    accounts.sync()
    existing = accounts.users()
    for name, role in stack_users(cfg.worker_accounts).items():
        if existing.get(name) != role or not (cfg.secrets_dir / f"{name}.password").exists():
            _save_password(cfg.secrets_dir, name, accounts.add(name, role, change_role=True))
            print(f"created user {name} ({role})")
    sensors = [name for name, role in accounts.users().items() if role == "sensor"]
    for name, profile_id in STACK_PROFILES.items():
        if name in sensors:
            for bound in bindings.bind_unbound(cfg.registry_dir, [name], profile_id):
                print(f"machine {bound} bound to profile {profile_id}")
    for name in bindings.bind_unbound(cfg.registry_dir, sensors, cfg.default_profile):
        print(f"machine {name} bound to profile {cfg.default_profile}")
    return 0


def _announce_password(name: str, role: str, password: str, secrets_dir: Path | None) -> None:
    twin = f" (and {name}{OUTPUT_SUFFIX}, its output connection)" if role == "worker" else ""
    if secrets_dir is None:
        print(f"user {name}{twin}: password {password}")
        print("(shown once: store it now; run add-user again to rotate)")
    else:
        print(f"user {name}{twin}: password saved to {_save_password(secrets_dir, name, password)}")


def _save_password(secrets_dir: Path, name: str, password: str) -> Path:
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    path = secrets_dir / f"{name}.password"
    write_private(path, password + "\n")
    return path


if __name__ == "__main__":
    run_cli(main)
