"""Saving and loading model versions on disk: round trip, pointer, refusals."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from model.artifact import (
    CARD_FILE,
    CURRENT_FILE,
    MODEL_FILE,
    ModelError,
    current_version,
    load_model,
    save_model,
)
from training.modelling import Hyperparameters, build_pipeline

RAW = np.array([[0, 300, 310, 1500, 40, 10], [1, 301, 309, 1300, 70, 220]] * 20, dtype=float)
LABELS = np.array(["none", "PWF"] * 20)


class Sneaky(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A step skops does not trust: loading it would run code from this test module."""

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return x


def _pipeline(seed: int = 0) -> Pipeline:
    return build_pipeline(Hyperparameters(n_estimators=3), seed).fit(RAW, LABELS)


def _card(pipeline: Pipeline) -> dict[str, object]:
    return {"classes": [str(c) for c in pipeline.classes_], "threshold": 0.4, "metrics": {}}


def _saved(tmp_path: Path) -> tuple[Path, str]:
    pipeline = _pipeline()
    return tmp_path, save_model(pipeline, _card(pipeline), tmp_path)


def test_round_trip_points_current_at_the_new_version(tmp_path: Path) -> None:
    first = _pipeline(seed=1)
    old = save_model(first, _card(first), tmp_path)
    second = _pipeline(seed=2)
    new = save_model(second, _card(second), tmp_path)
    assert current_version(tmp_path) == new != old
    assert (tmp_path / CURRENT_FILE).read_text().strip() == new
    loaded = load_model(tmp_path)
    assert loaded.version == new
    assert loaded.classes == ("PWF", "none")
    assert loaded.threshold == 0.4
    assert loaded.card["model_sha256"].startswith(new)
    assert np.array_equal(loaded.pipeline.predict_proba(RAW), second.predict_proba(RAW))
    assert load_model(tmp_path, old).version == old  # old versions stay loadable
    assert not list(tmp_path.glob("**/*.tmp"))


def test_missing_model_says_how_to_make_one(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    with pytest.raises(ModelError, match=r"no model in .*: run `python -m training`"):
        load_model(tmp_path)


@pytest.mark.parametrize("version", ["../../etc", "ABCDEF012345", "abc"])
def test_malformed_version_is_refused(tmp_path: Path, version: str) -> None:
    with pytest.raises(ModelError, match="not 12 lowercase hex digits"):
        load_model(tmp_path, version)


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    _saved(tmp_path)
    with pytest.raises(ModelError, match="is missing"):
        load_model(tmp_path, "0123456789ab")


def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    folder, version = _saved(tmp_path)
    model_file = folder / version / MODEL_FILE
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(folder)


def _edit_card(folder: Path, version: str, **changes: object) -> None:
    path = folder / version / CARD_FILE
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model_sha256": "0" * 64}, "does not match its card"),
        ({"classes": ["none", "PWF"]}, "card classes"),
        ({"threshold": 1.5}, "threshold 1.5 is not a number in"),
        ({"threshold": "high"}, "threshold 'high'"),
    ],
)
def test_tampered_card_is_refused(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    folder, version = _saved(tmp_path)
    _edit_card(folder, version, **changes)
    with pytest.raises(ModelError, match=message):
        load_model(folder)


def test_card_that_is_not_json_is_refused(tmp_path: Path) -> None:
    folder, version = _saved(tmp_path)
    (folder / version / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not readable JSON"):
        load_model(folder)


def test_untrusted_type_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    pipeline = build_pipeline(Hyperparameters(n_estimators=3), 0)
    pipeline.steps.insert(1, ("sneaky", Sneaky()))
    pipeline.fit(RAW, LABELS)
    save_model(pipeline, _card(pipeline), tmp_path)
    with pytest.raises(ModelError, match=r"untrusted types .*Sneaky"):
        load_model(tmp_path)


def test_corrupt_archive_with_matching_card_is_refused(tmp_path: Path) -> None:
    folder = tmp_path
    garbage = b"PK\x03\x04 not really a zip"
    digest = hashlib.sha256(garbage).hexdigest()
    (folder / digest[:12]).mkdir()
    (folder / digest[:12] / MODEL_FILE).write_bytes(garbage)
    (folder / digest[:12] / CARD_FILE).write_text(json.dumps({"model_sha256": digest}))
    with pytest.raises(ModelError, match="is corrupt"):
        load_model(folder, digest[:12])


def _loads_failing(monkeypatch: pytest.MonkeyPatch, errors: list[SystemError]) -> list[int]:
    """skops.io.loads raising `errors` first (one per call), then loading for real; returns the calls made."""
    real, calls = skops.io.loads, []

    def loads(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return real(*args, **kwargs)

    monkeypatch.setattr(skops.io, "loads", loads)
    return calls


def test_a_load_hit_by_cpythons_ast_thread_race_is_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, version = _saved(tmp_path)
    race = SystemError("AST constructor recursion depth mismatch (before=246, after=289)")
    calls = _loads_failing(monkeypatch, [race, race])
    assert load_model(folder).version == version
    assert len(calls) == 3


def test_the_ast_race_every_time_or_another_system_error_is_reported_as_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = _saved(tmp_path)
    race = SystemError("AST constructor recursion depth mismatch (before=246, after=289)")
    calls = _loads_failing(monkeypatch, [race, race, race])
    with pytest.raises(ModelError, match=r"is corrupt .*recursion depth mismatch"):
        load_model(folder)
    assert len(calls) == 3
    calls = _loads_failing(monkeypatch, [SystemError("something else")])
    with pytest.raises(ModelError, match=r"is corrupt .*something else"):
        load_model(folder)
    assert len(calls) == 1


def test_saved_file_is_a_compressed_skops_archive(tmp_path: Path) -> None:
    folder, version = _saved(tmp_path)
    model_file = folder / version / MODEL_FILE
    with zipfile.ZipFile(model_file) as archive:
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert "model.features.FeatureBuilder" in skops.io.get_untrusted_types(file=model_file)
