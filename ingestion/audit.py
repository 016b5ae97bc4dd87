"""Which passages of a help center the tool-result guard would keep from the model.

Every knowledge result passes the output guard's tool-result check: a passage
the injection classifier reads as an instruction is replaced before the model
sees it, so a question it answers gets "I couldn't find that". `switchboard
ingest --audit PATH...` runs that same check over the chunks the files would
become, before anything is indexed, so an operator sees both planted
instructions and honest passages worded like one (which then want rewording).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.chunking import chunk_document
from ingestion.errors import DocumentLoadError
from ingestion.indexer import discover
from ingestion.knowledge_base import Passage
from ingestion.loaders import load_document

if TYPE_CHECKING:
    from api.settings import Settings
    from graph.guards import Guards
    from ingestion.documents import Chunk


AUDITED_FIELDS = ("text", "title", "section")
"""The strings of a knowledge result's passage that the guard scans and may replace."""


@dataclass(frozen=True)
class WithheldPassage:
    """A chunk the guard would replace, and what it would replace."""

    source: str
    position: int
    """Index of the chunk within its file."""
    field: str
    """`text`, `title` or `section`."""
    score: float
    """The injection classifier's score of the replaced string."""
    excerpt: str


@dataclass
class AuditReport:
    """What `audit` found; `summary()` renders it for people."""

    files: int = 0
    chunks: int = 0
    withheld: list[WithheldPassage] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """One line per file that could not be read."""

    def summary(self) -> str:
        """Return one line per withheld passage, then the totals."""
        lines = [
            f"withheld {p.source} chunk {p.position} ({p.field}, score {p.score:.2f}): {p.excerpt}"
            for p in self.withheld
        ]
        lines += [f"skipped {failure}" for failure in self.failures]
        lines.append(
            f"{self.files} files, {self.chunks} chunks: {len(self.withheld)} would be withheld "
            "from answers as instructions."
        )
        if self.withheld:
            lines.append(
                "Remove planted instructions; reword honest passages (the classifier reads "
                "some short imperative or 'tell us…' phrasings as orders to the assistant)."
            )
        return "\n".join(lines)


def audit(paths: Iterable[str | Path], *, settings: Settings, guards: Guards) -> AuditReport:
    """Run the tool-result guard over the chunks `paths` would be indexed as.

    Raises:
        IngestPathNotFound: A path does not exist.

    """
    files, _ = discover(paths)
    report = AuditReport(files=len(files))
    chunks: list[Chunk] = []
    for file in files:
        try:
            document = load_document(file.path, file.source)
        except DocumentLoadError as error:
            report.failures.append(f"{file.source}: {error}")
            continue
        chunks += chunk_document(
            document,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            model_id="audit",  # only names the chunks; nothing is embedded
        )
    report.chunks = len(chunks)
    if not chunks:
        return report
    from tools.knowledge import (
        MAX_PASSAGE_CHARS,
        render_passages,
    )  # the tools package pulls in the graph

    # Exactly what the knowledge tool would hand the guard: trimmed text, title, section.
    passages = [
        Passage(
            title=c.title, source=c.source, section=c.section, text=c.text, score=0.0, chunk_id=c.id
        )
        for c in chunks
    ]
    rendered = render_passages("", passages, max_chars=MAX_PASSAGE_CHARS)
    sent = json.loads(rendered)["passages"]
    kept = json.loads(guards.output.check_tool_result(rendered).text)["passages"]
    for chunk, original, passage in zip(chunks, sent, kept, strict=True):
        for name in AUDITED_FIELDS:
            if passage[name] != original[name]:
                report.withheld.append(
                    WithheldPassage(
                        source=chunk.source,
                        position=chunk.position,
                        field=name,
                        score=guards.injection.score_many([original[name]])[0],
                        excerpt=" ".join(original[name].split())[:100],
                    )
                )
    return report
