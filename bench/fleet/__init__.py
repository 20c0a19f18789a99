"""The fleet benchmark: how many machines at 1 Hz one box carries from sensor to screen.

    python -m bench fleet                 # the ramp, SQLite and PostgreSQL side by side (make bench-fleet)
    python -m bench fleet --smoke         # seconds: tiny fleet, short windows (make test runs it)

See bench/README.md ("Fleet scale") for what runs, what is measured and how to read it.
"""
