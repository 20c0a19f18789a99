"""`python -m training.series`: argument errors become one-line ConfigErrors (exit 2 under run_cli)."""

from __future__ import annotations

import pytest

from common.settings import ConfigError
from training.series.__main__ import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "x.csv"], "the following arguments are required: --profile"),
        (["--profile", "turbofan"], "the following arguments are required: --data"),
        (["--profile", "turbofan", "--data", "x.csv", "--kind", "oracle"], "argument --kind: invalid choice: 'oracle'"),
        (["--profile", "turbofan", "--data", "x.csv", "--seed", "many"], "invalid int value: 'many'"),
        (["--profile", "turbofan", "--data", "x.csv", "--seed", "-1"], "--seed -1 must be at least 0"),
        (["evaluate", "--profile", "turbofan"], "the following arguments are required: FILE.csv"),
        (["evaluate", "--profile", "turbofan", "x.csv", "--lead", "-3"], "--lead -3 must be at least 0"),
    ],
)
def test_bad_arguments_raise_one_line_config_error(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        main(argv)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
