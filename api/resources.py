"""Long-lived, expensive resources the lifespan loads once per process."""

from __future__ import annotations

import logging
import threading
from typing import Literal

from api.settings import Settings
from graph.guards import GuardConfig, Guards, build_guards
from ingestion.errors import KnowledgeBaseError
from ingestion.knowledge_base import KnowledgeBase

logger = logging.getLogger(__name__)

_guards: dict[str, Guards] = {}
_guards_lock = threading.Lock()


def load_guards(settings: Settings) -> Guards:
    """Build the guards for `settings`, once per process per configuration (blocking).

    Building trains the injection classifier and loads scanners: seconds, so
    an app restarted in the same process (tests) reuses them.
    """
    config = GuardConfig.from_settings(settings)
    key = repr(config)  # frozen, but holds a dict of model paths: not hashable
    with _guards_lock:
        if key not in _guards:
            _quiet_llm_guard("WARNING")  # loading: a scanner falling back from ONNX says so
            _guards[key] = build_guards(config)
            _quiet_llm_guard("ERROR")
        return _guards[key]


def open_knowledge_base(settings: Settings) -> KnowledgeBase | None:
    """Open the knowledge base and index the bundled help center (blocking).

    Returns None when Chroma cannot be reached: the service starts, and the
    specialists answer without the knowledge base.
    """
    from ingestion.cli import ensure_demo_help_center

    try:
        kb = KnowledgeBase.open(settings)
        ensure_demo_help_center(settings, kb=kb)
    except KnowledgeBaseError as error:
        logger.warning("knowledge base unavailable, starting without it: %s", error)
        return None
    logger.info("knowledge base ready: %d chunks", kb.size)
    return kb


def _quiet_llm_guard(level: Literal["WARNING", "ERROR"]) -> None:
    """Set llm-guard's own logger, which prints to stdout, outside our log handler.

    It logs a debug line per scan (with parts of the text), and a warning per
    verdict ("Found the following banned substrings" for every reply with
    "sorry" in it): our guard events, metrics and traces record each verdict,
    so once the scanners are loaded only its errors are printed.
    """
    from llm_guard.util import configure_logger

    configure_logger(level)
