"""The cyclic garbage collector of a long-running service, set once its start-up is done.

CPython's full collection (generation 2) walks every tracked object, and with the defaults it
runs whenever a quarter as many objects as it holds have been promoted since the last one. In
the API at 2,000 machines that was every ~4.5 s, each 64-102 ms of CPU with every thread of the
process stopped: most of what it walked was built at start-up (modules, SQLAlchemy's and
pydantic's structures) and never becomes garbage, and a fleet's readings promote a steady
stream of short-lived objects (a machine's latest state, the event stream's replay buffer).

`settle()` moves what start-up built out of the collector's sight (``gc.freeze``), so a full
collection walks only what the service holds since, and spaces full collections out to one in
`full_every` middle-generation collections (CPython's default is 10). Reference cycles are
still collected; only later.
"""

from __future__ import annotations

import gc

__all__ = ["FULL_EVERY", "settle"]

FULL_EVERY = 100


def settle(full_every: int = FULL_EVERY) -> None:
    """Call once, when the service has started: collect, freeze what is left, space full collections."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, full_every)
