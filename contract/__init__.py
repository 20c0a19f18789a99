"""Forewarn's message contract: every MQTT topic and payload, in one package.

Services import from here and never build topic strings or payload dicts by hand.
`contract/examples/*.json` holds one example of each payload; both the Python tests
and the dashboard's type checks load them, so the two sides cannot drift apart.
"""

from contract.payloads import (
    DEFAULT_MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    PHYSICAL_BOUNDS,
    READING_NUMBERS,
    REJECTION_REASONS,
    SCHEMA_VERSION,
    Alert,
    AlertRegister,
    InvalidReading,
    Prediction,
    Reading,
    Rejection,
    Status,
    format_ts,
    parse_reading,
    parse_ts,
    utc_now_iso,
)
from contract.topics import (
    ALERT_STATE_KINDS,
    DEFAULT_PREFIX,
    MACHINE_ID_PATTERN,
    Channel,
    InvalidName,
    TopicRef,
    Topics,
    validate_name,
)

__all__ = [
    "ALERT_STATE_KINDS",
    "DEFAULT_MAX_FUTURE_S",
    "DEFAULT_PREFIX",
    "MACHINE_ID_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "PHYSICAL_BOUNDS",
    "READING_NUMBERS",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "Alert",
    "AlertRegister",
    "Channel",
    "InvalidName",
    "InvalidReading",
    "Prediction",
    "Reading",
    "Rejection",
    "Status",
    "TopicRef",
    "Topics",
    "format_ts",
    "parse_reading",
    "parse_ts",
    "utc_now_iso",
    "validate_name",
]
