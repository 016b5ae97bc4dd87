"""Bring a Chroma collection in line with files on disk, embedding only what changed.

Chunk ids are content hashes, so an unchanged chunk keeps its id and its
vector: re-ingesting an unchanged corpus embeds nothing, and an edited file
embeds only its new chunks and deletes its stale ones.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from tqdm import tqdm

from ingestion.chunking import chunk_document
from ingestion.documents import Chunk
from ingestion.errors import DocumentLoadError, IngestPathNotFound
from ingestion.loaders import LOADERS, load_document
from ingestion.manifest import FileEntry, Manifest

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

EMBED_BATCH = 256
"""Chunks embedded and written per step (the embedder batches further inside)."""


class Embedder(Protocol):
    """What the indexer needs from `LocalEmbedder`."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised vector per text."""
        ...


@dataclass(slots=True)
class IngestReport:
    """What one ingestion run did; `summary()` renders it for people."""

    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    """Chunks whose text was unchanged but whose metadata (title, date, position) was."""
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    """One line per skipped file, saying why and what to do."""
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the collection was modified."""
        return bool(self.chunks_added or self.chunks_updated or self.chunks_removed)

    def summary(self) -> str:
        """Return a short human-readable summary."""
        lines = [
            f"Files: {self.files_seen} seen, {self.files_new} new, {self.files_changed} changed, "
            f"{self.files_unchanged} unchanged, {self.files_removed} removed, "
            f"{len(self.failures)} skipped",
            f"Chunks: {self.chunks_added} added, {self.chunks_updated} updated, "
            f"{self.chunks_removed} removed, {self.chunks_unchanged} unchanged",
            f"Took {self.seconds:.2f}s ({self.embed_seconds:.2f}s embedding)",
        ]
        lines += [f"Skipped {failure}" for failure in self.failures]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Settings that shape the chunks; changing any of them re-chunks every file."""

    chunk_size: int
    chunk_overlap: int
    model_id: str

    def as_dict(self) -> dict[str, str | int]:
        """Return the values recorded in the manifest."""
        return {
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "model_id": self.model_id,
        }


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under an ingestion root."""

    path: Path
    source: str
    scope: str
    """The prefix (or exact source) of the root it was found under, for `--prune`."""


def discover(paths: Iterable[str | Path]) -> tuple[list[SourceFile], list[str]]:
    """List the supported files under `paths` and the prune scopes they cover.

    A directory `docs/` yields sources `docs/<relative path>`; a file `docs/a.md`
    yields `docs/a.md` too, so both spellings index the same file once.

    Raises:
        IngestPathNotFound: A path does not exist.

    """
    files: dict[str, SourceFile] = {}
    scopes: list[str] = []
    for raw in paths:
        root = Path(raw).expanduser()
        if root.is_dir():
            scope = f"{root.resolve().name}/"
            scopes.append(scope)
            for path in sorted(root.rglob("*")):
                if path.is_file() and not _hidden(path.relative_to(root)):
                    source = scope + path.relative_to(root).as_posix()
                    if path.suffix.lower() in LOADERS:
                        files.setdefault(source, SourceFile(path, source, scope))
        elif root.is_file():
            source = f"{root.resolve().parent.name}/{root.name}"
            scopes.append(source)
            files.setdefault(source, SourceFile(root, source, source))
        else:
            raise IngestPathNotFound(str(raw))
    return list(files.values()), scopes


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def ingest(
    collection: Collection,
    embedder: Embedder,
    manifest_file: Path,
    paths: Iterable[str | Path],
    *,
    config: IngestConfig,
    prune: bool = False,
    progress: bool = True,
    guard: Callable[[Callable[[], object]], object] = lambda call: call(),
) -> IngestReport:
    """Index `paths` into `collection` incrementally.

    Args:
        collection: The Chroma collection to update.
        embedder: Computes vectors for new chunks (and is never called for unchanged ones).
        manifest_file: The JSON manifest to read and rewrite.
        paths: Files and directories to ingest.
        config: Chunking settings and embedding model id.
        prune: Also delete chunks of files that disappeared from these paths.
        progress: Show tqdm progress bars on stderr.
        guard: Wraps each Chroma call (maps connection failures to `KnowledgeBaseUnavailable`).

    Raises:
        IngestPathNotFound: A path does not exist.
        KnowledgeBaseUnavailable: Chroma could not be reached (through `guard`).

    """
    started = time.perf_counter()
    report = IngestReport()
    files, scopes = discover(paths)
    report.files_seen = len(files)
    manifest = Manifest.load(manifest_file)
    same_config = manifest.config == config.as_dict()
    manifest.config = config.as_dict()
    now = datetime.now(UTC).isoformat(timespec="seconds")

    # 1. Hash every file; a known hash whose chunks are all still in Chroma is unchanged.
    hashes: dict[str, str] = {}
    for file in tqdm(files, desc="Reading", unit="file", disable=not progress, leave=False):
        hashes[file.source] = hashlib.sha256(file.path.read_bytes()).hexdigest()
    candidates = {
        file.source: manifest.files[file.source].chunk_ids
        for file in files
        if same_config
        and file.source in manifest.files
        and manifest.files[file.source].content_hash == hashes[file.source]
    }
    present = _existing_ids(collection, [i for ids in candidates.values() for i in ids], guard)
    to_chunk: list[SourceFile] = []
    for file in files:
        ids = candidates.get(file.source)
        if ids is not None and all(chunk_id in present for chunk_id in ids):
            report.files_unchanged += 1
            report.chunks_unchanged += len(ids)
        else:
            to_chunk.append(file)

    # 2. Load and chunk new or changed files; diff their chunks against Chroma.
    pending: list[Chunk] = []
    updates: list[Chunk] = []
    stale: list[str] = []
    for file in to_chunk:
        try:
            document = load_document(file.path, file.source)
        except DocumentLoadError as exc:
            known = file.source in manifest.files
            report.failures.append(f"{exc}{' (its earlier chunks are kept)' if known else ''}")
            continue
        chunks = chunk_document(
            document,
            chunk_size=config.chunk_size,
            chunk_overlap=config.chunk_overlap,
            model_id=config.model_id,
        )
        existing = _source_rows(collection, file.source, guard)
        for chunk in chunks:
            if chunk.id not in existing:
                pending.append(chunk)
            elif existing[chunk.id] != chunk.metadata:
                updates.append(chunk)
            else:
                report.chunks_unchanged += 1
        wanted = {chunk.id for chunk in chunks}
        stale += [chunk_id for chunk_id in existing if chunk_id not in wanted]
        if file.source in manifest.files:
            report.files_changed += 1
        else:
            report.files_new += 1
        manifest.files[file.source] = FileEntry(hashes[file.source], [c.id for c in chunks], now)

    # 3. Embed and write new chunks in batches; refresh metadata; drop stale chunks.
    bar = tqdm(total=len(pending), desc="Embedding", unit="chunk", disable=not progress)
    with bar:
        for start in range(0, len(pending), EMBED_BATCH):
            batch = pending[start : start + EMBED_BATCH]
            tick = time.perf_counter()
            vectors = embedder.embed([chunk.index_text for chunk in batch])
            report.embed_seconds += time.perf_counter() - tick
            guard(
                lambda batch=batch, vectors=vectors: collection.upsert(
                    ids=[chunk.id for chunk in batch],
                    embeddings=vectors,
                    documents=[chunk.text for chunk in batch],
                    metadatas=[chunk.metadata for chunk in batch],  # type: ignore[misc]
                )
            )
            report.chunks_added += len(batch)
            bar.update(len(batch))
    for start in range(0, len(updates), EMBED_BATCH):
        batch = updates[start : start + EMBED_BATCH]
        guard(
            lambda batch=batch: collection.update(
                ids=[chunk.id for chunk in batch],
                metadatas=[chunk.metadata for chunk in batch],  # type: ignore[misc]
            )
        )
        report.chunks_updated += len(batch)
    _delete(collection, stale, guard)
    report.chunks_removed += len(stale)

    # 4. Prune sources under these roots that no longer exist on disk.
    if prune:
        seen = {file.source for file in files}
        indexed = set(manifest.files) | _all_sources(collection, guard)
        for source in sorted(indexed - seen):
            if any(source == scope or source.startswith(scope) for scope in scopes if scope):
                doomed = list(_source_rows(collection, source, guard))
                _delete(collection, doomed, guard)
                report.chunks_removed += len(doomed)
                report.files_removed += 1
                manifest.files.pop(source, None)

    manifest.save(manifest_file)
    report.seconds = time.perf_counter() - started
    return report


def _existing_ids(
    collection: Collection, ids: list[str], guard: Callable[[Callable[[], object]], object]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        page = ids[start : start + 5000]
        result = guard(partial(collection.get, ids=page, include=[]))
        found.update(result["ids"])  # type: ignore[index]
    return found


def _source_rows(
    collection: Collection, source: str, guard: Callable[[Callable[[], object]], object]
) -> dict[str, dict[str, object]]:
    result = guard(lambda: collection.get(where={"source": source}, include=["metadatas"]))
    ids, metadatas = result["ids"], result["metadatas"]  # type: ignore[index]
    return {chunk_id: dict(meta or {}) for chunk_id, meta in zip(ids, metadatas, strict=True)}


def _all_sources(
    collection: Collection, guard: Callable[[Callable[[], object]], object]
) -> set[str]:
    from ingestion.store import iter_rows

    rows = guard(lambda: list(iter_rows(collection, include=["metadatas"])))
    return {str(row["metadatas"].get("source")) for row in rows if row["metadatas"]}  # type: ignore[attr-defined]


def _delete(
    collection: Collection, ids: list[str], guard: Callable[[Callable[[], object]], object]
) -> None:
    for start in range(0, len(ids), 5000):
        page = ids[start : start + 5000]
        guard(partial(collection.delete, ids=page))
