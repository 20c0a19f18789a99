"""Every MQTT topic Forewarn uses, built and parsed in one place.

Services never write a topic string by hand: they ask a :class:`Topics` for it.

    topics = Topics("pdm")
    topics.readings("press-7")            # 'pdm/machines/press-7/readings'
    topics.all_of(Channel.READINGS)       # 'pdm/machines/+/readings'
    topics.all_readings_any_depth()       # 'pdm/machines/+/readings/#'
    topics.shared("inference", topics.all_readings_any_depth())
    topics.parse("pdm/machines/press-7/readings")  # TopicRef(Channel.READINGS, 'press-7')
    topics.parse_service_status("pdm/services/api/status")  # 'api'
    topics.alert_state("press-7", "predicted")   # 'pdm/machines/press-7/alert-state/predicted'
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from contract.payloads import ALERT_KINDS

__all__ = [
    "ALERT_STATE_KINDS",
    "DEFAULT_PREFIX",
    "MACHINE_ID_PATTERN",
    "Channel",
    "InvalidName",
    "TopicRef",
    "Topics",
    "validate_name",
]

DEFAULT_PREFIX = "pdm"
MACHINE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The workers' retained register of each machine's alerts, one per alert kind (see alert_state).
ALERT_STATE_LEVEL = "alert-state"
ALERT_STATE_KINDS = ALERT_KINDS  # one register per alert kind of the contract (payloads.AlertKind)
# A prefix may have several levels but never wildcards or empty levels.
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class InvalidName(ValueError):
    """A machine or service name that could escape its topic subtree."""


class Channel(enum.StrEnum):
    """The per-machine topic leaves."""

    READINGS = "readings"
    STATUS = "status"
    PREDICTIONS = "predictions"
    ALERTS = "alerts"
    REJECTED = "rejected"
    SHADOW = "shadow"  # a challenger model's predictions (Prediction.shadow): stored, never alerts


@dataclass(frozen=True, slots=True)
class TopicRef:
    """What a concrete machine topic points at."""

    channel: Channel
    machine_id: str


def validate_name(name: str) -> str:
    """Return `name` if it is a safe machine/service id, else raise InvalidName.

    Names become topic levels and broker user names, and each user's ACL block grants
    topics built from its name (broker/accounts.py): `/`, `+`, `#` and anything else
    outside the pattern could reach into another subtree, so they are refused everywhere.
    """
    if not isinstance(name, str) or not MACHINE_ID_PATTERN.fullmatch(name):
        raise InvalidName(f"name {name!r} must match {MACHINE_ID_PATTERN.pattern}")
    return name


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic builder and parser for one prefix (default ``pdm``)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not _PREFIX_PATTERN.fullmatch(self.prefix):
            raise InvalidName(f"topic prefix {self.prefix!r} is not a plain topic path")

    def machine(self, channel: Channel, machine_id: str) -> str:
        return f"{self.prefix}/machines/{validate_name(machine_id)}/{channel.value}"

    def readings(self, machine_id: str) -> str:
        return self.machine(Channel.READINGS, machine_id)

    def status(self, machine_id: str) -> str:
        return self.machine(Channel.STATUS, machine_id)

    def predictions(self, machine_id: str) -> str:
        return self.machine(Channel.PREDICTIONS, machine_id)

    def alerts(self, machine_id: str) -> str:
        return self.machine(Channel.ALERTS, machine_id)

    def rejected(self, machine_id: str) -> str:
        return self.machine(Channel.REJECTED, machine_id)

    def shadow(self, machine_id: str) -> str:
        """Where the worker publishes a challenger model's predictions of `machine_id`."""
        return self.machine(Channel.SHADOW, machine_id)

    def service_status(self, service: str) -> str:
        return f"{self.prefix}/services/{validate_name(service)}/status"

    def alert_state(self, machine_id: str, kind: str) -> str:
        """The retained register of one machine's alert of one kind (the latest event of it).

        Inference workers publish every alert event here as well, retained, so a restarted or
        new worker learns which alerts are open; only workers read and write it.
        """
        if kind not in ALERT_STATE_KINDS:
            raise InvalidName(f"alert kind {kind!r} must be one of {', '.join(ALERT_STATE_KINDS)}")
        return f"{self.prefix}/machines/{validate_name(machine_id)}/{ALERT_STATE_LEVEL}/{kind}"

    def all_alert_states(self) -> str:
        return f"{self.prefix}/machines/+/{ALERT_STATE_LEVEL}/+"

    def parse_alert_state(self, topic: str) -> tuple[str, str]:
        """(machine_id, kind) of an alert-state topic; ValueError with a reason otherwise."""
        head = f"{self.prefix}/machines/"
        levels = topic[len(head) :].split("/") if topic.startswith(head) else []
        if len(levels) != 3 or levels[1] != ALERT_STATE_LEVEL or levels[2] not in ALERT_STATE_KINDS:
            raise ValueError(f"topic {topic!r} is not {head}MACHINE/{ALERT_STATE_LEVEL}/KIND")
        return validate_name(levels[0]), levels[2]

    def service_sync(self, service: str) -> str:
        """A service's own echo topic: what it publishes there comes back after everything
        the broker queued for it before (retained messages of a fresh subscription)."""
        return f"{self.prefix}/services/{validate_name(service)}/sync"

    def all_service_syncs(self) -> str:
        return f"{self.prefix}/services/+/sync"

    def all_of(self, channel: Channel) -> str:
        """Subscription filter for one channel of every machine."""
        return f"{self.prefix}/machines/+/{channel.value}"

    def all_service_statuses(self) -> str:
        return f"{self.prefix}/services/+/status"

    def all_readings_any_depth(self) -> str:
        """Every machine's readings, and malformed deeper topics under them so they can be rejected."""
        return f"{self.all_of(Channel.READINGS)}/#"

    def all_machine_topics(self) -> str:
        """Every topic under machines/, any channel and any depth (observers that must miss nothing)."""
        return f"{self.prefix}/machines/#"

    @staticmethod
    def shared(group: str, topic_filter: str) -> str:
        """MQTT 5 shared subscription: subscribers in one group split the messages."""
        return f"$share/{validate_name(group)}/{topic_filter}"

    def parse(self, topic: str) -> TopicRef:
        """Parse a concrete machine topic; raise ValueError with a reason otherwise."""
        head = f"{self.prefix}/machines/"
        if not topic.startswith(head):
            raise ValueError(f"topic {topic!r} is outside {head}")
        levels = topic[len(head) :].split("/")
        if len(levels) != 2:
            raise ValueError(f"topic {topic!r} must be {head}MACHINE/CHANNEL")
        machine_id, leaf = levels
        try:
            channel = Channel(leaf)
        except ValueError:
            raise ValueError(f"topic {topic!r} has unknown channel {leaf!r}") from None
        return TopicRef(channel, validate_name(machine_id))

    def is_service_topic(self, topic: str) -> bool:
        """Whether `topic` is under services/ (then parse it with parse_service_status)."""
        return topic.startswith(f"{self.prefix}/services/")

    def parse_service_status(self, topic: str) -> str:
        """The service whose status topic this is; raise ValueError with a reason otherwise."""
        head = f"{self.prefix}/services/"
        if not topic.startswith(head):
            raise ValueError(f"topic {topic!r} is outside {head}")
        levels = topic[len(head) :].split("/")
        if len(levels) != 2 or levels[1] != "status":
            raise ValueError(f"topic {topic!r} must be {head}SERVICE/status")
        return validate_name(levels[0])

    def machine_id_of(self, topic: str) -> str | None:
        """Best-effort machine id of a (possibly malformed) machine topic."""
        head = f"{self.prefix}/machines/"
        if not topic.startswith(head):
            return None
        candidate = topic[len(head) :].split("/", 1)[0]
        return candidate if MACHINE_ID_PATTERN.fullmatch(candidate) else None
