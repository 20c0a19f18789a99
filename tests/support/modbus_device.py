"""A real pymodbus server playing a drive's Modbus TCP (or RTU) interface, in a thread of its own (tests, bench).

    with ModbusDevice(port) as device:
        device.set("holding", 20, "float32", 41.5)
        device.stop(); device.start()          # the device goes away and comes back

Holding and input registers 0..99 and coils / discrete inputs 0..15 exist; anything else is
answered with "illegal data address", as a real device does. Values set here survive a restart.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simutils import DataType

T = TypeVar("T")
Table = Literal["holding", "input", "coil", "discrete"]
_BLOCK_OF_FUNCTION = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
REGISTERS = 100
BITS = 16


class ModbusDevice:
    """A Modbus TCP server on 127.0.0.1:`port` answering for unit `unit`."""

    def __init__(self, port: int, unit: int = 1, serial: str | None = None) -> None:
        self.port = port
        self.serial = serial  # RTU on this serial device (one end of a virtual pair) instead of TCP
        self.unit = unit
        self.words: dict[tuple[str, int], int] = {}
        self.bits: dict[tuple[str, int], bool] = {}
        self.reads = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="modbus-device")
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    def set(
        self,
        table: Table,
        address: int,
        kind: str,
        value: float | bool,
        *,
        word_order: Literal["big", "little"] = "big",
        byte_order: Literal["big", "little"] = "big",
    ) -> None:
        """Store `value` as the device would encode it (the gateway must decode it back)."""
        if kind == "bool":
            self.bits[(table, address)] = bool(value)
            return
        datatype = getattr(ModbusClientMixin.DATATYPE, kind.upper())
        words = ModbusClientMixin.convert_to_registers(value, datatype, word_order=word_order)
        if byte_order == "little":
            words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
        for offset, word in enumerate(words):
            self.words[(table, address + offset)] = word

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        self._call(self._start())

    def stop(self) -> None:
        if self._server is not None:
            self._call(self._server.shutdown())  # type: ignore[no-untyped-call]
            self._server = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> ModbusDevice:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def _start(self) -> None:
        bits = [SimData(0, count=BITS, values=False, datatype=DataType.BITS)]
        registers = [SimData(0, count=REGISTERS, values=0, datatype=DataType.REGISTERS)]
        device = SimDevice(self.unit, simdata=(bits, list(bits), registers, list(registers)), action=self._action)
        server: ModbusTcpServer | ModbusSerialServer
        if self.serial is not None:
            server = ModbusSerialServer(device, port=self.serial, baudrate=19200)
        else:
            server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await server.serve_forever(background=True)
        self._server = server

    async def _action(
        self,
        function_code: int,
        start_address: int,
        _address: int,
        _count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> None:
        """Before each read, put the current values into the block pymodbus answers from."""
        table = _BLOCK_OF_FUNCTION.get(function_code)
        if values is not None or table is None:
            return
        self.reads += 1
        for (where, address), word in self.words.items():
            if where == table and 0 <= address - start_address < len(registers):
                registers[address - start_address] = word
        for (where, address), bit in self.bits.items():
            if where == table and 0 <= address // 16 - start_address < len(registers):
                index, mask = address // 16 - start_address, 1 << (address % 16)
                registers[index] = registers[index] | mask if bit else registers[index] & ~mask
