"""CSV replay parsing: good rows, bad rows named by line, and the header check."""

from __future__ import annotations

import pytest

from contract import default_profile, parse_reading
from contract.profiles import parse_profile
from publisher.replay import BadFileError, BadRow, ReplayFormat, Row, load_rows, read_rows

COLUMNS = list(default_profile().csv_columns)  # the AI4I files' column names
HEADER = ",".join(COLUMNS)
GOOD = "L47181,L,298.2,308.7,1408,46.3,3,0,No Failure"


def lines(*rows: str, header: str = HEADER) -> list[str]:
    return [f"{header}\n", *(f"{row}\n" for row in rows)]


def test_a_good_row_becomes_a_sample_with_every_column() -> None:
    (row,) = read_rows(lines(GOOD), "slave1.csv")
    assert isinstance(row, Row)
    assert (row.index, row.line) == (0, 2)
    sample = row.sample
    assert sample.values == {
        "air_temp_k": 298.2,
        "process_temp_k": 308.7,
        "rotational_speed_rpm": 1408.0,
        "torque_nm": 46.3,
        "tool_wear_min": 3.0,
        "type": "L",
        "product_id": "L47181",
    }
    assert (sample.failure, sample.failure_description) == (0, "No Failure")


def test_a_sample_makes_a_reading_the_contract_accepts() -> None:
    (row,) = read_rows(lines("M1,M,298.9,309.1,1410,65.7,191,1,Power Failure; Overstrain Failure"), "x.csv")
    assert isinstance(row, Row)
    reading = row.sample.to_reading("m-1-000001", "2026-01-01T00:00:00.000Z")
    assert parse_reading(reading.to_json()).to_dict() == reading.to_dict()
    assert reading.failure_description == "Power Failure; Overstrain Failure"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("L1,L,abc,308.7,1408,46.3,3,0,No Failure", "Air_Temp 'abc' is not a number"),
        ("L1,X,298.2,308.7,1408,46.3,3,0,No Failure", "Category 'X' must be one of L, M, H"),
        ("L1,L,298.2,308.7,1408,46.3,3,0", "expected 9 fields, found 8"),
        ("L1,L,298.2,308.7,1408,46.3,3,0,No Failure,extra", "expected 9 fields, found 10"),
        ("L1,L,-5,308.7,1408,46.3,3,0,No Failure", "Air_Temp=-5 is outside the plausible range [200, 400]"),
        ("L1,L,298.2,nan,1408,46.3,3,0,No Failure", "Process_Temp 'nan' is not a finite number"),
        ("L1,L,298.2,308.7,1408,inf,3,0,No Failure", "Torque 'inf' is not a finite number"),
        ("L1,L,298.2,308.7,1408,46.3,3,2,No Failure", "Failure '2' must be 0 or 1"),
        (f"{'L' * 65},L,298.2,308.7,1408,46.3,3,0,No Failure", "Identifier is longer than 64 characters"),
        ("L1,L,298.2,308.7,1408,46.3,,0,No Failure", "Tool_Life '' is not a number"),
    ],
)
def test_a_bad_row_names_file_line_and_problem(row: str, reason: str) -> None:
    good, bad = load_rows(lines(GOOD, row, GOOD), "data/slave1.csv")
    assert [r.line for r in good] == [2, 4]
    assert bad == [BadRow(1, "data/slave1.csv", 3, reason)]
    assert str(bad[0]) == f"data/slave1.csv:3: {reason}"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    text = [
        f"{HEADER}\n",
        "\n",
        f"{GOOD}\n",
        'L2,L,298.2,308.7,1408,46.3,3,0,"two\n',
        'lines"\n',
        "L3,Q,1,1,1,1,1,0,x\n",
    ]
    items = list(read_rows(text, "f.csv"))
    assert [(type(i).__name__, i.index, i.line) for i in items] == [
        ("Row", 0, 3),
        ("Row", 1, 5),
        ("BadRow", 2, 6),
    ]
    assert isinstance(items[1], Row)
    assert items[1].sample.failure_description == "two\nlines"


def test_empty_failure_columns_mean_unknown() -> None:
    (row,) = read_rows(lines("L1,L,298.2,308.7,1408,46.3,3,,"), "f.csv")
    assert isinstance(row, Row)
    assert (row.sample.failure, row.sample.failure_description) == (None, None)


def test_columns_may_come_in_any_order_with_extras_and_a_byte_order_mark() -> None:
    header = "\ufeffNote," + ",".join(reversed(COLUMNS))
    (row,) = read_rows(lines("hi,No Failure,0,3,46.3,1408,308.7,298.2,H,H9", header=header), "f.csv")
    assert isinstance(row, Row)
    values = row.sample.values
    assert (values["type"], values["product_id"], values["air_temp_k"]) == ("H", "H9", 298.2)


def test_a_header_missing_columns_is_refused_naming_them() -> None:
    header = "Identifier,Category,Air_Temp,Process_Temp,Speed,Torque,Tool_Life,Failure,Failure_Description"
    with pytest.raises(BadFileError, match=r"^data/x\.csv:1: header lacks Rotational_Speed; expected"):
        list(read_rows(lines(GOOD, header=header), "data/x.csv"))


def test_a_data_row_in_place_of_the_header_is_refused() -> None:
    with pytest.raises(BadFileError, match="header lacks Identifier, Category"):
        list(read_rows([f"{GOOD}\n", f"{GOOD}\n"], "x.csv"))


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(BadFileError, match=r"^x\.csv:1: file is empty"):
        list(read_rows([], "x.csv"))


def test_a_header_alone_gives_no_rows() -> None:
    assert load_rows(lines(), "x.csv") == ([], [])


def test_a_field_too_large_for_csv_is_a_bad_row_and_reading_goes_on() -> None:
    huge = "L1,L,298.2,308.7,1408,46.3,3,0," + "x" * 200_000
    good, bad = load_rows(lines(huge, GOOD), "f.csv")
    assert [r.line for r in good] == [3]
    assert [(b.line, b.reason.startswith("unreadable row (field larger than field limit")) for b in bad] == [(2, True)]


FAN = """
id: fan-r
name: Test fan
fields:
  - {name: vibration_mm_s, label: vibration, kind: sensor, unit: mm/s, min: 0, max: 100}
  - {name: bearing_temp_c, label: bearing temperature, kind: sensor, unit: °C, min: -40, max: 200}
failure_modes:
  - {code: BRG, name: Bearing Failure}
"""


def test_any_csv_maps_onto_any_profile() -> None:
    fan = parse_profile(FAN, "fan.yaml")
    form = ReplayFormat(fan, {"Vib": "vibration_mm_s", "Temp": "bearing_temp_c", "Broken": "failure"})
    (row, bad) = read_rows(["When,Vib,Temp,Broken\n", "x,2.5,61,0\n", "y,2.5,999,0\n"], "fans.csv", form)
    assert isinstance(row, Row)
    assert row.sample.values == {"vibration_mm_s": 2.5, "bearing_temp_c": 61.0}
    assert row.sample.failure == 0
    assert isinstance(bad, BadRow)
    assert bad.reason == "Temp=999 is outside the plausible range [-40, 200]"
    with pytest.raises(BadFileError, match="header lacks Temp"):
        list(read_rows(["Vib,Broken\n"], "fans.csv", form))
    with pytest.raises(BadFileError, match="--map names speed, not fields of profile fan-r"):
        ReplayFormat(fan, {"Speed": "speed"})
