"""Split documents into overlapping chunks along headings, paragraphs and sentences."""

from __future__ import annotations

import hashlib
import re

from ingestion.documents import Chunk, Document, index_text

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def chunk_document(
    document: Document, *, chunk_size: int, chunk_overlap: int, model_id: str
) -> list[Chunk]:
    """Split a document into chunks that never straddle two sections.

    A section that fits in `chunk_size` characters is one chunk; a longer one is
    packed paragraph by paragraph (then sentence by sentence), and each chunk
    after the first repeats up to `chunk_overlap` trailing characters of the
    previous one so a fact cut at a boundary is still retrievable.

    Args:
        document: The loaded document.
        chunk_size: Largest chunk body, in characters.
        chunk_overlap: Characters carried over between consecutive chunks.
        model_id: Embedding model name, part of the id so a new model re-embeds.

    """
    overlap = min(chunk_overlap, chunk_size // 2)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in document.sections:
        for body in split_text(section.text, chunk_size=chunk_size, chunk_overlap=overlap):
            chunk_id = chunk_id_for(
                document.source, index_text(document.title, section.heading, body), model_id
            )
            if chunk_id in seen:  # a repeated boilerplate paragraph: index it once
                continue
            seen.add(chunk_id)
            chunks.append(
                Chunk(
                    id=chunk_id,
                    source=document.source,
                    title=document.title,
                    section=section.heading,
                    text=body,
                    updated=document.updated,
                    position=len(chunks),
                )
            )
    return chunks


def chunk_id_for(source: str, text: str, model_id: str) -> str:
    """Return the content-hash id of an embedded text (same input, same id)."""
    digest = hashlib.sha256("\x1f".join((model_id, source, text)).encode("utf-8"))
    return digest.hexdigest()[:32]


def split_text(text: str, *, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Pack paragraphs (or sentences, or words) into bodies of at most `chunk_size` chars."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= chunk_size:
        return [text]
    pieces = _pieces(text, chunk_size)
    bodies: list[str] = []
    current = ""
    for piece, joiner in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= chunk_size:
            current = candidate
            continue
        bodies.append(current)
        carry = _tail(current, chunk_overlap)
        fits = carry and len(carry) + 1 + len(piece) <= chunk_size
        current = f"{carry} {piece}" if fits else piece
    if current:
        bodies.append(current)
    return bodies


def _pieces(text: str, chunk_size: int) -> list[tuple[str, str]]:
    """Break text into (piece, joiner) units no longer than `chunk_size`."""
    pieces: list[tuple[str, str]] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= chunk_size:
            pieces.append((paragraph, "\n\n"))
            continue
        for index, sentence in enumerate(_SENTENCE_END.split(paragraph)):
            joiner = "\n\n" if index == 0 else " "
            while len(sentence) > chunk_size:  # one enormous sentence: cut at a space
                cut = sentence.rfind(" ", 0, chunk_size)
                cut = cut if cut > chunk_size // 2 else chunk_size
                pieces.append((sentence[:cut].strip(), joiner))
                sentence, joiner = sentence[cut:].strip(), " "
            if sentence:
                pieces.append((sentence, joiner))
    return pieces


def _tail(text: str, size: int) -> str:
    """Return the last whole sentences (else words) of `text` within `size` chars."""
    if size <= 0 or not text:
        return ""
    tail = text[-size:]
    sentence = _SENTENCE_END.search(tail)
    if sentence and len(text) > size:
        return tail[sentence.end() :].strip()
    space = tail.find(" ")
    return tail[space + 1 :].strip() if space != -1 and len(text) > size else tail.strip()
