"""CSV columns of a profile's data files: which column holds which field.

A profile's ``csv_columns`` names the columns of its usual files (the AI4I files in data/
call torque "Torque"); ``--map COLUMN=field,...`` overrides it for another file. A field
no map mentions is read from the column of its own name.

    columns = column_map(profile, parse_map("Vib=vibration_mm_s"))
    columns["vibration_mm_s"]   # 'Vib'
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.profiles import CSV_ENVELOPE, Profile

__all__ = ["ColumnMapError", "column_map", "declared_columns", "parse_map"]


class ColumnMapError(ValueError):
    """A --map that cannot be used; the message is one line."""


def parse_map(text: str) -> dict[str, str]:
    """'Vib=vibration_mm_s,Temp=bearing_temp_c' as {CSV column: field}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        column, sep, target = part.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ColumnMapError(f"--map {part!r}: expected COLUMN=field")
        mapping[column.strip()] = target.strip()
    return mapping


def column_map(profile: Profile, mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """{field (or failure, failure_description): CSV column}, from `mapping` or the profile's csv_columns."""
    chosen = dict(profile.csv_columns if mapping is None else mapping)
    targets = [f.name for f in profile.fields] + list(CSV_ENVELOPE)
    unknown = sorted(set(chosen.values()) - set(targets))
    if unknown:
        raise ColumnMapError(f"--map names {', '.join(unknown)}, not fields of profile {profile.id}")
    by_target = {target: column for column, target in chosen.items()}
    return {target: by_target.get(target, target) for target in targets}


def declared_columns(profile: Profile, mapping: Mapping[str, str] | None = None) -> list[str]:
    """The columns a file must have: those the map names, then the required fields' columns."""
    columns = column_map(profile, mapping)
    declared = list(profile.csv_columns if mapping is None else mapping)
    required = [columns[f.name] for f in profile.fields if f.required]
    return list(dict.fromkeys([*declared, *required]))
