"""Run a command with FOREWARN_WORKER_ID set to this container's replica number.

    python docker/replica_id.py python -m inference_worker

`docker compose up --scale inference-worker=3` names the containers <project>-inference-worker-1,
-2 and -3, and a recreated container gets its number back; its host name (the worker's
default id) is a new container id every time. The worker id names the worker's persistent
MQTT session, and Mosquitto keeps handing its share of the readings to a shared-subscription
session whose client has gone: a worker back under a new name would leave its old session
collecting readings that nobody scores until the session expires. So the id comes from the
container's name, which Docker's DNS returns for the container's own address (a PTR query).

FOREWARN_WORKER_ID, when set, wins. FOREWARN_WORKER_ID_PREFIX (e.g. `hostb-`) keeps the
replicas of stacks on several hosts sharing one broker apart. When no name is found (not in
a compose network) the host name is used, as without this wrapper.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
import struct
import sys
from pathlib import Path

DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS server on user-defined networks
_PTR, _IN = 12, 1
_REPLICA = re.compile(r"-(\d+)$")


def encode_ptr_query(ip: str, txid: int) -> bytes:
    """A DNS query (recursion desired) for the PTR record of an IPv4 address."""
    name = ipaddress.IPv4Address(ip).reverse_pointer
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", _PTR, _IN)


def read_name(packet: bytes, offset: int) -> tuple[str, int]:
    """A (possibly compressed) domain name at `offset`, and the offset just after it."""
    labels: list[str] = []
    end = None
    for _ in range(128):  # a loop of pointers must not hang us
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            end = offset + 2 if end is None else end
            offset = struct.unpack_from(">H", packet, offset)[0] & 0x3FFF
        elif length == 0:
            return ".".join(labels), (offset + 1 if end is None else end)
        else:
            labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
            offset += 1 + length
    raise ValueError("DNS name too long or looping")


def decode_ptr_answer(packet: bytes, txid: int) -> str | None:
    """The first PTR name in a DNS response to our query `txid`; None when there is none."""
    answer_id, flags, questions, answers = struct.unpack_from(">HHHH", packet)
    if answer_id != txid or flags & 0x000F or not answers:
        return None
    offset = 12
    for _ in range(questions):
        offset = read_name(packet, offset)[1] + 4
    for _ in range(answers):
        offset = read_name(packet, offset)[1]
        kind, _class, _ttl, length = struct.unpack_from(">HHIH", packet, offset)
        offset += 10
        if kind == _PTR:
            return read_name(packet, offset)[0]
        offset += length
    return None


def lookup_ptr(ip: str, server: str = DOCKER_DNS, timeout: float = 1.0) -> str | None:
    """Ask `server` for the name of `ip`; None on any failure."""
    txid = secrets.randbits(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(encode_ptr_query(ip, txid), (server, 53))
            return decode_ptr_answer(sock.recv(4096), txid)
        except (OSError, ValueError, struct.error):
            return None


def replica_number(dns_name: str) -> str | None:
    """`forewarn-inference-worker-2.forewarn_default` -> `2`."""
    match = _REPLICA.search(dns_name.split(".", 1)[0])
    return match.group(1) if match else None


def uses_docker_dns(resolv_conf: Path = Path("/etc/resolv.conf")) -> bool:
    try:
        return f"nameserver {DOCKER_DNS}" in resolv_conf.read_text()
    except OSError:
        return False


def worker_id(environ: dict[str, str]) -> str:
    """The explicit id, else the prefix plus the replica number, else the host name."""
    if environ.get("FOREWARN_WORKER_ID"):
        return environ["FOREWARN_WORKER_ID"]
    hostname = socket.gethostname()
    number = None
    if uses_docker_dns():
        try:
            name = lookup_ptr(socket.gethostbyname(hostname))
        except OSError:
            name = None
        number = replica_number(name) if name else None
    if number is None:
        print(f"replica_id: no compose replica number found; worker id {hostname}", file=sys.stderr)
        return hostname
    return environ.get("FOREWARN_WORKER_ID_PREFIX", "") + number


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python docker/replica_id.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    os.environ["FOREWARN_WORKER_ID"] = worker_id(dict(os.environ))
    os.execvp(argv[0], argv)  # noqa: S606 - the command compose.yaml gives, no shell
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
