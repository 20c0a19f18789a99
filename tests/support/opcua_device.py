"""A real asyncua server playing a milling machine's PLC, in a thread of its own (tests, bench).

    with OpcUaDevice(port, secure=make_certificates(tmp)) as device:
        device.set("Torque", 41.5)
        device.restart()

Variables live in namespace 2 under Objects/Mill, NodeIds "ns=2;s=Mill.<Name>"; the
temperatures are in degC and say so in their EngineeringUnits property.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from asyncua import ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

T = TypeVar("T")
NAMESPACE = "urn:forewarn:test-mill"
# name -> (OPC UA type, initial value, EngineeringUnits or None)
MILL: dict[str, tuple[ua.VariantType, Any, str | None]] = {
    "AirTemp": (ua.VariantType.Double, 25.0, "degC"),
    "ProcessTemp": (ua.VariantType.Double, 35.0, "degC"),
    "Speed": (ua.VariantType.Int32, 1500, "rpm"),
    "Torque": (ua.VariantType.Float, 40.0, None),
    "ToolWear": (ua.VariantType.UInt16, 10, None),
    "Type": (ua.VariantType.String, "M", None),
}


@dataclass(frozen=True)
class Certificates:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_uri: str = "urn:forewarn:gateway"


def make_certificates(folder: Path) -> Certificates:
    """A self-signed certificate and key for the server and for the gateway, as OPC UA wants them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = Certificates(folder / "server.der", folder / "server.pem", folder / "client.der", folder / "client.pem")
    _certificate(paths.server_cert, paths.server_key, "urn:forewarn:test-mill:server", ExtendedKeyUsageOID.SERVER_AUTH)
    _certificate(paths.client_cert, paths.client_key, paths.client_uri, ExtendedKeyUsageOID.CLIENT_AUTH)
    return paths


def _certificate(cert_path: Path, key_path: Path, uri: str, usage: x509.ObjectIdentifier) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    key = cert_gen.generate_private_key()
    names = [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")]
    cert = cert_gen.generate_self_signed_app_certificate(key, uri.rsplit(":", 1)[-1], {}, names, [usage])
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))


class _Users:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(
        self, iserver: object, username: str | None = None, password: str | None = None, certificate: object = None
    ) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User)
        return None


async def _stop(server: Server) -> None:
    """Stop listening first, then let asyncua close the sessions.

    asyncua closes the open connections and only then the listening socket, awaiting asyncio's
    `wait_closed()`: a client that reconnects in between (the gateway does, at once) holds that
    wait open for as long as it stays connected. Seen in CI: `stop()` hung past 30 s.
    """
    listener = getattr(server.bserver, "_server", None)
    if listener is not None:
        listener.close()
    await server.stop()


class OpcUaDevice:
    """An OPC UA server with the mill's variables on 127.0.0.1:`port`."""

    def __init__(
        self,
        port: int,
        secure: Certificates | None = None,
        users: dict[str, str] | None = None,
        variables: dict[str, tuple[ua.VariantType, Any, str | None]] | None = None,
    ) -> None:
        self.port = port
        self.secure = secure
        self.users = users
        self.variables = dict(variables or MILL)
        self.values = {name: spec[1] for name, spec in self.variables.items()}
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/forewarn/"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="opcua-device")
        self._server: Server | None = None
        self._nodes: dict[str, Any] = {}

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        self._call(self._start())

    def stop(self) -> None:
        if self._server is not None:
            self._call(_stop(self._server))
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def set(self, name: str, value: Any) -> None:
        """Change a variable's value (kept across restarts)."""
        self.values[name] = value
        if self._server is not None:
            self._call(self._nodes[name].write_value(ua.Variant(value, self.variables[name][0])))

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> OpcUaDevice:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def _start(self) -> None:
        server = Server(user_manager=_Users(self.users) if self.users else None)  # type: ignore[arg-type]
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Forewarn test mill")
        if self.secure is not None:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(self.secure.server_cert))
            await server.load_private_key(str(self.secure.server_key))
        index = await server.register_namespace(NAMESPACE)
        mill = await server.nodes.objects.add_object(index, "Mill")
        for name, (variant, _initial, unit) in self.variables.items():
            node_id = ua.NodeId(ua.String(f"Mill.{name}"), ua.Int16(index))
            value = ua.Variant(self.values[name], variant)
            node = await mill.add_variable(node_id, ua.QualifiedName(name, index), value)
            if unit is not None:
                info = ua.EUInformation(DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))
                await node.add_property(0, "EngineeringUnits", ua.Variant(info, ua.VariantType.ExtensionObject))
            self._nodes[name] = node
        await server.start()
        self._server = server
