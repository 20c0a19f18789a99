"""python -m bench.fleet: the same as python -m bench fleet."""

from bench.fleet.run import main
from common.settings import run_cli

if __name__ == "__main__":
    run_cli(main)
