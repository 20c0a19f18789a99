"""What the password-hash setting costs the broker at CONNECT, side by side.

    python -m bench.bench_connect                          # 101 (Mosquitto's own), 1,000, 10,000
    python -m bench.bench_connect --iterations 101,1000,100000 --connects 400

For each PBKDF2-SHA512 iteration count: a broker from the project's config whose accounts
were hashed with it (broker/accounts.py writes the plugin's file), then `--clients` sensors
connecting over and over from as many threads (TLS, MQTT 5, CONNECT, CONNACK, DISCONNECT),
`--connects` logins in all. Mosquitto checks the password on its one thread, so its CPU per
login is the figure: the rise over 101 iterations is the hash; times 2,000 it is how long
the broker does nothing else when 2,000 sensors reconnect at once (after a broker restart).
"""

from __future__ import annotations

import argparse
import hashlib
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.procstat import cpu_seconds
from broker.local import LocalBroker
from common.settings import run_cli

FLEET = 2_000  # sensors of the worked example in docs/SCALING.md (issue 19)


def _login_loop(broker: LocalBroker, context: ssl.SSLContext, name: str, password: str, times: int) -> int:
    """Log in `times` times in a row as `name`; returns how many logins the broker accepted."""
    accepted = 0
    for _ in range(times):
        answered = threading.Event()
        outcome: list[bool] = []
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        client.tls_set_context(context)
        client.username_pw_set(name, password)

        def on_connect(*args: Any, result: list[bool] = outcome, done: threading.Event = answered) -> None:
            result.append(not args[3].is_failure)
            done.set()

        client.on_connect = on_connect
        client.connect(broker.host, broker.port, keepalive=30)
        deadline = time.monotonic() + 10
        while not answered.is_set() and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        accepted += bool(outcome and outcome[0])
        client.disconnect()
        client.loop(timeout=0.01)
    return accepted


def measure(iterations: int, clients: int, connects: int) -> dict[str, Any]:
    with LocalBroker.create(iterations=iterations) as broker:
        names = [f"bench-sensor-{n}" for n in range(clients)]
        passwords = {name: broker.add_user(name, "sensor") for name in names}
        broker.stop()  # logins made while it ran are in its memory with Mosquitto's 101: read the file
        broker.start()
        assert broker.process is not None
        context = ssl.create_default_context(cafile=str(broker.ca_file))
        per_client = max(connects // clients, 1)
        cpu_before, started = cpu_seconds(broker.process.pid), time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            accepted = sum(
                pool.map(lambda name: _login_loop(broker, context, name, passwords[name], per_client), names)
            )
        wall = time.monotonic() - started
        cpu = cpu_seconds(broker.process.pid) - cpu_before
    logins = per_client * clients
    return {
        "iterations": iterations,
        "logins": logins,
        "accepted": accepted,
        "broker_cpu_s": round(cpu, 2),
        "broker_ms_per_login": round(1000 * cpu / logins, 3),
        "logins_per_s": round(logins / wall, 1),
        "pbkdf2_ms": round(_pbkdf2_ms(iterations), 3),
    }


def _pbkdf2_ms(iterations: int, rounds: int = 50) -> float:
    """One PBKDF2-SHA512 in this process (the same OpenSSL as the broker's): a cross-check."""
    started = time.perf_counter()
    for _ in range(rounds):
        hashlib.pbkdf2_hmac("sha512", b"x" * 32, b"s" * 12, iterations)
    return 1000 * (time.perf_counter() - started) / rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_connect", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", default="101,1000,10000", help="PBKDF2 iteration counts to compare")
    parser.add_argument("--clients", type=int, default=8, help="sensors logging in at once")
    parser.add_argument("--connects", type=int, default=800, help="logins per setting")
    args = parser.parse_args(argv)
    counts = [int(value) for value in args.iterations.split(",")]
    rows = [measure(count, args.clients, args.connects) for count in counts]
    base = rows[0]["broker_ms_per_login"]
    print(
        f"{'iterations':>10} {'logins':>7} {'accepted':>8} {'broker ms/login':>16} {'x first':>8} "
        f"{'added ms':>9} {f'{FLEET:,} at once: broker s':>24} {'PBKDF2 ms':>10}"
    )
    for row in rows:
        cost = row["broker_ms_per_login"]
        print(
            f"{row['iterations']:>10,} {row['logins']:>7} {row['accepted']:>8} {cost:>16.3f} "
            f"{cost / base:>8.2f} {cost - base:>9.3f} {FLEET * cost / 1000:>24.1f} {row['pbkdf2_ms']:>10.3f}"
        )
    return 0


if __name__ == "__main__":
    run_cli(main)
