"""Change a running broker's accounts through Mosquitto's dynamic-security plugin.

The plugin is administered over MQTT: a client with the admin role publishes commands to
`$CONTROL/dynamic-security/v1` and reads the answers on `.../response`. Mosquitto applies
them at once and saves its configuration file before it answers, so when :meth:`send`
returns the broker and its file agree.

    with DynsecControl(endpoint) as control:
        control.send([{"command": "createRole", "rolename": "viewer:api", "acls": [...]}])
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

COMMAND_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{COMMAND_TOPIC}/response"
ADMIN_USER = "broker-admin"  # the tooling's own account; no service or device has it
MAX_MESSAGE_BYTES = 48 * 1024  # mosquitto.conf's message_size_limit is 64 KiB
PER_COMMAND_S = 0.1  # patience per command on top of `timeout`

Command = dict[str, Any]


class DynsecError(Exception):
    """The broker could not be reached as the admin, or refused a command."""


@dataclass(frozen=True)
class Endpoint:
    """Where the running broker listens and how the tooling logs in."""

    host: str
    port: int
    ca_file: Path
    password: str
    username: str = ADMIN_USER


class DynsecControl:
    """One admin session; commands are sent in batches and answered in order."""

    def __init__(self, endpoint: Endpoint, timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._answers: dict[str, Command] = {}
        self._arrived = threading.Condition()
        self._ready = threading.Event()
        self._refused: str | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=endpoint.username, protocol=mqtt.MQTTv5, clean_session=None
        )
        context = ssl.create_default_context(cafile=str(endpoint.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.client.tls_set_context(context)
        self.client.username_pw_set(endpoint.username, endpoint.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def __enter__(self) -> DynsecControl:
        try:
            self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            raise DynsecError(f"cannot reach the broker at {self.endpoint.host}:{self.endpoint.port}: {exc}") from None
        self.client.loop_start()
        if not self._ready.wait(self.timeout) or self._refused:
            self.close()
            why = self._refused or f"no answer within {self.timeout:g} s"
            raise DynsecError(f"the broker at {self.endpoint.host}:{self.endpoint.port} refused the admin: {why}")
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def send(self, commands: list[Command]) -> list[Command]:
        """Run `commands` in order; raise DynsecError naming the first one refused."""
        if not commands:
            return []
        tagged = [command | {"correlationData": uuid.uuid4().hex} for command in commands]
        for batch in _batches(tagged):  # each message within the broker's message_size_limit
            self.client.publish(COMMAND_TOPIC, batch, qos=1)
        wanted = [command["correlationData"] for command in tagged]
        # Mosquitto 2.0 saves its whole file after each command: a batch of thousands takes a while.
        timeout = self.timeout + PER_COMMAND_S * len(commands)
        with self._arrived:
            if not self._arrived.wait_for(lambda: all(tag in self._answers for tag in wanted), timeout):
                raise DynsecError(f"the broker did not answer {len(commands)} command(s) within {timeout:g} s")
            answers = [self._answers.pop(tag) for tag in wanted]
        for command, answer in zip(commands, answers, strict=True):
            if answer.get("error"):
                raise DynsecError(f"{command['command']} {_subject(command)}: {answer['error']}")
        return answers

    # -- paho callbacks ----------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            self._ready.set()
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object) -> None:
        if any(reason.is_failure for reason in reasons):
            self._refused = f"subscription to {RESPONSE_TOPIC} refused"
        self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            responses = json.loads(message.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        with self._arrived:
            for response in responses:
                if isinstance(response, dict) and "correlationData" in response:
                    self._answers[str(response["correlationData"])] = response
            self._arrived.notify_all()


def _batches(commands: list[Command], limit: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """The commands as `{"commands": [...]}` messages of at most `limit` bytes each (one command may exceed it)."""
    batches: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for command in commands:
        encoded = json.dumps(command).encode()
        if current and size + len(encoded) + 1 > limit:
            batches.append(b'{"commands": [' + b",".join(current) + b"]}")
            current, size = [], 0
        current.append(encoded)
        size += len(encoded) + 1
    batches.append(b'{"commands": [' + b",".join(current) + b"]}")
    return batches


def _subject(command: Command) -> str:
    for key in ("username", "rolename", "groupname"):
        if key in command:
            return repr(command[key])
    return ""
