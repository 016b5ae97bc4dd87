"""Read Markdown, HTML, plain-text and PDF files into `Document`s.

Every loader raises `DocumentLoadError` for a file it cannot read, so the
indexer can report it and carry on with the rest of the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from ingestion.documents import Document, Section
from ingestion.errors import DocumentLoadError, UnsupportedFileType

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def load_document(path: Path, source: str) -> Document:
    """Load one file by its extension.

    Args:
        path: The file on disk.
        source: The identifier to record (and cite) for it.

    Raises:
        UnsupportedFileType: No loader handles the extension.
        DocumentLoadError: The file is corrupt, not UTF-8, or has no text.

    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFileType(
            source, f"unsupported file type {path.suffix!r}; supported: {', '.join(LOADERS)}"
        )
    document = loader(path, source)
    if not any(section.text.strip() for section in document.sections):
        raise DocumentLoadError(source, "contains no extractable text; nothing to index")
    return document


def load_markdown(path: Path, source: str) -> Document:
    """Load Markdown with optional `---` front matter (`title:`, `updated:`)."""
    text = _read_text(path, source)
    meta, body = _split_front_matter(text)
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []  # (level, heading) path to the current section
    title = meta.get("title")
    current: str | None = None
    lines: list[str] = []
    in_fence = False
    title_heading_seen = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1 and not trail and not title_heading_seen:
            title = title or heading  # the leading H1 is the title, not a section
            title_heading_seen = True
            continue
        sections.append(Section(current, "\n".join(lines).strip()))
        lines = []
        trail = [(lvl, name) for lvl, name in trail if lvl < level] + [(level, heading)]
        current = " > ".join(name for _, name in trail)
    sections.append(Section(current, "\n".join(lines).strip()))
    return Document(
        source=source,
        title=title or _title_from_path(path),
        updated=meta.get("updated") or _mtime(path),
        sections=[section for section in sections if section.text],
    )


def load_text(path: Path, source: str) -> Document:
    """Load a plain-text file as one untitled section."""
    text = _read_text(path, source)
    return Document(source, _title_from_path(path), _mtime(path), [Section(None, text.strip())])


def load_html(path: Path, source: str) -> Document:
    """Load HTML, splitting sections at `<h1>`-`<h6>` and skipping scripts and styles."""
    parser = _HTMLSections()
    parser.feed(_read_text(path, source))
    parser.close()
    sections = [Section(heading, text) for heading, text in parser.finish() if text]
    title = parser.title or parser.first_h1 or _title_from_path(path)
    return Document(source, title, parser.updated or _mtime(path), sections)


def load_pdf(path: Path, source: str) -> Document:
    """Load a PDF with pypdf, one section per page."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = reader.metadata.get("/Title") if reader.metadata else None
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as exc:
        raise DocumentLoadError(
            source, f"is not a readable PDF ({exc}); re-export it or remove it from the corpus"
        ) from exc
    sections = [
        Section(f"Page {number}", _squash(text))
        for number, text in enumerate(pages, start=1)
        if text.strip()
    ]
    title = str(info_title).strip() if info_title else _title_from_path(path)
    return Document(source, title, _mtime(path), sections)


LOADERS: dict[str, Callable[[Path, str], Document]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".txt": load_text,
    ".pdf": load_pdf,
}
"""Loader for each supported (lower-case) file extension."""


def _read_text(path: Path, source: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentLoadError(
            source,
            f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save it as UTF-8 and ingest again",
        ) from exc


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end() :]


def _title_from_path(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat(timespec="seconds")


def _squash(text: str) -> str:
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _HTMLSections(HTMLParser):
    """Collect text per heading; block-level tags become line breaks."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "blockquote",
         "pre", "dd", "dt", "hr"}
    )  # fmt: skip
    _HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.first_h1: str | None = None
        self.updated: str | None = None
        self._skip_depth = 0
        self._in_title = False
        self._heading: list[str] | None = None
        self._current: str | None = None
        self._parts: list[str] = []
        self._sections: list[tuple[str | None, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and (values.get("name") or "").lower() in {"updated", "last-modified"}:
            self.updated = values.get("content") or self.updated
        elif tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._HEADINGS:
            self._flush()
            self._heading = []
        elif tag in self._BLOCK:
            self._parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._HEADINGS and self._heading is not None:
            heading = " ".join("".join(self._heading).split())
            self._heading = None
            if tag == "h1" and self.first_h1 is None:
                self.first_h1 = heading
            else:
                self._current = heading or self._current
        elif tag in self._BLOCK:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = ((self.title or "") + data).strip() or None
        elif self._skip_depth:
            return
        elif self._heading is not None:
            self._heading.append(data)
        else:
            self._parts.append(data)

    def _flush(self) -> None:
        self._sections.append((self._current, _squash("".join(self._parts))))
        self._parts = []

    def finish(self) -> list[tuple[str | None, str]]:
        """Return `(heading, text)` pairs in document order."""
        self._flush()
        return self._sections
