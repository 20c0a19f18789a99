"""The one way Forewarn services open an MQTT session.

TLS (1.2+), username/password, MQTT 5, a retained online/offline status with the
offline message as last will, automatic reconnect with backoff and, for consumers,
a persistent session (`clean_start=False` plus a session expiry) so messages
queued while the service was away are delivered when it returns.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from common import paho_tables
from common.paho_bulk import bulk_client_class
from common.settings import ConfigError, env_int, env_path, env_secret, env_str, var_dir
from contract import Status

log = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_SUFFIX",
    "MqttSettings",
    "connect_client",
    "create_client",
    "publish_status",
    "settings_from_env",
    "wait_connected",
]


# A worker's second (output) connection logs in as its account's twin, <account>-out: the
# broker binds every account to one client id, its name (broker/accounts.py).
OUTPUT_SUFFIX = "-out"


@dataclass(frozen=True)
class MqttSettings:
    """Where the broker is and who we are."""

    host: str
    port: int
    ca_file: Path
    username: str
    password: str
    client_id: str
    keepalive: int = 30
    # 0 = session ends at disconnect. Consumers set hours so nothing queued is lost.
    session_expiry_s: int = 0
    # MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker may send us at once.
    # With manual acks it is the back-pressure that bounds a consumer's memory.
    receive_maximum: int = 0
    tls_insecure_hostname: bool = False


def create_client(
    settings: MqttSettings,
    status_topic: str | None,
    manual_ack: bool = False,
    max_inflight: int = 100,
    *,
    bulk_io: bool = False,
) -> mqtt.Client:
    """A configured but not yet connected client.

    `bulk_io`: read and acknowledge in bulk (common/paho_bulk.py), for a busy consumer whose
    process has other busy threads.
    """
    paho_tables.install()  # paho's per-packet Properties, built cheaply (see common/paho_tables.py)
    client_class = bulk_client_class() if bulk_io else mqtt.Client
    client = client_class(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    context = _tls_context(settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = not settings.tls_insecure_hostname
    client.tls_set_context(context)
    client.username_pw_set(settings.username, settings.password)
    client.reconnect_delay_set(min_delay=1, max_delay=15)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)  # unbounded in paho; callers bound their own outbox
    if status_topic:
        client.will_set(status_topic, Status("offline").to_json(), qos=1, retain=True)
    return client


def _tls_context(ca_file: Path) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"FOREWARN_MQTT_CA: cannot load CA certificate {ca_file}: {exc}") from None


def connect_client(
    client: mqtt.Client,
    settings: MqttSettings,
    status_topic: str | None = None,
    subscriptions: Sequence[tuple[str, int]] = (),
    on_connected: Callable[[], None] | None = None,
    *,
    start_loop: bool = True,
) -> None:
    """Connect asynchronously and (unless `start_loop=False`) start paho's network thread.

    On every (re)connect the status goes online and subscriptions are renewed;
    renewing is harmless when the broker kept the session. With `start_loop=False`
    no thread is started: the caller drives the client (connect, loop_read/loop_write/
    loop_misc, reconnect), as the inference worker does for both its connections.
    """

    def on_connect(client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode, _props: object) -> None:
        if reason.is_failure:
            log.error("broker refused connection: %s", reason)
            return
        log.info("connected to %s:%d as %s", settings.host, settings.port, settings.username)
        if subscriptions:
            client.subscribe(list(subscriptions))
        if status_topic:
            publish_status(client, status_topic, "online")
        if on_connected:
            on_connected()

    def on_disconnect(
        _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode, _props: object
    ) -> None:
        log.warning("disconnected from broker: %s", reason)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    if client.on_subscribe is None:
        client.on_subscribe = _log_refusals([topic for topic, _qos in subscriptions])
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if settings.session_expiry_s:
        properties.SessionExpiryInterval = settings.session_expiry_s
    if settings.receive_maximum:
        properties.ReceiveMaximum = min(settings.receive_maximum, 65535)
    client.connect_async(
        settings.host,
        settings.port,
        keepalive=settings.keepalive,
        clean_start=settings.session_expiry_s == 0,
        properties=properties,
    )
    if start_loop:
        client.loop_start()


def _log_refusals(filters: list[str]) -> Callable[..., None]:
    """An on_subscribe that says which filters the broker refused (SUBACK 135: outside the account's rights)."""

    def on_subscribe(
        _client: mqtt.Client, _userdata: object, _mid: int, reasons: list[ReasonCode], _props: object
    ) -> None:
        for topic, reason in zip(filters, reasons, strict=False):
            if reason.is_failure:
                log.error("broker refused the subscription to %s: %s", topic, reason)

    return on_subscribe


def publish_status(client: mqtt.Client, topic: str, state: str) -> mqtt.MQTTMessageInfo:
    return client.publish(topic, Status(state).to_json(), qos=1, retain=True)  # type: ignore[arg-type]


def wait_connected(client: mqtt.Client, timeout: float = 10.0) -> bool:
    """Block until the client's session is up (or `timeout`); True when connected."""
    deadline = time.monotonic() + timeout
    while not client.is_connected():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


DEFAULT_CA = Path("broker/config/tls/ca.crt")  # under FOREWARN_VAR_DIR, where `python -m broker init` puts it


def settings_from_env(username: str, client_id: str, **extra: Any) -> MqttSettings:
    """The broker connection, read the same way by every service's config.py.

    FOREWARN_MQTT_HOST/PORT/CA/KEEPALIVE, and the password from FOREWARN_MQTT_PASSWORD,
    FOREWARN_MQTT_PASSWORD_FILE or FOREWARN_SECRETS_DIR/<username>.password.
    """
    state = var_dir()
    secrets_dir = env_path("FOREWARN_SECRETS_DIR", state / "secrets")
    return MqttSettings(
        host=env_str("FOREWARN_MQTT_HOST", "localhost"),
        port=env_int("FOREWARN_MQTT_PORT", 8883, minimum=1),
        ca_file=env_path("FOREWARN_MQTT_CA", state / DEFAULT_CA),
        username=username,
        password=env_secret("FOREWARN_MQTT_PASSWORD", secrets_dir / f"{username}.password"),
        client_id=client_id,
        keepalive=env_int("FOREWARN_MQTT_KEEPALIVE", 30, minimum=5),
        **extra,
    )
