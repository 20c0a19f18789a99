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
