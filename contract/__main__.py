"""Contract tooling.

    python -m contract schema [--out FILE]       # every JSON Schema in one document (stdout by default)
    python -m contract check-profile FILE...     # validate profile files; one line per problem
    python -m contract profiles [FILE...]        # the built-in profiles (and FILEs) as GET /api/profiles lists them

`schema` covers the payloads, the vocabularies, the profile file format and each built-in
profile (its readings and its predictions' values). Exit status 1 when a profile is bad.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contract.profiles import ProfileError, builtin_profiles, load_profile
from contract.schemas import document


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contract", description="Forewarn contract tooling")
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="print every JSON Schema as one document")
    schema.add_argument("--out", type=Path, default=None, metavar="FILE")
    check = commands.add_parser("check-profile", help="validate profile files")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    listing = commands.add_parser("profiles", help="print the built-in profiles (and FILEs) as GET /api/profiles does")
    listing.add_argument("files", nargs="*", type=Path, metavar="FILE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-profile":
        return _check(args.files)
    if args.command == "profiles":
        return _profiles(args.files)
    text = json.dumps(document(builtin_profiles()), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _profiles(files: list[Path]) -> int:
    """The profiles as the API lists them (the dashboard's fake API serves this)."""
    profiles = dict(builtin_profiles())
    for path in files:
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        profiles[profile.id] = profile
    listing = {"profiles": [profiles[key].to_json_dict() for key in sorted(profiles)]}
    sys.stdout.write(json.dumps(listing, ensure_ascii=False) + "\n")
    return 0


def _check(files: list[Path]) -> int:
    status = 0
    for path in files:
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
        else:
            print(f"{path}: profile {profile.id} v{profile.version} is valid")
    return status


if __name__ == "__main__":
    sys.exit(main())
