"""The OPC UA gateway's device side (asyncua): resolve, check and subscribe to the mapped nodes.

Values arrive by subscription (monitored items sampled every `sampling_interval_ms`); every
`interval_s` the latest value of each field becomes one reading. asyncua's own supervisor
(`auto_reconnect`) reconnects after a network fault or a server restart and re-creates the
subscription; while it is not connected no reading is produced and the old values are forgotten,
so a reading is never made of values from before an outage.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.common.node import Node
from asyncua.crypto import security_policies
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from common.settings import ConfigError
from contract import InvalidReading
from publisher.gateway.assemble import Assembler, BadValue
from publisher.gateway.mapping import OpcUaField, OpcUaMapping
from publisher.gateway.profile import FieldSpec, Profile
from publisher.gateway.runner import Handoff, sleep_unless_stopped
from publisher.gateway.source import Located

__all__ = ["OpcUaTarget", "opcua_session"]

log = logging.getLogger(__name__)

_NUMERIC = {
    ua.VariantType.Boolean,
    ua.VariantType.SByte,
    ua.VariantType.Byte,
    ua.VariantType.Int16,
    ua.VariantType.UInt16,
    ua.VariantType.Int32,
    ua.VariantType.UInt32,
    ua.VariantType.Int64,
    ua.VariantType.UInt64,
    ua.VariantType.Float,
    ua.VariantType.Double,
}
_TEXT = {ua.VariantType.String, ua.VariantType.LocalizedText}
_INTEGER = _NUMERIC - {ua.VariantType.Float, ua.VariantType.Double}
_RETRY_MAX_S = 15.0


@dataclass(frozen=True)
class OpcUaTarget:
    """What `python -m publisher opcua` was told: the server and how to log in."""

    endpoint: str
    mapping: OpcUaMapping
    profile: Profile
    located: Located
    password: str | None = None
    timeout_s: float = 4.0


async def opcua_session(target: OpcUaTarget, handoff: Handoff) -> None:
    """Connect (retrying until the server answers), check the mapping, then report until stopped."""
    assembler = Assembler(target.profile, target.mapping.fields, target.mapping.constants)
    delay = 1.0
    while not handoff.stop.is_set():
        client = await _client(target)
        try:
            await client.connect()
        except UaStatusCodeError as exc:
            _refused(exc, target)
            log.warning("OPC UA server %s: %s; retrying in %.0f s", target.endpoint, exc, delay)
            await sleep_unless_stopped(handoff, delay)
            delay = min(delay * 2, _RETRY_MAX_S)
            continue
        except (OSError, TimeoutError, UaError) as exc:
            log.warning("OPC UA server %s not reachable (%s); retrying in %.0f s", target.endpoint, exc, delay)
            await sleep_unless_stopped(handoff, delay)
            delay = min(delay * 2, _RETRY_MAX_S)
            continue
        try:
            await _serve(client, target, assembler, handoff)
        finally:
            await _disconnect(client)
        return


_REFUSALS = ("BadUser", "BadIdentity", "BadCertificate", "BadSecurity")


def _refused(exc: UaStatusCodeError, target: OpcUaTarget) -> None:
    """A server that refuses who we are will refuse every retry: ConfigError, naming what to fix."""
    name = ua.StatusCode(exc.code).name
    if name.startswith(_REFUSALS):
        where = ("security",) if name.startswith(("BadCertificate", "BadSecurity")) else ("username",)
        raise ConfigError(target.located.error(where, f"the server {target.endpoint} refuses us: {name}"))


async def _serve(client: Client, target: OpcUaTarget, assembler: Assembler, handoff: Handoff) -> None:
    log.info("connected to %s", target.endpoint)
    nodes = await _resolve(client, target)
    handoff.validated.set()
    handler = _Changes(assembler, {node.nodeid: name for name, node in nodes.items()})
    subscription = await client.create_subscription(target.mapping.interval_s * 1000 / 2, handler)
    await subscription.subscribe_data_change(
        list(nodes.values()), sampling_interval=ua.Double(target.mapping.sampling_interval_ms)
    )
    await _report(client, target, assembler, handoff)


class _Changes:
    """asyncua's subscription handler: each data change updates its field."""

    def __init__(self, assembler: Assembler, names: dict[ua.NodeId, str]) -> None:
        self.assembler = assembler
        self.names = names

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        name = self.names.get(node.nodeid)
        if name is None:
            return
        status = data.monitored_item.Value.StatusCode
        if status is not None and not status.is_good():
            self.assembler.update_missing(name)
            log.warning("%s: the server reports %s", name, status.name)
            return
        try:
            self.assembler.update(name, value)
        except BadValue as exc:
            log.warning("%s", exc)

    def status_change_notification(self, status: Any) -> None:
        log.warning("subscription status changed: %s", status)


async def _report(client: Client, target: OpcUaTarget, assembler: Assembler, handoff: Handoff) -> None:
    interval = target.mapping.interval_s
    connected = True
    next_due = asyncio.get_running_loop().time() + interval
    while not handoff.stop.is_set():
        await sleep_unless_stopped(handoff, max(next_due - asyncio.get_running_loop().time(), 0.0))
        next_due += interval
        if client.state is not UaClientState.CONNECTED:
            if connected:
                log.warning("lost the OPC UA server %s; asyncua reconnects", target.endpoint)
            connected = False
            assembler.forget()
            continue
        if not connected:
            log.info("reconnected to %s", target.endpoint)
            connected = True
        _submit(assembler, handoff)


