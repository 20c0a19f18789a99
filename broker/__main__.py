"""Broker tooling.

    python -m broker init                           # dev CA, server cert, the stack's own users
    python -m broker add-user press-7 --role sensor # create or rotate; prints the password once
    python -m broker remove-user press-7
    python -m broker run [--port 8883]              # render var/broker/mosquitto.conf and exec mosquitto
    python -m broker render-config [--port 8883]    # only write the rendered config

A running broker is told to reload (SIGHUP) whenever users change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from broker import config as broker_config
from broker.accounts import ROLES, Accounts, write_private
from broker.pki import ensure_pki
from broker.runtime import exec_broker, prepare, reload
from common.settings import run_cli
from contract import InvalidName

# The stack's own accounts, created by `init` with passwords saved for its services.
STACK_USERS = {
    "inference-worker": "worker",
    "api": "viewer",
    "telegram-bot": "viewer",
    "webhooks": "viewer",
    "slave1": "sensor",
    "slave2": "sensor",
    "sim-1": "sensor",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m broker", description="Forewarn broker tooling")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create certificates and the stack's users if missing")
    add = commands.add_parser("add-user", help="create or rotate a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--save", action="store_true", help="write the password to the secrets folder")
    remove = commands.add_parser("remove-user", help="delete a user")
    remove.add_argument("name")
    for name in ("run", "render-config"):
        sub = commands.add_parser(name)
        sub.add_argument("--port", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cfg = broker_config.load()
    accounts = Accounts(cfg.paths.config_dir, cfg.topics)
    try:
        return _dispatch(args, cfg, accounts)
    except (InvalidName, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, cfg: broker_config.BrokerConfig, accounts: Accounts) -> int:
    if args.command == "init":
        return _init(cfg, accounts)
    if args.command == "add-user":
        password = accounts.add(args.name, args.role)
        _announce_password(args.name, password, cfg.secrets_dir if args.save else None)
    elif args.command == "remove-user":
        if not accounts.remove(args.name):
            print(f"error: no user {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
    else:
        rendered = prepare(cfg.paths, args.port or cfg.port, cfg.bind)
        if args.command == "run":
            exec_broker(rendered)
        print(rendered)
        return 0
    _say_reloaded(cfg)
    return 0


def _init(cfg: broker_config.BrokerConfig, accounts: Accounts) -> int:
    if ensure_pki(cfg.paths.tls):
        print(f"created development CA and server certificate in {cfg.paths.tls.folder}")
    existing = accounts.users()
    for name, role in STACK_USERS.items():
        if name not in existing or not (cfg.secrets_dir / f"{name}.password").exists():
            _save_password(cfg.secrets_dir, name, accounts.add(name, role))
            print(f"created user {name} ({role})")
    accounts.refresh_acl()  # existing users get what this release's roles grant
    prepare(cfg.paths, cfg.port, cfg.bind)
    return 0


def _announce_password(name: str, password: str, secrets_dir: Path | None) -> None:
    if secrets_dir is None:
        print(f"user {name}: password {password}")
        print("(shown once: store it now; run add-user again to rotate)")
    else:
        print(f"user {name}: password saved to {_save_password(secrets_dir, name, password)}")


def _save_password(secrets_dir: Path, name: str, password: str) -> Path:
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    path = secrets_dir / f"{name}.password"
    write_private(path, password + "\n")
    return path


def _say_reloaded(cfg: broker_config.BrokerConfig) -> None:
    if reload(cfg.paths):
        print("running broker reloaded")


if __name__ == "__main__":
    run_cli(main)
