"""Errors raised by the knowledge base: ingestion, storage and retrieval."""

from __future__ import annotations


class KnowledgeBaseError(Exception):
    """Base class for knowledge-base failures; catch it to handle them all."""


class KnowledgeBaseUnavailable(KnowledgeBaseError):
    """Raised when the Chroma store cannot be reached or opened.

    Check that the server at `CHROMA_URL` is running (`chroma run --path DIR`)
    or unset `CHROMA_URL` to use the embedded store under `<data_dir>/chroma`.
    Callers answering customers should degrade gracefully (answer without
    passages and say the help center is unavailable) rather than fail the turn.
    """


class DocumentLoadError(KnowledgeBaseError):
    """Raised when one file cannot be read as a document (corrupt, undecodable, empty).

    Ingestion reports it and skips the file; fix or remove the file and ingest again.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source!r}: {reason}")


class UnsupportedFileType(DocumentLoadError):
    """Raised when a file's extension has no loader.

    Convert it to Markdown, HTML, plain text or PDF, or leave it out of the paths.
    """


class IngestPathNotFound(KnowledgeBaseError):
    """Raised when a path given to ingestion does not exist; check the spelling."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path!r} does not exist; pass an existing file or directory.")
