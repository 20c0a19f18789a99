"""The registry: which profile each machine is bound to, and the operator-added profiles.

A folder (``FOREWARN_REGISTRY_DIR``, default ``var/registry``) owned by the broker tooling::

    registry/machines.json          {"machines": {"press-7": "ai4i-mill", ...}}, written atomically
    registry/profiles/<id>.yaml     operator-added profiles, validated like the built-in ones

Services read it through :class:`Registry`, which notices changes without a restart: it
checks the files' size and modification time at most every ``check_interval_s`` and
immediately when asked about a machine it does not know (so a machine added a moment ago is
never rejected). A file that turns bad (a profile with an error, a garbled machines.json)
is logged in one line and the last good version is kept: nothing running is disturbed.

The pure parts (:func:`parse_bindings`, :func:`render_bindings`) do no I/O; the writers
(:func:`bind_machine`, :func:`unbind_machine`, :func:`add_profile`) are used by
``python -m broker``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contract.profiles import PROFILE_ID_PATTERN, Profile, ProfileError, builtin_profiles, load_profile
from contract.topics import MACHINE_ID_PATTERN

__all__ = [
    "BINDINGS_FILE",
    "PROFILES_FOLDER",
    "Registry",
    "RegistryError",
    "UnknownProfile",
    "add_profile",
    "bind_machine",
    "bind_machines",
    "parse_bindings",
    "read_bindings",
    "render_bindings",
    "unbind_machine",
]

log = logging.getLogger(__name__)

BINDINGS_FILE = "machines.json"
PROFILES_FOLDER = "profiles"
_PROFILE_ID = re.compile(PROFILE_ID_PATTERN)
_Signature = tuple[tuple[str, int, int, int], ...]


class RegistryError(ValueError):
    """A registry file or request that cannot be used; the message is one line naming the file."""


class UnknownProfile(LookupError):
    """A machine bound to no profile, or to one that does not exist; `detail` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# ---------------------------------------------------------------------------- pure parts


def parse_bindings(text: str, source: str) -> dict[str, str]:
    """machines.json text as {machine id: profile id}; RegistryError names what is wrong."""
    try:
        data = json.loads(text) if text.strip() else {"machines": {}}
    except ValueError as exc:
        raise RegistryError(f"{source}: not JSON ({exc})") from None
    machines = data.get("machines") if isinstance(data, dict) else None
    if not isinstance(machines, dict):
        raise RegistryError(f'{source}: expected {{"machines": {{"<machine id>": "<profile id>", ...}}}}')
    for machine, profile in machines.items():
        if not MACHINE_ID_PATTERN.fullmatch(machine):
            raise RegistryError(f"{source}: machines.{machine}: not a machine id ({MACHINE_ID_PATTERN.pattern})")
        if not isinstance(profile, str) or not _is_profile_id(profile):
            raise RegistryError(f"{source}: machines.{machine}: {profile!r} is not a profile id")
    return dict(machines)


def render_bindings(bindings: Mapping[str, str]) -> str:
    return json.dumps({"machines": dict(sorted(bindings.items()))}, indent=2) + "\n"


def _is_profile_id(text: str) -> bool:
    return _PROFILE_ID.fullmatch(text) is not None


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Snapshot:
    bindings: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)


