"""S4: payload fuzzing of the reading parser and of the worker's decode path (2,000 examples each).

No input may crash either; whatever they accept must be a valid reading, every prediction the
worker makes must come from such a reading and be a row the API would store, and scoring goes
on after any batch. The examples mix raw bytes, arbitrary JSON and valid readings with fields
broken one by one.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.decode import prediction_row
from contract import (
    MAX_PAYLOAD_BYTES,
    REJECTION_REASONS,
    InvalidReading,
    Reading,
    Topics,
    default_profile,
    parse_reading,
    parse_ts,
)
from contract.compat import V1_PHYSICAL_BOUNDS as PHYSICAL_BOUNDS
from contract.payloads import READING_ID_PATTERN
from inference_worker.alerts import AlertTracker
from inference_worker.core import BatchProcessor, Incoming
from model.artifact import load_model
from model.scoring import ModelScorer
from tests.reliability.harness import report
from tests.support.payloads import reading

# make test runs a fixed sequence of examples, so CI stays reproducible; hunt with fresh ones:
# FOREWARN_FUZZ_RANDOM=1 FOREWARN_FUZZ_EXAMPLES=50000 pytest tests/reliability/test_fuzzing.py
EXAMPLES = int(os.environ.get("FOREWARN_FUZZ_EXAMPLES", "2000"))
TOPICS = Topics()
MACHINE = "fuzz-1"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("FOREWARN_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
extreme_numbers = st.sampled_from([0, -1, 1e308, -1e308, 10**400, 2**63, 1e-320, "1e5", True, None])


@st.composite
def broken_readings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid reading with some fields removed, replaced or added."""
    data = reading()
    for name in draw(st.lists(st.sampled_from(sorted(data)), max_size=4, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            del data[name]
        elif choice == 1:
            data[name] = draw(json_values)
        elif choice == 2:
            data[name] = draw(extreme_numbers)
        else:
            data[name] = draw(st.text(max_size=300))
    if draw(st.booleans()):
        data[draw(st.text(max_size=10))] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        data["machine_id"] = draw(st.sampled_from([MACHINE, "other", 7]))
    return data


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


payloads = st.one_of(
    st.binary(max_size=400),
    json_values.map(_encode),
    broken_readings().map(_encode),
    st.builds(lambda: _encode(reading())),
    st.integers(MAX_PAYLOAD_BYTES - 10, MAX_PAYLOAD_BYTES + 10).map(lambda n: b'{"x": "' + b"a" * n + b'"}'),
)
topics = st.one_of(
    st.just(TOPICS.readings(MACHINE)),
    st.sampled_from(
        [
            TOPICS.readings(MACHINE) + "/extra",
            TOPICS.status(MACHINE),
            "pdm/machines//readings",
            "pdm/machines/a b/readings",
            "other/topic",
            "pdm/machines/" + "x" * 65 + "/readings",
        ]
    ),
    st.text(max_size=60),
)


def _assert_valid(parsed: Reading) -> None:
    for name, (low, high) in PHYSICAL_BOUNDS.items():
        value = parsed.values[name]
        assert isinstance(value, float), name
        assert math.isfinite(value), name
        assert low <= value <= high, name
    assert READING_ID_PATTERN.fullmatch(parsed.reading_id)
    assert parsed.values["type"] in ("L", "M", "H")
    parse_ts(parsed.ts)
    assert parse_reading(parsed.to_json()) == parsed  # what we accept survives its own round trip


_tally = {"parser_accepted": 0, "parser_rejected": 0, "batches": 0, "messages": 0, "predictions": 0}


@FUZZ
@given(payloads)
def test_s4_the_reading_parser_never_crashes_and_accepts_only_valid_readings(raw: bytes) -> None:
    try:
        parsed: Reading | str = parse_reading(raw, MACHINE)
    except InvalidReading as exc:
        parsed = exc.reason
    if isinstance(parsed, str):
        assert parsed in REJECTION_REASONS
        _tally["parser_rejected"] += 1
    else:
        _assert_valid(parsed)
        _tally["parser_accepted"] += 1


@pytest.fixture(scope="module")
def processor(models_dir: Path) -> BatchProcessor:
    scorer = ModelScorer(load_model(models_dir))
    return BatchProcessor(
        TOPICS,
        lambda _profile: scorer,
        AlertTracker(5),
        lambda: "2026-01-01T00:00:00.000Z",
        lambda _machine: default_profile(),  # every fuzzed machine is an AI4I machine
    )


def _acceptable(message: Incoming) -> bool:
    """Whether the worker may score `message`: a readings topic of a valid machine and a valid reading."""
    try:
        ref = TOPICS.parse(message.topic)
        if ref.channel.value != "readings":
            return False
        parse_reading(message.payload, ref.machine_id)
    except ValueError:  # InvalidReading and InvalidName are ValueErrors too
        return False
    return True


def test_s4_the_worker_decode_path_never_crashes_and_scores_only_valid_readings(processor: BatchProcessor) -> None:
    @FUZZ
    @given(st.lists(st.builds(Incoming, topics, payloads), min_size=1, max_size=6))
    def fuzz(batch: list[Incoming]) -> None:
        result = processor.process(batch)
        assert len(result.predictions) + len(result.rejections) == len(batch)
        valid_ids = {parse_reading(m.payload).reading_id for m in batch if _acceptable(m)}
        assert len(result.predictions) == sum(1 for m in batch if _acceptable(m))
        for prediction in result.predictions:
            assert prediction.reading_id in valid_ids
            assert prediction.failure_probability is not None
            assert 0.0 <= prediction.failure_probability <= 1.0
            prediction_row(prediction.to_json(), prediction.machine_id)  # a row the API stores as is
        for _machine, rejection in result.rejections:
            assert rejection.reason in REJECTION_REASONS
        _tally["batches"] += 1
        _tally["messages"] += len(batch)
        _tally["predictions"] += len(result.predictions)

    fuzz()
    still = processor.process([Incoming(TOPICS.readings(MACHINE), _encode(reading()))])
    assert len(still.predictions) == 1, "scoring stopped after the fuzzing"
    report("S4", examples_per_test=EXAMPLES, **_tally)
