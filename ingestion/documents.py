"""The values that flow through ingestion: documents, their sections, and chunks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading; `heading` is `None` before the first heading."""

    heading: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded file, split into its sections."""

    source: str
    """Stable identifier shown in citations, e.g. `help_center/refunds.md` (or a URL)."""
    title: str
    updated: str
    """ISO 8601 date or timestamp: front-matter `updated:`, else the file's mtime."""
    sections: list[Section] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document, the unit that is embedded and retrieved."""

    id: str
    """Content hash of the embedded text, its source and the embedding model."""
    source: str
    title: str
    section: str | None
    text: str
    updated: str
    position: int
    """Index of the chunk within its document."""

    @property
    def metadata(self) -> dict[str, str | int]:
        """Return the Chroma metadata record (Chroma stores no `None`, so `""` means none)."""
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section or "",
            "updated": self.updated,
            "position": self.position,
        }

    @property
    def index_text(self) -> str:
        """Return the text that is embedded and BM25-indexed: title and section, then body."""
        return index_text(self.title, self.section, self.text)


def index_text(title: str, section: str | None, text: str) -> str:
    """Prefix a chunk body with its title and section so both retrievers see them."""
    heading = f"{title}\n{section}" if section else title
    return f"{heading}\n\n{text}"
