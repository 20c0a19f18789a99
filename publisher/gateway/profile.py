"""The narrow view of a machine profile a gateway needs: field names, kinds, units and bounds.

Built from the real profile (contract/profiles.py: the built-in ones and those added to the
registry, FOREWARN_REGISTRY_DIR); a finished reading is checked by that profile's own reading
parser, as the worker will check it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from contract import InvalidReading, parse_reading, reading_parser
from contract import Profile as MachineProfile
from contract.profiles import CategoryField, SensorField
from contract.registry import Registry
from publisher import config as publisher_config

__all__ = ["FieldKind", "FieldSpec", "Profile", "UnknownProfile", "load_profile"]

FieldKind = Literal["sensor", "counter", "category", "text"]
NUMERIC_KINDS: tuple[FieldKind, ...] = ("sensor", "counter")


class UnknownProfile(LookupError):
    """No profile with that id."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a profile, as far as a gateway cares."""

    name: str
    kind: FieldKind
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()  # a category's allowed values
    required: bool = True

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def check(self, value: float | str) -> None:
        """InvalidReading if `value` is outside what the profile allows for this field."""
        if self.numeric:
            if isinstance(value, str):
                raise InvalidReading("wrong_type", f"{self.name} must be a number", self.name)
            low = -float("inf") if self.min is None else self.min
            high = float("inf") if self.max is None else self.max
            if not low <= value <= high:
                raise InvalidReading("out_of_bounds", f"{self.name}={value} outside [{low}, {high}]", self.name)
        elif self.kind == "category" and value not in self.values:
            raise InvalidReading("bad_value", f"{self.name} must be one of {', '.join(self.values)}", self.name)


@dataclass(frozen=True)
class Profile:
    """A profile's id and fields, plus the check a finished reading must pass."""

    id: str
    fields: tuple[FieldSpec, ...]
    validate: Callable[[bytes], object] = field(default=parse_reading, compare=False)

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)


def _spec(item: object) -> FieldSpec:
    if isinstance(item, SensorField):
        return FieldSpec(item.name, item.kind, item.unit or None, item.min, item.max, required=item.required)
    if isinstance(item, CategoryField):
        return FieldSpec(item.name, "category", values=tuple(item.values), required=item.required)
    return FieldSpec(item.name, "text", required=item.required)  # type: ignore[attr-defined]


def view(profile: MachineProfile) -> Profile:
    """A gateway's view of a machine profile."""
    return Profile(profile.id, tuple(_spec(item) for item in profile.fields), reading_parser(profile).parse)


def load_profile(profile_id: str) -> Profile:
    """The profile `profile_id` (built-in or added to the registry); UnknownProfile if there is none."""
    known = Registry(publisher_config.registry_dir()).profiles()
    if profile_id not in known:
        raise UnknownProfile(f"unknown profile {profile_id!r} (known: {', '.join(sorted(known))})")
    return view(known[profile_id])
