"""Command-line argument errors become one-line ConfigErrors (exit 2 under run_cli)."""

from __future__ import annotations

import pytest

from common.settings import ConfigError
from training.__main__ import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "many"], "invalid int value: 'many'"),
        (["--seed", "-1"], "--seed -1 must be at least 0"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["evaluate"], "the following arguments are required: FILE.csv"),
        (["evaluate", "x.csv", "--version"], "argument --version: expected one argument"),
        (["promote"], "the following arguments are required: --profile"),
        (["rollback", "--profile"], "argument --profile: expected one argument"),
        (["challenger", "--profile", "fan"], "one of the arguments --version --clear is required"),
        (["compare", "--profile", "fan", "--bogus"], "unrecognized arguments: --bogus"),
        (["--champion"], "--champion goes with --from-history"),
    ],
)
def test_bad_arguments_raise_one_line_config_error(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        main(argv)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_TRAIN_JOBS", "lots")
    with pytest.raises(ConfigError, match="FOREWARN_TRAIN_JOBS"):
        main([])


@pytest.mark.parametrize(
    ("name", "value"),
    [("FOREWARN_AUTO_PROMOTE", "maybe"), ("FOREWARN_PROMOTE_MARGIN", "-1"), ("FOREWARN_PROMOTE_MIN_LABELS", "0")],
)
def test_bad_promotion_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        main(["promote", "--profile", "ai4i-mill"])
