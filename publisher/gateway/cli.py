"""`python -m publisher opcua|modbus`: one machine's gateway, checked before anything connects."""

from __future__ import annotations

import argparse
import functools
import signal
from collections.abc import Callable
from pathlib import Path

from common.logs import setup_logging
from common.settings import ConfigError
from publisher import config as publisher_config
from publisher.gateway.mapping import ModbusMapping, OpcUaMapping, load_mapping
from publisher.gateway.runner import DeviceSession, run_gateway
from publisher.service import ReadingPublisher

__all__ = ["add_gateway_commands", "run_gateway_command"]

GATEWAYS = ("opcua", "modbus", "sparkplug")


def add_gateway_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    opcua = commands.add_parser("opcua", help="read an OPC UA server's variables (by subscription)")
    opcua.add_argument("--endpoint", required=True, help="opc.tcp://HOST:4840[/path]")
    modbus = commands.add_parser("modbus", help="poll a Modbus TCP (or RTU) device's registers")
    modbus.add_argument("--host", help="Modbus TCP host")
    modbus.add_argument("--port", type=int, default=502, help="Modbus TCP port (default 502)")
    modbus.add_argument("--serial", help="RTU: serial port (e.g. /dev/ttyUSB0) instead of --host")
    modbus.add_argument("--baudrate", type=int, default=19200, help="RTU baud rate (default 19200)")
    modbus.add_argument("--unit", type=int, default=1, help="unit (slave) id (default 1)")
    sparkplug = commands.add_parser("sparkplug", help="Sparkplug B host: map edge nodes' metrics onto machines")
    sparkplug.add_argument("--map", required=True, type=Path, help="mapping file (YAML): group, host_id, machines")
    for sub in (opcua, modbus):
        sub.add_argument("--machine", required=True, help="machine id, also the MQTT username")
        sub.add_argument("--map", required=True, type=Path, help="mapping file (YAML)")


def run_gateway_command(args: argparse.Namespace) -> int:
    """Validate the mapping, then run the gateway until SIGTERM/Ctrl-C."""
    if args.command == "sparkplug":
        from publisher.gateway.sparkplug_service import run_sparkplug

        return run_sparkplug(args.map)
    config = publisher_config.load(args.machine)
    log = setup_logging(f"gateway-{config.machine_id}")
    session, validate = _session(args)  # the mapping is checked here, before anything connects
    publisher = ReadingPublisher(config, validate=validate)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: publisher.request_stop())
    log.info("%s gateway for %s, publishing to %s", args.command, config.machine_id, publisher.topic)
    try:
        run_gateway(publisher, session)
    finally:
        publisher.close()
    refusal = publisher.refusal()
    if refusal:
        raise ConfigError(refusal)
    return 0


def _session(args: argparse.Namespace) -> tuple[DeviceSession, Callable[[bytes], object]]:
    if args.command == "opcua":
        from publisher.gateway.opcua import OpcUaTarget, opcua_session

        mapping, profile, located = load_mapping(args.map, OpcUaMapping)
        target = OpcUaTarget(args.endpoint, mapping, profile, located, publisher_config.opcua_password())
        return functools.partial(opcua_session, target), profile.validate
    from publisher.gateway.modbus import ModbusTarget, modbus_session

    mapping_m, profile, located = load_mapping(args.map, ModbusMapping)
    if (args.host is None) == (args.serial is None):
        raise ConfigError("modbus: give exactly one of --host (TCP) or --serial (RTU)")
    modbus = ModbusTarget(args.host, args.port, args.serial, args.baudrate, args.unit, mapping_m, profile, located)
    return functools.partial(modbus_session, modbus), profile.validate
