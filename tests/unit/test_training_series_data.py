"""The time-series kinds' profile view and machine histories: parsing, truth, one-line errors."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from contract.profiles import ProfileError, parse_profile
from training.series.data import DataError, parse_histories
from training.series.profile import NotSeriesProfile, SeriesProfile, series_profile

DOCUMENT: dict[str, Any] = {
    "id": "fan",
    "name": "Fan",
    "version": 3,
    "fields": [
        {"name": "hours", "label": "hours", "kind": "counter", "min": 0, "max": 100000},
        {"name": "vibration", "label": "vibration", "kind": "sensor", "unit": "mm/s", "min": 0, "max": 50},
        {"name": "bearing_temp", "label": "bearing", "kind": "sensor", "unit": "°C", "min": -40, "max": 200},
        {"name": "note", "label": "note", "kind": "text"},
    ],
    "model": {
        "kind": "rul",
        "order": "hours",
        "inputs": ["vibration", "bearing_temp"],
        "windows": [{"size": 3, "stats": ["mean", "slope"]}, {"size": "all", "stats": ["mean"]}],
        "rul": {"unit": "hours", "horizon": 48, "cap": 500},
        "anomaly": {"normal_fraction": 0.25, "margin": 3, "windows": [{"size": 2, "stats": ["mean"], "baseline": 4}]},
    },
    "csv_columns": {"fan": "machine_id", "Vib": "vibration"},
}


def _document(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    for path, value in changes.items():
        target = document
        *parents, key = path.split("__")
        for parent in parents:
            target = target[parent]
        target[key] = value
    return document


def _profile(**changes: Any) -> SeriesProfile:
    """The series view of the fan profile, validated by the contract's loader like a file."""
    return series_profile(parse_profile(yaml.safe_dump(_document(**changes), sort_keys=False), "fan.yaml"))


def test_profile_view_reads_the_model_section() -> None:
    profile = _profile()
    assert (profile.id, profile.version, profile.kind, profile.order) == ("fan", 3, "rul", "hours")
    assert profile.inputs == ("vibration", "bearing_temp")
    assert profile.windows.feature_names[:2] == ("vibration_mean3", "bearing_temp_mean3")
    assert (profile.rul_unit, profile.horizon, profile.rul_cap) == ("hours", 48.0, 500.0)
    assert profile.anomaly_windows is not None
    assert profile.anomaly_windows.feature_names == ("vibration_mean2_b4", "bearing_temp_mean2_b4")
    assert (profile.normal_fraction, profile.anomaly_margin) == (0.25, 3.0)
    assert [f.name for f in profile.fields] == ["hours", "vibration", "bearing_temp"]  # the text field is no input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model__inputs": ["vibration", "speed"]}, "fan.yaml:30: model.inputs[1]: 'speed' is not a required sensor"),
        ({"model__order": "note"}, "fan.yaml:27: model.order: 'note' is not a required sensor or counter field"),
        ({"model__kind": "oracle"}, "fan.yaml:26: model.kind: Input should be 'classifier', 'rul' or 'anomaly'"),
        ({"model__windows": [{"size": 1, "stats": ["mean"]}]}, "model.windows[0].size: give a whole number"),
        ({"model__windows": [{"size": 3, "stats": ["median"]}]}, "model.windows[0].stats[0]: Input should be 'mean'"),
        ({"model__windows": [{"size": 3, "stats": ["mean"], "span": 2}]}, "model.windows[0].span: unknown key"),
        ({"model__rul__cap": "lots"}, "model.rul.cap: Input should be a valid number"),
        ({"model__anomaly__normal_fraction": 1.5}, "model.anomaly.normal_fraction: Input should be less than or"),
        ({"csv_columns": {"X": "speed"}}, "csv_columns.X: 'speed' is not a field"),
        ({"model__rul": None}, "fan.yaml:25: model: kind rul needs a `rul` section"),
    ],
)
def test_profile_errors_are_one_line_naming_file_and_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        _profile(**change)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_profile_without_an_order_field_cannot_train_a_series_model() -> None:
    document = _document(model__kind="classifier", model__windows=[], model__anomaly=None, model__rul=None)
    del document["model"]["order"]
    profile = parse_profile(yaml.safe_dump(document, sort_keys=False), "fan.yaml")
    with pytest.raises(NotSeriesProfile, match=r"profile fan: a rul or anomaly model needs `model\.order`"):
        series_profile(profile)