class Registry:
    """Machine -> profile lookups over a registry folder, refreshed when its files change."""

    def __init__(
        self,
        folder: Path,
        builtin: Mapping[str, Profile] | None = None,
        check_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.builtin = dict(builtin_profiles() if builtin is None else builtin)
        self.check_interval_s = check_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: _Signature | None = None
        self._next_check = 0.0
        self._good_bindings: dict[str, str] = {}
        self._good_profiles: dict[str, tuple[tuple[int, int, int], Profile]] = {}  # file name -> (stat, profile)
        self._reported: set[str] = set()
        self._snapshot = _Snapshot({}, dict(self.builtin))
        self.refresh(force=True)

    @property
    def bindings_file(self) -> Path:
        return self.folder / BINDINGS_FILE

    @property
    def profiles_folder(self) -> Path:
        return self.folder / PROFILES_FOLDER

    # -- lookups ------------------------------------------------------------------------

    def profile_of(self, machine_id: str) -> Profile:
        """The profile `machine_id` is bound to; UnknownProfile (with a detail) when there is none."""
        self._maybe_refresh()
        found = self._lookup(machine_id)
        if found is None:
            self.refresh()  # a miss: perhaps bound a moment ago
            found = self._lookup(machine_id)
        if isinstance(found, Profile):
            return found
        bound = self._snapshot.bindings.get(machine_id)
        if bound is None:
            raise UnknownProfile(
                f"machine {machine_id} is bound to no profile (python -m broker bind {machine_id} PROFILE)"
            )
        raise UnknownProfile(f"machine {machine_id} is bound to profile {bound!r}, which does not exist")

    def _lookup(self, machine_id: str) -> Profile | None:
        snapshot = self._snapshot
        bound = snapshot.bindings.get(machine_id)
        return snapshot.profiles.get(bound) if bound is not None else None

    def binding(self, machine_id: str) -> str | None:
        self._maybe_refresh()
        return self._snapshot.bindings.get(machine_id)

    def bindings(self) -> dict[str, str]:
        self._maybe_refresh()
        return dict(self._snapshot.bindings)

    def profiles(self) -> dict[str, Profile]:
        """Built-in and operator-added profiles by id."""
        self._maybe_refresh()
        return dict(self._snapshot.profiles)

    def profile(self, profile_id: str) -> Profile | None:
        self._maybe_refresh()
        return self._snapshot.profiles.get(profile_id)

    def require(self, profile_id: str) -> Profile:
        """The profile `profile_id` (built-in or added); RegistryError naming those known otherwise."""
        found = self.profile(profile_id)
        if found is None:
            known = ", ".join(sorted(self._snapshot.profiles))
            raise RegistryError(f"--profile {profile_id!r}: no such profile (known: {known})")
        return found

    # -- refreshing ---------------------------------------------------------------------

    def _maybe_refresh(self) -> None:
        if self._clock() >= self._next_check:
            self.refresh()

    def refresh(self, force: bool = False) -> bool:
        """Re-read what changed on disk; True when something did. Never raises for bad files."""
        with self._lock:
            self._next_check = self._clock() + self.check_interval_s
            signature = self._stat()
            if signature == self._signature and not force:
                return False
            self._signature = signature
            bindings = self._read_bindings()
            profiles = dict(self.builtin) | self._read_profiles()
            self._snapshot = _Snapshot(bindings, profiles)
            return True

    def _stat(self) -> _Signature:
        entries = [self.bindings_file]
        with contextlib.suppress(OSError):
            entries += sorted(self.profiles_folder.glob("*.yaml"))
        found = []
        for path in entries:
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((path.name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def _read_bindings(self) -> dict[str, str]:
        try:
            text = self.bindings_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self._report(f"{self.bindings_file}: cannot read ({exc}); keeping the last good bindings")
            return self._good_bindings
        try:
            self._good_bindings = parse_bindings(text, str(self.bindings_file))
        except RegistryError as exc:
            self._report(f"{exc}; keeping the last good bindings")
        return self._good_bindings

    def _read_profiles(self) -> dict[str, Profile]:
        good: dict[str, tuple[tuple[int, int, int], Profile]] = {}
        try:
            paths = sorted(self.profiles_folder.glob("*.yaml"))
        except OSError:
            paths = []
        for path in paths:
            loaded = self._read_profile(path)
            if loaded is not None:
                good[path.name] = loaded
        self._good_profiles = good
        return {profile.id: profile for _, profile in good.values()}

    def _read_profile(self, path: Path) -> tuple[tuple[int, int, int], Profile] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        previous = self._good_profiles.get(path.name)
        if previous is not None and previous[0] == key:
            return previous
        try:
            profile = load_profile(path, str(path))
            _check_operator_profile(profile, path, self.builtin)
        except ProfileError as exc:
            kept = f"; keeping its last good version ({previous[1].id} v{previous[1].version})" if previous else ""
            self._report(f"{exc}{kept}")
            return previous
        return key, profile

    def _report(self, message: str) -> None:
        """Log a problem once (it is re-found on every check until the file changes)."""
        if message not in self._reported:
            self._reported.add(message)
            log.error("registry: %s", message)


def _check_operator_profile(profile: Profile, path: Path, builtin: Mapping[str, Profile]) -> None:
    if profile.id in builtin:
        raise ProfileError(str(path), None, "id", f"{profile.id!r} is a built-in profile; choose another id")
    if profile.id != path.stem:
        raise ProfileError(str(path), None, "id", f"{profile.id!r} must equal the file name ({path.stem!r})")


# ---------------------------------------------------------------------------- writing


def read_bindings(folder: Path) -> dict[str, str]:
    """The bindings on disk (RegistryError when machines.json is unusable)."""
    path = folder / BINDINGS_FILE
    try:
        return parse_bindings(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: cannot read ({exc})") from None


def bind_machine(folder: Path, machine_id: str, profile_id: str) -> None:
    """Bind (or rebind) `machine_id` to an existing profile; RegistryError when it does not exist."""
    bind_machines(folder, {machine_id: profile_id})


def bind_machines(folder: Path, machines: Mapping[str, str]) -> None:
    """Bind many machines at once (one write of machines.json: a fleet of thousands)."""
    for machine_id in machines:
        if not MACHINE_ID_PATTERN.fullmatch(machine_id):
            raise RegistryError(f"machine id {machine_id!r} must match {MACHINE_ID_PATTERN.pattern}")
    registry = Registry(folder)
    for profile_id in set(machines.values()):
        registry.require(profile_id)
    _write_bindings(folder, read_bindings(folder) | dict(machines))


def unbind_machine(folder: Path, machine_id: str) -> bool:
    bindings = read_bindings(folder)
    if bindings.pop(machine_id, None) is None:
        return False
    _write_bindings(folder, bindings)
    return True


def add_profile(folder: Path, source: Path) -> Profile:
    """Validate a profile file and copy it into the registry as <id>.yaml (replacing an older one)."""
    profile = load_profile(source)
    if profile.id in builtin_profiles():
        raise ProfileError(str(source), None, "id", f"{profile.id!r} is a built-in profile; choose another id")
    target = folder / PROFILES_FOLDER / f"{profile.id}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, temporary)
    temporary.chmod(0o644)
    os.replace(temporary, target)
    return profile


def _write_bindings(folder: Path, bindings: Mapping[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BINDINGS_FILE
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(render_bindings(bindings), encoding="utf-8")
    temporary.chmod(0o644)  # the worker and the API read it, perhaps as other users
    os.replace(temporary, path)
