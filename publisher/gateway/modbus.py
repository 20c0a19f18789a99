"""The Modbus gateway's device side (pymodbus): poll the mapped registers and coils every interval.

Each poll reads every field (one request per field) and, when all of them answered, hands one
reading over. At start every field is read once: an address range the device refuses is a
mapping error (its file and line, exit status 2). A device that goes away is polled again with
backoff; polls that fail produce no reading, and nothing read before the outage is reused.

TCP by default; `--serial /dev/ttyUSB0` speaks RTU over a serial line (pyserial).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from contract import InvalidReading
from publisher.gateway.assemble import Assembler, BadValue
from publisher.gateway.mapping import ModbusField, ModbusMapping
from publisher.gateway.profile import Profile
from publisher.gateway.runner import Handoff, sleep_unless_stopped
from publisher.gateway.source import Located

__all__ = ["ModbusTarget", "RefusedRead", "decode", "modbus_session"]

log = logging.getLogger(__name__)

ModbusClient = AsyncModbusTcpClient | AsyncModbusSerialClient
_DATATYPES = {
    "int16": ModbusClientMixin.DATATYPE.INT16,
    "uint16": ModbusClientMixin.DATATYPE.UINT16,
    "int32": ModbusClientMixin.DATATYPE.INT32,
    "uint32": ModbusClientMixin.DATATYPE.UINT32,
    "int64": ModbusClientMixin.DATATYPE.INT64,
    "uint64": ModbusClientMixin.DATATYPE.UINT64,
    "float32": ModbusClientMixin.DATATYPE.FLOAT32,
    "float64": ModbusClientMixin.DATATYPE.FLOAT64,
}
_RETRY_MAX_S = 15.0


class RefusedRead(Exception):
    """The device answered a read with a Modbus exception (e.g. illegal data address)."""


@dataclass(frozen=True)
class ModbusTarget:
    """What `python -m publisher modbus` was told: where the device is and how to read it."""

    host: str | None
    port: int
    serial: str | None
    baudrate: int
    unit: int
    mapping: ModbusMapping
    profile: Profile
    located: Located

    @property
    def where(self) -> str:
        return self.serial or f"{self.host}:{self.port}"


def decode(field: ModbusField, words: list[int] | list[bool]) -> bool | int | float:
    """The raw value of a field from the registers (or bits) read for it."""
    if field.type == "bool":
        return bool(words[0])
    registers = [int(w) for w in words[: field.words]]
    if field.byte_order == "little":
        registers = [((w & 0xFF) << 8) | (w >> 8) for w in registers]
    value = ModbusClientMixin.convert_from_registers(registers, _DATATYPES[field.type], word_order=field.word_order)
    assert isinstance(value, int | float)
    return value


async def modbus_session(target: ModbusTarget, handoff: Handoff) -> None:
    """Connect (retrying), check every field can be read, then poll until stopped."""
    assembler = Assembler(target.profile, target.mapping.fields, target.mapping.constants)
    client = _client(target)
    delay = 1.0
    try:
        while not handoff.stop.is_set():
            if not await _connect(client, target):
                await sleep_unless_stopped(handoff, delay)
                delay = min(delay * 2, _RETRY_MAX_S)
                continue
            delay = 1.0
            if not handoff.validated.is_set():
                await _validate(client, target)
                handoff.validated.set()
            await _poll_until_lost(client, target, assembler, handoff)
    finally:
        client.close()


def _client(target: ModbusTarget) -> ModbusClient:
    timeout = target.mapping.timeout_s
    if target.serial is not None:
        return AsyncModbusSerialClient(
            target.serial, framer=FramerType.RTU, baudrate=target.baudrate, timeout=timeout, retries=1
        )
    assert target.host is not None
    # reconnect_delay=0: this loop reconnects itself, with its own backoff and logging.
    return AsyncModbusTcpClient(target.host, port=target.port, timeout=timeout, retries=1, reconnect_delay=0)


async def _connect(client: ModbusClient, target: ModbusTarget) -> bool:
    try:
        connected = await client.connect()
    except (OSError, ModbusException) as exc:
        log.warning("Modbus device %s not reachable: %s", target.where, exc)
        return False
    if connected:
        log.info("connected to Modbus device %s (unit %d)", target.where, target.unit)
    else:
        log.warning("Modbus device %s not reachable; retrying", target.where)
    return bool(connected)


async def _validate(client: ModbusClient, target: ModbusTarget) -> None:
    """Read every field once; a refused range or an undecodable value is a mapping error."""
    problems = []
    for name, field in target.mapping.fields.items():
        try:
            decode(field, await _read(client, target.unit, field))
        except RefusedRead as exc:
            span = f"{field.table} {field.address}" + (
                f"..{field.address + field.words - 1}" if field.words > 1 else ""
            )
            problems.append(target.located.error(("fields", name, "address"), f"{span}: the device refuses it ({exc})"))
    if problems:
        raise target.located.fail(problems)


async def _read(client: ModbusClient, unit: int, field: ModbusField) -> list[int] | list[bool]:
    count = field.words
    if field.table == "holding":
        response = await client.read_holding_registers(field.address, count=count, device_id=unit)
    elif field.table == "input":
        response = await client.read_input_registers(field.address, count=count, device_id=unit)
    elif field.table == "coil":
        response = await client.read_coils(field.address, count=1, device_id=unit)
    else:
        response = await client.read_discrete_inputs(field.address, count=1, device_id=unit)
    if response.isError():
        raise RefusedRead(_exception_name(getattr(response, "exception_code", 0)))
    return list(response.bits) if field.table in ("coil", "discrete") else list(response.registers)


def _exception_name(code: int) -> str:
    from pymodbus.constants import ExcCodes

    try:
        return ExcCodes(code).name.lower().replace("_", " ")
    except ValueError:
        return f"exception code {code}"


async def _poll_until_lost(client: ModbusClient, target: ModbusTarget, assembler: Assembler, handoff: Handoff) -> None:
    interval = target.mapping.interval_s
    loop = asyncio.get_running_loop()
    next_due = loop.time()
    while not handoff.stop.is_set():
        try:
            await _poll_once(client, target, assembler, handoff)
        except (OSError, ModbusException) as exc:
            log.warning("lost the Modbus device %s (%s); reconnecting", target.where, exc)
            assembler.forget()
            client.close()
            return
        next_due += interval
        await sleep_unless_stopped(handoff, max(next_due - loop.time(), 0.0))
        next_due = max(next_due, loop.time() - interval)  # after a stall, carry on instead of bursting


async def _poll_once(client: ModbusClient, target: ModbusTarget, assembler: Assembler, handoff: Handoff) -> None:
    assembler.forget()  # a reading is made of this poll's values only
    for name, field in target.mapping.fields.items():
        try:
            assembler.update(name, decode(field, await _read(client, target.unit, field)))
        except (RefusedRead, BadValue) as exc:
            log.warning("%s: %s", name, exc)
            return
    try:
        values = assembler.values()
    except InvalidReading as exc:
        log.warning("reading not sent: %s", exc)
        return
    if values is not None:
        handoff.submit(values)
