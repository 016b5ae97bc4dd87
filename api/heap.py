"""Keep the garbage collector's full passes away from the objects loaded at start-up."""

from __future__ import annotations

import gc
import logging

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
