"""Keep the garbage collector's passes few, and away from the objects loaded at start-up."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then move every surviving object to the permanent generation.

    Start-up loads millions of long-lived objects (PyTorch, transformers, Presidio,
    spaCy, the injection classifier, the graph). CPython's oldest-generation pass
    walks all of them: one such pass stalled a guard scan for ~300 ms in
    `bench/guards.py`, and in a server it stalls every turn in flight. Frozen
    objects are never scanned (nor freed, which start-up objects never are anyway).
    Returns how many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("Froze %d start-up objects out of the garbage collector's passes", frozen)
    return frozen


@contextmanager
def young_collection_threshold(threshold: int) -> Iterator[None]:
    """Run the garbage collector's young pass every `threshold` allocations in the block.

    CPython's default, 700 net allocations of container objects, suits a script.
    A server under load holds every turn in flight (its messages, state, tasks and
    frames) while it allocates, so each young pass, and each of the middle passes
    that follow every tenth, walks those live objects again, and a full pass walks
    them once more: measured on `bench/load.py`'s server at 40 turns/s, the
    collector took 1.2–1.5 ms a turn at 700, 0.6–0.7 ms at 10,000, where a young pass
    pauses the loop ~12 ms. The older generations' thresholds stay as they are.
    On exit the previous thresholds come back (a test's process outlives the app).
    """
    previous = gc.get_threshold()
    gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
