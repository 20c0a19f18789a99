"""Forewarn's message contract: every MQTT topic and payload, in one package.

Services import from here and never build topic strings or payload dicts by hand.
`contract/examples/*.json` holds one example of each payload; both the Python tests
and the dashboard's type checks load them, so the two sides cannot drift apart.
Machine classes are profiles (`profiles/*.yaml`, :mod:`contract.profiles`); a reading is
validated against its machine's profile (:mod:`contract.readings`), and machines are bound
to profiles in the registry (:mod:`contract.registry`).
"""

from contract.payloads import (
    ALERT_KINDS,
    ALERT_STATES,
    DEFAULT_MAX_FUTURE_S,
    MAX_PAYLOAD_BYTES,
    MODEL_KINDS,
    ONLINE_STATES,
    PREDICTION_SCHEMA_VERSION,
    PREDICTION_STATUSES,
    REJECTION_REASONS,
    SCHEMA_VERSION,
    SEVERITIES,
    Alert,
    AlertRegister,
    InvalidReading,
    Prediction,
    Reading,
    Rejection,
    Status,
    format_ts,
    parse_ts,
    utc_now_iso,
)
from contract.profiles import DEFAULT_PROFILE, Profile, ProfileError, builtin_profiles, default_profile, load_profile
from contract.readings import parse_reading, reading_parser
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
from contract.validation import InvalidPayload, parse_alert, parse_prediction, parse_rejection, parse_status

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATES",
    "ALERT_STATE_KINDS",
    "DEFAULT_MAX_FUTURE_S",
    "DEFAULT_PREFIX",
    "DEFAULT_PROFILE",
    "MACHINE_ID_PATTERN",
    "MAX_PAYLOAD_BYTES",
    "MODEL_KINDS",
    "ONLINE_STATES",
    "PREDICTION_SCHEMA_VERSION",
    "PREDICTION_STATUSES",
    "REJECTION_REASONS",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "Alert",
    "AlertRegister",
    "Channel",
    "InvalidName",
    "InvalidPayload",
    "InvalidReading",
    "Prediction",
    "Profile",
    "ProfileError",
    "Reading",
    "Rejection",
    "Status",
    "TopicRef",
    "Topics",
    "builtin_profiles",
    "default_profile",
    "format_ts",
    "load_profile",
    "parse_alert",
    "parse_prediction",
    "parse_reading",
    "parse_rejection",
    "parse_status",
    "parse_ts",
    "reading_parser",
    "utc_now_iso",
    "validate_name",
]