def _submit(assembler: Assembler, handoff: Handoff) -> None:
    try:
        values = assembler.values()
    except InvalidReading as exc:
        log.warning("reading not sent: %s", exc)
        return
    if values is not None:
        handoff.submit(values)


async def _disconnect(client: Client) -> None:
    try:
        await client.disconnect()
    except (OSError, TimeoutError, UaError, ConnectionError) as exc:
        log.debug("disconnect: %s", exc)


async def _client(target: OpcUaTarget) -> Client:
    client = Client(
        target.endpoint,
        timeout=target.timeout_s,
        watchdog_intervall=1.0,
        auto_reconnect=True,
        reconnect_max_delay=_RETRY_MAX_S,
    )
    mapping, located = target.mapping, target.located
    if mapping.username is not None:
        if target.password is None:
            raise ConfigError(located.error(("username",), "set FOREWARN_OPCUA_PASSWORD (or _FILE) for this user"))
        client.set_user(mapping.username)
        client.set_password(target.password)
    if mapping.security is not None:
        security = mapping.security
        client.application_uri = security.application_uri
        mode = getattr(ua.MessageSecurityMode, security.mode)
        for key in ("certificate", "private_key", "server_certificate"):
            path: Path | None = getattr(security, key)
            if path is not None and not path.is_file():
                raise ConfigError(located.error(("security", key), f"no such file: {path}"))
        server_cert = str(security.server_certificate) if security.server_certificate else None
        try:
            await client.set_security(
                security_policies.SecurityPolicyBasic256Sha256,
                str(security.certificate),
                str(security.private_key),
                server_certificate=server_cert,
                mode=mode,
            )
        except (ValueError, TypeError) as exc:  # unreadable certificate or key
            raise ConfigError(located.error(("security",), f"cannot use the certificate or key: {exc}")) from None
    return client


# ---------------------------------------------------------------- checking the mapping against the server


async def _resolve(client: Client, target: OpcUaTarget) -> dict[str, Node]:
    """Each mapped field's node, checked to exist, be a variable and carry a fitting type and unit."""
    nodes: dict[str, Node] = {}
    problems: list[str] = []
    for name, field in target.mapping.fields.items():
        spec = target.profile.field(name)
        assert spec is not None  # the mapping was checked against the profile
        where = ("fields", name)
        try:
            node = await _find(client, field)
            problem = await _check_node(node, spec, field)
        except (UaStatusCodeError, ValueError) as exc:
            what = field.node or field.browse_path
            problems.append(target.located.error((*where, "node" if field.node else "browse_path"), _why(what, exc)))
            continue
        if problem:
            problems.append(target.located.error((*where, problem[0]), problem[1]))
        nodes[name] = node
    if problems:
        raise target.located.fail(problems)
    return nodes


def _why(what: str | None, exc: Exception) -> str:
    if isinstance(exc, UaStatusCodeError):
        return f"{what}: the server says {ua.StatusCode(exc.code).name}"
    return f"{what}: {exc}"


async def _find(client: Client, field: OpcUaField) -> Node:
    if field.node is not None:
        node = client.get_node(field.node)  # ValueError for a malformed NodeId
    else:
        assert field.browse_path is not None
        node = await client.nodes.objects.get_child(field.browse_path.split("/"))
    await node.read_browse_name()  # BadNodeIdUnknown when it does not exist
    return node


async def _check_node(node: Node, spec: FieldSpec, field: OpcUaField) -> tuple[str, str] | None:
    """(mapping key, message) for a node that cannot feed the field; None when it can."""
    node_class = await node.read_node_class()
    if node_class != ua.NodeClass.Variable:
        return ("node" if field.node else "browse_path", f"is a {node_class.name}, not a variable")
    variant = await node.read_data_type_as_variant_type()
    type_problem = _type_problem(variant, spec, field)
    if type_problem:
        return ("node" if field.node else "browse_path", type_problem)
    if spec.numeric:
        return await _unit_problem(node, spec, field)
    return None


def _type_problem(variant: ua.VariantType, spec: FieldSpec, field: OpcUaField) -> str | None:
    if spec.numeric and variant not in _NUMERIC:
        return f"holds {variant.name} but {spec.name} is a number"
    if spec.kind == "category" and not (variant in _TEXT or (variant in _INTEGER and field.enum)):
        return f"holds {variant.name}: {spec.name} is a category (a string, or an integer with an enum)"
    return None


async def _unit_problem(node: Node, spec: FieldSpec, field: OpcUaField) -> tuple[str, str] | None:
    """The node's EngineeringUnits (if it has them) must agree with the mapping and the profile."""
    reported = await _engineering_unit(node)
    if reported is not None and field.unit is not None and reported != field.unit:
        return ("unit", f"the node's EngineeringUnits say {reported}, the mapping says {field.unit}")
    device_unit = field.unit or reported
    if device_unit is not None and spec.unit is not None and device_unit != spec.unit and not field.converts:
        return ("unit", f"the device reports {device_unit} but {spec.name} is in {spec.unit}: add scale/offset")
    return None


async def _engineering_unit(node: Node) -> str | None:
    try:
        units = await (await node.get_child("0:EngineeringUnits")).read_value()
    except UaStatusCodeError:
        return None
    text = getattr(getattr(units, "DisplayName", None), "Text", None)
    return str(text) if text else None
