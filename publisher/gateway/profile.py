"""The narrow view of a machine profile a gateway needs: field names, kinds, units and bounds.

Until the profile loader (machine profiles) is on main, the built-in AI4I milling profile is
described here from the contract's bounds; `load_profile` is the one place to switch to the
real loader. Validation of a finished reading stays the contract's (`parse_reading`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from contract import PHYSICAL_BOUNDS, InvalidReading, parse_reading

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


_AI4I_UNITS = {
    "air_temp_k": ("K", "sensor"),
    "process_temp_k": ("K", "sensor"),
    "rotational_speed_rpm": ("rpm", "sensor"),
    "torque_nm": ("Nm", "sensor"),
    "tool_wear_min": ("min", "counter"),
}


def _ai4i_mill() -> Profile:
    numbers = tuple(
        FieldSpec(name, kind, unit, *PHYSICAL_BOUNDS[name])  # type: ignore[arg-type]
        for name, (unit, kind) in _AI4I_UNITS.items()
    )
    category = FieldSpec("type", "category", values=("L", "M", "H"))
    text = FieldSpec("product_id", "text", required=False)
    return Profile("ai4i-mill", (category, *numbers, text))


_BUILT_IN: Mapping[str, Callable[[], Profile]] = {"ai4i-mill": _ai4i_mill}


def load_profile(profile_id: str) -> Profile:
    """The profile `profile_id`; UnknownProfile if there is none."""
    try:
        return _BUILT_IN[profile_id]()
    except KeyError:
        raise UnknownProfile(f"unknown profile {profile_id!r} (known: {', '.join(sorted(_BUILT_IN))})") from None
