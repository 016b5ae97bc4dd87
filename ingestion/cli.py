"""Command-line ingestion and the start-up ingestion of the bundled help center.

Run with: switchboard ingest PATH... [--prune], or --audit to check passages first.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.errors import KnowledgeBaseError
from ingestion.indexer import IngestReport

if TYPE_CHECKING:
    from api.settings import Settings
    from ingestion.knowledge_base import KnowledgeBase

HELP_CENTER_DIR = Path(__file__).parent / "help_center"
"""The bundled demo help center (Markdown articles of the Switchboard Demo Store)."""

logger = logging.getLogger(__name__)


def ingest_command(paths: list[str], *, prune: bool, settings: Settings) -> int:
    """Ingest files and directories into the knowledge base, printing progress and a summary.

    Args:
        paths: Files and directories (Markdown, HTML, text, PDF).
        prune: Also delete chunks of files that disappeared from these paths.
        settings: Where the store is and how to chunk.

    Returns:
        The exit code: 0 when everything was ingested, 1 when some files were
        skipped (the rest is ingested), 2 when nothing could be done.

    """
    from ingestion.knowledge_base import KnowledgeBase

    if not paths:
        print("error: give at least one file or directory to ingest", file=sys.stderr)
        return 2
    try:
        kb = KnowledgeBase.open(settings)
        report = kb.ingest(paths, prune=prune, progress=True)
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.failures else 0


def audit_command(paths: list[str], *, settings: Settings) -> int:
    """Print the passages of `paths` the tool-result guard would withhold; index nothing.

    Returns:
        The exit code: 0 when every passage would reach the model, 1 when some
        would be withheld or some files could not be read, 2 when nothing could be done.

    """
    from api.resources import load_guards
    from graph.guards import GuardError
    from ingestion.audit import audit

    if not paths:
        print("error: give at least one file or directory to audit", file=sys.stderr)
        return 2
    print("loading the guards (a few seconds)...", file=sys.stderr)
    try:
        report = audit(paths, settings=settings, guards=load_guards(settings))
    except (KnowledgeBaseError, GuardError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.withheld or report.failures else 0


def ensure_demo_help_center(settings: Settings, *, kb: KnowledgeBase | None = None) -> IngestReport:
    """Ingest the bundled help center, pruning articles removed from it (blocking).

    A fast no-op when nothing changed (files are hashed, nothing is embedded).
    Call it from a worker thread at start-up; pass the app's `KnowledgeBase`
    so its BM25 snapshot is refreshed in place.

    Raises:
        KnowledgeBaseUnavailable: Chroma cannot be reached.

    """
    from ingestion.knowledge_base import KnowledgeBase

    kb = kb or KnowledgeBase.open(settings)
    report = kb.ingest([HELP_CENTER_DIR], prune=True, progress=False)
    if report.changed:
        logger.info("Demo help center ingested. %s", report.summary().replace("\n", "; "))
    for failure in report.failures:
        logger.warning("Demo help center: skipped %s", failure)
    return report
