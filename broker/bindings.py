"""Machine-to-profile bindings for the broker tooling (the registry's writing side).

`python -m broker` binds a sensor to a profile when it adds the account (``--profile``,
default FOREWARN_DEFAULT_PROFILE, i.e. ai4i-mill), binds existing sensors that have no
binding at ``init`` (so every machine running today keeps working), and lists, rebinds
and unbinds; ``add-profile FILE`` validates an operator's profile and copies it into the
registry. Services learn every change without a restart (contract/registry.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from contract.registry import Registry, add_profile, bind_machine, read_bindings, unbind_machine

__all__ = ["add_profile_file", "bind", "bind_unbound", "describe_bindings", "describe_profiles", "unbind"]


def bind(registry_dir: Path, machine_id: str, profile_id: str) -> str:
    """Bind `machine_id` to an existing profile (RegistryError otherwise); returns a line to print."""
    bind_machine(registry_dir, machine_id, profile_id)
    return f"machine {machine_id} bound to profile {profile_id}"


def unbind(registry_dir: Path, machine_id: str) -> bool:
    return unbind_machine(registry_dir, machine_id)


def bind_unbound(registry_dir: Path, sensors: Iterable[str], profile_id: str) -> list[str]:
    """Bind each sensor without a binding to `profile_id`; the machines bound now."""
    existing = read_bindings(registry_dir)
    bound = [name for name in sorted(sensors) if name not in existing]
    for name in bound:
        bind_machine(registry_dir, name, profile_id)
    return bound


def add_profile_file(registry_dir: Path, source: Path) -> str:
    """Validate a profile file and install it (ProfileError, one line, when it is bad)."""
    profile = add_profile(registry_dir, source)
    counts = f"{len(profile.fields)} fields, {len(profile.failure_modes)} failure modes"
    return f"profile {profile.id} v{profile.version} added ({counts})"


def describe_bindings(registry_dir: Path) -> list[str]:
    """'machine  profile' lines, one per binding, marking bindings to missing profiles."""
    registry = Registry(registry_dir)
    known = registry.profiles()
    lines = []
    for machine, profile in sorted(registry.bindings().items()):
        note = "" if profile in known else "  (no such profile: its readings are rejected)"
        lines.append(f"{machine}\t{profile}{note}")
    return lines


def describe_profiles(registry_dir: Path) -> list[str]:
    registry = Registry(registry_dir)
    return [f"{p.id}\tv{p.version}\t{p.name}" for p in sorted(registry.profiles().values(), key=lambda p: p.id)]
