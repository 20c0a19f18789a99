"""Mapping files: which device value feeds which profile field, and how to convert it.

    profile: centrifugal-pump
    interval_s: 1.0                  # one reading per interval (OPC UA, Sparkplug) or poll (Modbus)
    constants: {seal_type: mechanical}   # fields the device does not provide
    fields:
      bearing_temp_c: {node: "ns=2;s=Pump.BearingTemp", unit: degF, scale: 0.5556, offset: -17.78}

Every model forbids unknown keys. :func:`check_against_profile` adds what needs the profile: an
unknown field, a required field left unmapped, a unit that does not match the profile's and is not
converted, a category code outside the profile's values. Every problem is one line
`FILE:LINE: path: message`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contract import InvalidName, validate_name
from publisher.gateway.profile import Profile, UnknownProfile, load_profile
from publisher.gateway.source import Located, SourceError, read, validate

__all__ = [
    "Conversion",
    "GatewayMapping",
    "ModbusField",
    "ModbusMapping",
    "OpcUaField",
    "OpcUaMapping",
    "OpcUaSecurity",
    "SparkplugField",
    "SparkplugMachine",
    "SparkplugMapping",
    "check_against_profile",
    "check_mapping",
    "check_sparkplug_mapping",
    "load_mapping",
    "load_sparkplug_mapping",
]

FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Constant = str | float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conversion(_Strict):
    """value = device value x scale + offset, in the profile's unit; or a category by code."""

    scale: float = Field(1.0, description="multiplies the device value (after decoding)")
    offset: float = Field(0.0, description="added after scaling")
    unit: str | None = Field(None, description="the unit the device reports in; checked against the profile")
    enum: dict[int, str] | None = Field(None, description="category fields: device code -> category value")

    @field_validator("scale", "offset")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @property
    def converts(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0

    def apply(self, raw: float) -> float:
        return raw * self.scale + self.offset


class OpcUaField(Conversion):
    node: str | None = Field(None, description='NodeId, e.g. "ns=2;s=Mill.AirTemp" or "ns=3;i=1002"')
    browse_path: str | None = Field(
        None, description='from the Objects folder, e.g. "2:Mill/2:AirTemp" (namespace index:browse name)'
    )

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.node is None) == (self.browse_path is None):
            raise ValueError("give exactly one of node or browse_path")
        return self


class OpcUaSecurity(_Strict):
    policy: Literal["Basic256Sha256"] = Field(description="OPC UA security policy")
    mode: Literal["Sign", "SignAndEncrypt"] = Field("SignAndEncrypt", description="message security mode")
    certificate: Path = Field(description="this gateway's application certificate (DER or PEM)")
    private_key: Path = Field(description="its private key (PEM)")
    server_certificate: Path | None = Field(None, description="the server's certificate, to pin it")
    application_uri: str = Field("urn:forewarn:gateway", description="must match the certificate's URI")


class _Gateway(_Strict):
    profile: str = Field(description="the profile the machine is bound to")
    interval_s: float = Field(1.0, gt=0, le=3600, description="one reading per interval")
    constants: dict[FieldName, Constant] = Field(default_factory=dict, description="fixed field values")


class OpcUaMapping(_Gateway):
    sampling_interval_ms: float = Field(100.0, ge=0, description="how often the server samples each value")
    security: OpcUaSecurity | None = Field(None, description="None: no security (SecurityPolicy None)")
    username: str | None = Field(None, description="password from FOREWARN_OPCUA_PASSWORD(_FILE)")
    fields: dict[FieldName, OpcUaField] = Field(description="profile field -> node")


RegisterType = Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool"]
REGISTER_WORDS: Mapping[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "bool": 1,
}


class ModbusField(Conversion):
    table: Literal["holding", "input", "coil", "discrete"] = Field("holding", description="the Modbus table")
    address: int = Field(ge=0, le=65535, description="0-based address (register 40001 is holding address 0)")
    type: RegisterType = Field("uint16", description="how the register(s) decode")
    word_order: Literal["big", "little"] = Field("big", description="big: first register holds the high word")
    byte_order: Literal["big", "little"] = Field("big", description="byte order inside each register")

    @model_validator(mode="after")
    def _type_fits_table(self) -> Self:
        bits = self.table in ("coil", "discrete")
        if bits != (self.type == "bool"):
            raise ValueError(f"a {self.table} {'is a bit: type must be bool' if bits else 'cannot be bool'}")
        if self.address + self.words > 65536:
            raise ValueError(f"{self.type} at {self.address} runs past address 65535")
        return self

    @property
    def words(self) -> int:
        return REGISTER_WORDS[self.type]


class ModbusMapping(_Gateway):
    timeout_s: float = Field(2.0, gt=0, le=60, description="a request without an answer fails after this")
    fields: dict[FieldName, ModbusField] = Field(description="profile field -> register or coil")


class SparkplugField(Conversion):
    metric: str = Field(min_length=1, description="metric name from the birth certificate")


class SparkplugMachine(_Strict):
    machine: str = Field(description="the Forewarn machine id the readings are published for")
    profile: str
    edge_node: str = Field(min_length=1, description="Sparkplug edge node id")
    device: str | None = Field(None, description="device id; None maps the node's own metrics")
    constants: dict[FieldName, Constant] = Field(default_factory=dict)
    fields: dict[FieldName, SparkplugField]

    @field_validator("machine")
    @classmethod
    def _machine_id(cls, value: str) -> str:
        try:
            return validate_name(value)
        except InvalidName as exc:
            raise ValueError(str(exc)) from None


