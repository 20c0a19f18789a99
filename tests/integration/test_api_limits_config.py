"""The API's new limit and name settings read from the environment: values, defaults, and a
one-line error naming a bad one."""

from __future__ import annotations

import pytest

from api.config import LOCAL_HOSTS, load
from common.settings import ConfigError


@pytest.fixture(autouse=True)
def _mqtt_password(clean_env: pytest.MonkeyPatch) -> None:
    """A clean environment (tests/conftest.py) with the one setting the API cannot start without."""
    clean_env.setenv("FOREWARN_MQTT_PASSWORD", "secret")


def test_configured_hosts_and_proxies_are_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FOREWARN_API_ALLOWED_HOSTS", "Forewarn.Example.com, api, [2001:db8::1]")
    clean_env.setenv("FOREWARN_API_TRUSTED_PROXIES", "10.0.0.5, 172.16.0.0/12")
    config = load()
    assert config.allowed_hosts == (*LOCAL_HOSTS, "forewarn.example.com", "api", "2001:db8::1")
    assert [str(net) for net in config.trusted_proxies] == ["10.0.0.5/32", "172.16.0.0/12"]
    assert (config.max_connections, config.max_connections_per_client, config.idle_timeout_s) == (900, 50, 10)
    assert (config.max_streams, config.max_streams_per_client) == (100, 5)
    assert config.batch_wait_ms == 100


def test_the_batch_wait_is_read_and_zero_turns_it_off(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FOREWARN_API_BATCH_WAIT_MS", "0")
    assert load().batch_wait_ms == 0
    clean_env.setenv("FOREWARN_API_BATCH_WAIT_MS", "250")
    assert load().batch_wait_ms == 250


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FOREWARN_API_ALLOWED_HOSTS", "forewarn.example:8000"),
        ("FOREWARN_API_ALLOWED_HOSTS", "http://forewarn.example"),
        ("FOREWARN_API_TRUSTED_PROXIES", "proxy.example"),
        ("FOREWARN_API_MAX_CONNECTIONS_PER_CLIENT", "900"),
        ("FOREWARN_API_MAX_CONNECTIONS", "5000"),
        ("FOREWARN_API_IDLE_TIMEOUT_S", "0"),
        ("FOREWARN_API_BATCH_WAIT_MS", "1500"),
        ("FOREWARN_API_BATCH_WAIT_MS", "-1"),
        ("FOREWARN_API_BATCH_WAIT_MS", "soon"),
    ],
)
def test_a_bad_limit_or_name_is_a_one_line_error_naming_the_setting(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as caught:
        load()
    assert "\n" not in str(caught.value)
