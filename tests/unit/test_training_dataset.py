"""Parsing seed CSV bytes: labels, and errors that name the file and line."""

from __future__ import annotations

import numpy as np
import pytest

from contract import default_profile
from training.dataset import DatasetError, modes_of, parse_csv

COLUMNS = list(default_profile().csv_columns)  # the AI4I files' column names
MODES = modes_of(default_profile())
HEADER = ",".join(COLUMNS) + "\n"
NORMAL = "M14860,M,298.1,308.6,1551,42.8,0,0,No Failure\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


def test_rows_become_raw_matrix_and_labels() -> None:
    data = parse_csv(
        _csv(
            NORMAL,
            "L1,L,302.1,310.7,1294,60.1,10,1,Heat Dissipation Failure\n",
            "H1,H,300.0,310.0,1300,70.0,200,1,Power Failure; Overstrain Failure\n",
        ),
        "seed.csv",
    )
    assert data.raw.tolist()[0] == [1, 298.1, 308.6, 1551, 42.8, 0]
    assert data.raw[1, 0] == 0
    assert data.raw[2, 0] == 2
    assert data.failure.tolist() == [0, 1, 1]
    assert data.mode.tolist() == ["none", "HDF", "PWF"]
    flagged = {MODES[i] for i in np.flatnonzero(data.mode_flags[2])}
    assert flagged == {"PWF", "OSF"}


def test_random_failure_without_failure_is_no_failure() -> None:
    data = parse_csv(_csv("M1,M,297.0,308.3,1399,46.4,132,0,Random Failure\n"), "seed.csv")
    assert data.failure.tolist() == [0]
    assert data.mode.tolist() == ["none"]


def test_unspecified_failure_is_a_failure_of_mode_unk() -> None:
    data = parse_csv(_csv("M1,M,299.7,309.2,1685,28.9,179,1,Unspecified Failure\n"), "seed.csv")
    assert data.failure.tolist() == [1]
    assert data.mode.tolist() == ["UNK"]


def test_first_named_mode_is_the_primary_mode() -> None:
    data = parse_csv(_csv("L1,L,301.7,310.9,1405,46.4,207,1,Tool Wear Failure; Random Failure\n"), "s.csv")
    assert data.mode.tolist() == ["TWF"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "M2,M,298.1,308.6,fast,42.8,0,0,No Failure\n",
            "s.csv, line 3: Rotational_Speed 'fast' is not a number",
        ),
        ("M2,M,298.1,308.6,1551,,0,0,No Failure\n", "s.csv, line 3: Torque is missing"),
        ("M2,X,298.1,308.6,1551,42.8,0,0,No Failure\n", "s.csv, line 3: Category 'X' is not one of L, M, H"),
        ("M2,M,298.1,308.6,1551,42.8,0,2,No Failure\n", "s.csv, line 3: Failure '2' must be 0 or 1"),
        ("M2,M,298.1,308.6,1551,4200,0,0,No Failure\n", "s.csv, line 3: Torque 4200 is outside [0, 1000]"),
        ("M2,M,298.1,308.6,1551,42.8,0,1,No Failure\n", "s.csv, line 3: Failure is 1 but"),
        ("M2,M,298.1,308.6,1551,42.8,0,0,Power Failure\n", "s.csv, line 3: Failure is 0 but"),
        ("M2,M,298.1,308.6,1551,42.8,0,1,Gremlins\n", "s.csv, line 3: unknown failure mode 'Gremlins'"),
        ("\n", "s.csv, line 3: empty line"),
        ("M2,M,298.1,308.6,1551,42.8,0,0,No Failure,extra\n", "Expected 9 fields in line 3, saw 10"),
    ],
)
def test_bad_row_names_file_and_line(row: str, message: str) -> None:
    with pytest.raises(DatasetError) as caught:
        parse_csv(_csv(NORMAL, row), "s.csv")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "s.csv: file is empty"),
        (HEADER.encode(), "s.csv: no data rows"),
        (b"a,b\n1,2\n", "s.csv: missing column(s) Identifier"),
        (b"\xff\xfe\x00garbage", "s.csv: not a valid CSV"),
    ],
)
def test_bad_file_is_named(content: bytes, message: str) -> None:
    with pytest.raises(DatasetError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_csv(content, "s.csv")