class SparkplugMapping(_Strict):
    group: str = Field(min_length=1, description="Sparkplug group id")
    host_id: str = Field(
        "sparkplug-host", description="this host application's id: its broker account, outbox and status"
    )
    machines: list[SparkplugMachine] = Field(min_length=1)

    @field_validator("host_id")
    @classmethod
    def _account(cls, value: str) -> str:
        try:
            return validate_name(value)
        except InvalidName as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: set[tuple[str, str | None]] = set()
        for machine in self.machines:
            key = (machine.edge_node, machine.device)
            if key in seen:
                raise ValueError(f"edge node {key[0]} device {key[1]} is mapped twice")
            seen.add(key)
        return self


GatewayMapping = OpcUaMapping | ModbusMapping
M = TypeVar("M", OpcUaMapping, ModbusMapping)


def load_mapping(path: Path, model: type[M]) -> tuple[M, Profile, Located]:
    """Validate a gateway's mapping file and its profile; SourceError lists every problem."""
    return check_mapping(read(path), model)


def check_mapping(located: Located, model: type[M]) -> tuple[M, Profile, Located]:
    """Validate parsed mapping data and its profile (no I/O); SourceError lists every problem."""
    mapping = validate(located, model)
    profile = _profile(mapping.profile, located, ("profile",))
    check_against_profile(mapping.fields, mapping.constants, profile, located, ())
    return mapping, profile, located


def load_sparkplug_mapping(path: Path) -> tuple[SparkplugMapping, dict[str, Profile], Located]:
    """Validate the Sparkplug host's mapping and each machine's profile; SourceError lists every problem."""
    return check_sparkplug_mapping(read(path))


def check_sparkplug_mapping(located: Located) -> tuple[SparkplugMapping, dict[str, Profile], Located]:
    """Validate parsed Sparkplug mapping data (no I/O); SourceError lists every problem."""
    mapping = validate(located, SparkplugMapping)
    profiles: dict[str, Profile] = {}
    problems: list[str] = []
    for index, machine in enumerate(mapping.machines):
        at = ("machines", index)
        try:
            profiles[machine.machine] = profile = _profile(machine.profile, located, (*at, "profile"))
            check_against_profile(machine.fields, machine.constants, profile, located, at)
        except SourceError as exc:
            problems.extend(str(exc).splitlines())
    if len({m.machine for m in mapping.machines}) != len(mapping.machines):
        problems.append(located.error(("machines",), "a machine is mapped twice"))
    if problems:
        raise located.fail(problems)
    return mapping, profiles, located


def _profile(profile_id: str, located: Located, loc: tuple[str | int, ...]) -> Profile:
    try:
        return load_profile(profile_id)
    except UnknownProfile as exc:
        raise located.fail([located.error(loc, str(exc))]) from None


def check_against_profile(
    fields: Mapping[str, Conversion],
    constants: Mapping[str, Constant],
    profile: Profile,
    located: Located,
    at: tuple[str | int, ...],
) -> None:
    """Raise SourceError naming each mapped field the profile does not allow."""
    problems = [*_constant_problems(constants, profile, located, at)]
    for name, conversion in fields.items():
        problems.extend(_field_problems(name, conversion, profile, located, (*at, "fields", name)))
        if name in constants:
            problems.append(located.error((*at, "fields", name), "mapped and also given as a constant"))
    for spec in profile.fields:
        if spec.required and spec.name not in fields and spec.name not in constants:
            problems.append(located.error((*at, "fields"), f"profile {profile.id} requires {spec.name}: map it"))
    if problems:
        raise located.fail(problems)


def _constant_problems(
    constants: Mapping[str, Constant], profile: Profile, located: Located, at: tuple[str | int, ...]
) -> list[str]:
    problems = []
    for name, value in constants.items():
        spec = profile.field(name)
        where = (*at, "constants", name)
        if spec is None:
            problems.append(located.error(where, f"profile {profile.id} has no field {name}"))
            continue
        try:
            spec.check(value if not spec.numeric or isinstance(value, str) else float(value))
        except ValueError as exc:
            problems.append(located.error(where, str(exc)))
    return problems


def _field_problems(
    name: str, conversion: Conversion, profile: Profile, located: Located, where: tuple[str | int, ...]
) -> list[str]:
    spec = profile.field(name)
    if spec is None:
        known = ", ".join(profile.names)
        return [located.error(where, f"profile {profile.id} has no field {name} (it has {known})")]
    if spec.kind == "category":
        bad = sorted(v for v in (conversion.enum or {}).values() if v not in spec.values)
        if bad:
            return [located.error((*where, "enum"), f"{', '.join(bad)} not among {', '.join(spec.values)}")]
        return []
    if conversion.enum is not None:
        return [located.error((*where, "enum"), f"{name} is a {spec.kind}, not a category")]
    if conversion.unit is not None and spec.unit not in (None, conversion.unit) and not conversion.converts:
        message = f"the device reports {conversion.unit} but {name} is in {spec.unit}: add scale/offset"
        return [located.error((*where, "unit"), message)]
    return []
