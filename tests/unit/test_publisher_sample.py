"""Failure descriptions in the dataset's words and order; reading ids the contract accepts."""

from __future__ import annotations

import pytest

from contract.payloads import READING_ID_PATTERN
from publisher.sample import describe_modes, reading_id


@pytest.mark.parametrize(
    ("modes", "text"),
    [
        (set(), "No Failure"),
        ({"PWF"}, "Power Failure"),
        ({"OSF", "HDF"}, "Heat Dissipation Failure; Overstrain Failure"),
        ({"RNF", "TWF"}, "Tool Wear Failure; Random Failure"),
    ],
)
def test_modes_are_described_like_the_dataset(modes: set[str], text: str) -> None:
    assert describe_modes(modes) == text


def test_reading_ids_fit_the_contract_even_for_the_longest_machine_id() -> None:
    longest = reading_id("m" * 64, 1_795_743_538_740, 12_345_678)
    assert longest == f"{'m' * 64}-1795743538740-12345678"
    assert READING_ID_PATTERN.fullmatch(longest)
    assert reading_id("slave1", 5, 42) == "slave1-5-000042"