def _csv(*rows: str, header: str = "fan,hours,Vib,bearing_temp") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_histories_are_grouped_by_machine_and_ordered() -> None:
    data = _csv("f2,2,1.5,40", "f1,1,1.0,30", "f2,1,1.4,39", "f1,3,1.2,31", "f1,2,1.1,30.5")
    histories = parse_histories(data, "x.csv", _profile())
    assert histories.ids == ["f2", "f1"]
    assert histories.machines.tolist() == ["f2", "f2", "f1", "f1", "f1"]
    assert histories.order.tolist() == [1, 2, 1, 2, 3]
    assert histories.values[:, 0].tolist() == [1.4, 1.5, 1.0, 1.1, 1.2]
    assert histories.rul is not None
    assert histories.rul.tolist() == [1, 0, 2, 1, 0]  # run to failure: the last row fails
    assert "run-to-failure" in histories.rul_source
    assert [(m, (s.start, s.stop)) for m, s in histories.spans()] == [("f2", (0, 2)), ("f1", (2, 5))]


def test_a_rul_column_is_the_truth() -> None:
    data = _csv("f1,1,1.0,30,12", "f1,2,1.1,30,11", header="fan,hours,Vib,bearing_temp,rul")
    histories = parse_histories(data, "x.csv", _profile())
    assert histories.rul is not None
    assert histories.rul.tolist() == [12, 11]
    assert histories.rul_source == "the rul column"


def test_a_failure_column_must_end_each_history() -> None:
    header = "fan,hours,Vib,bearing_temp,failure"
    ok = parse_histories(_csv("f1,1,1,30,0", "f1,2,1,30,1", header=header), "x.csv", _profile())
    assert ok.rul is not None
    assert ok.rul.tolist() == [1, 0]
    with pytest.raises(DataError, match=r"x.csv: machine f1 does not fail at its last reading .*run-to-failure"):
        parse_histories(_csv("f1,1,1,30,0", "f1,2,1,30,0", header=header), "x.csv", _profile())
    with pytest.raises(DataError, match=r"x.csv, line 2: machine f1 fails before its last reading"):
        parse_histories(_csv("f1,1,1,30,1", "f1,2,1,30,1", header=header), "x.csv", _profile())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_csv("f1,1,1.0", header="fan,hours,Vib"), "x.csv: missing column(s) bearing_temp that profile fan needs"),
        (_csv("f1,1,abc,30"), "x.csv, line 2: Vib 'abc' is not a number"),
        (_csv("f1,1,1,30", "f1,2,,30"), "x.csv, line 3: Vib is missing"),
        (_csv("f1,1,99,30"), "x.csv, line 2: Vib 99 is outside [0, 50]"),
        (_csv("f1,1,1,30", "f1,1,2,30"), "x.csv, line 3: machine f1 has two readings at 1"),
        (_csv(",1,1,30"), "x.csv, line 2: fan (the machine) is empty"),
        (_csv("f1,1,1,30,-3", header="fan,hours,Vib,bearing_temp,rul"), "x.csv, line 2: rul must be a number >= 0"),
        (b"", "x.csv: file is empty"),
        (_csv(), "x.csv: no data rows"),
    ],
)
def test_bad_files_give_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(DataError) as caught:
        parse_histories(data, "x.csv", _profile())
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_map_renames_columns_and_must_name_fields() -> None:
    data = _csv("f1,1,1.0,30", header="engine,hours,V,T")
    histories = parse_histories(
        data, "x.csv", _profile(), {"engine": "machine_id", "V": "vibration", "T": "bearing_temp"}
    )
    assert np.array_equal(histories.values, [[1.0, 30.0]])
    with pytest.raises(DataError, match="--map names speed: not fields of profile fan"):
        parse_histories(data, "x.csv", _profile(), {"V": "speed"})
