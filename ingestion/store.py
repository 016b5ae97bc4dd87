"""Open the Chroma collection: embedded by default, a server when `CHROMA_URL` is set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from ingestion.errors import KnowledgeBaseUnavailable

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from api.settings import Settings

T = TypeVar("T")

PAGE_SIZE = 5000
"""Rows per `get` when reading a whole collection (under Chroma's max batch size)."""


def open_collection(settings: Settings) -> Collection:
    """Return the knowledge-base collection, creating it (cosine space) if needed.

    No embedding function is attached: Chroma's default one downloads a model,
    so every write and query passes our own vectors.

    Raises:
        KnowledgeBaseUnavailable: The server is unreachable or the store cannot be opened.

    """
    client = open_client(settings)
    with unavailable_on_failure(settings):
        return client.get_or_create_collection(
            settings.kb_collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )


def open_client(settings: Settings) -> ClientAPI:
    """Return an `HttpClient` for `CHROMA_URL`, else a `PersistentClient` under the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    with unavailable_on_failure(settings):
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def iter_rows(collection: Collection, *, include: list[str]) -> Iterator[dict[str, Any]]:
    """Yield every row of the collection page by page, as `{"id", <included fields>}`."""
    offset = 0
    while True:
        page = collection.get(limit=PAGE_SIZE, offset=offset, include=include)  # type: ignore[arg-type]
        ids = page["ids"]
        for index, row_id in enumerate(ids):
            row: dict[str, Any] = {"id": row_id}
            for name in include:
                values: Any = page.get(name)
                row[name] = values[index] if values is not None else None
            yield row
        if len(ids) < PAGE_SIZE:
            return
        offset += PAGE_SIZE


def describe(settings: Settings) -> str:
    """Say where the store is, for error messages and logs."""
    if settings.chroma_url:
        return f"Chroma server {settings.chroma_url!r}"
    return f"embedded Chroma at {str(settings.data_dir / 'chroma')!r}"


@contextmanager
def unavailable_on_failure(settings: Settings) -> Iterator[None]:
    """Turn connection failures into `KnowledgeBaseUnavailable`."""
    try:
        yield
    except Exception as exc:
        if not is_connection_failure(exc):
            raise
        raise KnowledgeBaseUnavailable(
            f"{describe(settings)} is unavailable ({type(exc).__name__}: {exc}). Start it "
            "(`chroma run --path DIR --port N`) or unset CHROMA_URL to use the embedded store."
        ) from exc


def guarded(settings: Settings, call: Callable[[], T]) -> T:
    """Run one Chroma call, turning connection failures into `KnowledgeBaseUnavailable`."""
    with unavailable_on_failure(settings):
        return call()


def is_connection_failure(exc: BaseException) -> bool:
    """Whether an exception from the Chroma client means the store cannot be reached."""
    import httpx

    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    message = str(exc).lower()
    return isinstance(exc, ValueError | RuntimeError) and (
        "could not connect" in message or "connection" in message
    )
