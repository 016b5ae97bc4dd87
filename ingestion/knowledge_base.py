"""Hybrid retrieval over the help center: BM25 and vector search, fused by score or RRF.

One `KnowledgeBase` per process (open it in the app's lifespan): it holds the
Chroma collection, the embedder and an in-memory BM25 snapshot of every chunk.
Reads are thread-safe; the snapshot is swapped atomically after ingestion.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from api.worker_threads import run_blocking_io
from ingestion.documents import index_text
from ingestion.indexer import Embedder, IngestConfig, IngestReport, ingest
from ingestion.lexical import LexicalIndex
from ingestion.manifest import manifest_path
from ingestion.store import guarded, iter_rows, open_collection

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from api.settings import Settings

SearchMode = Literal["hybrid", "hybrid-score", "hybrid-rrf", "vector", "lexical"]
"""`hybrid` uses the configured fusion (`SWITCHBOARD_KB_FUSION`); `hybrid-score` and
`hybrid-rrf` force one (the benchmark compares both); `vector`/`lexical` run alone."""
Fusion = Literal["score", "rrf"]

# Deviation from issue 4, which names Reciprocal Rank Fusion: the default fusion is a
# weighted *score* fusion. RRF throws away how *much* better the top hit is, so a
# confident embedding match can lose to a BM25 hit on one shared word. Chosen on the
# benchmark's dev split (`python -m bench.retrieval`, article-level Recall@5 / MRR):
# score fusion 0.987/0.965, RRF (k and weights tuned on dev) 0.992/0.942. Test split,
# same run: vector 0.977/0.920, BM25 0.926/0.830, hybrid RRF 0.982/0.933, hybrid score
# 0.984/0.945 (both hybrids beat both single retrievers; the RRF tuned before BM25's
# k1/b were, k=40 with weights 0.5/1.0, scored 0.952/0.912 and trailed vector-only).
# RRF stays selectable (`SWITCHBOARD_KB_FUSION=rrf`, `SWITCHBOARD_KB_RRF_K`) and the
# benchmark measures both fusions in every run.

VECTOR_WEIGHT = 0.75
"""Share of the cosine similarity in the fused score; BM25 (scaled by the query's
best BM25 score) gets the rest. Tuned on the benchmark's dev split only
(`python -m bench.retrieval --tune`), never on its test questions."""
RRF_VECTOR_WEIGHT = 1.5
RRF_LEXICAL_WEIGHT = 1.0
"""RRF weights of the two rankings (`weight / (k + rank)`), tuned on the dev split
together with `SWITCHBOARD_KB_RRF_K` (`python -m bench.retrieval --tune`, current
BM25 k1/b): the vector ranking leads, BM25's exact-term hits (INV-, RMA-) break ties."""
MIN_CANDIDATES = 30
"""Each retriever contributes at least this many candidates to the fusion."""
WHERE_CACHE_SIZE = 64
"""`where` filters whose BM25 masks a snapshot remembers (one Chroma read per new filter)."""
VECTOR_CACHE_SIZE = 8192
"""Chunk vectors a snapshot keeps for score fusion (~12 MB at 384 dimensions)."""
EXACT_SEARCH_MAX_CHUNKS = 8192
"""An embedded store of at most this many chunks is searched exactly in memory: its
snapshot holds every chunk's vector (~12 MB at 384 dimensions), and a query is one
matrix product (0.016 ms for the bundled 228 chunks) instead of a Chroma query
(~0.9 ms, most of a search: 0.11 ms with a cached query embedding against ~1.1 ms).
Only this process writes an embedded store, and its own ingestion refreshes the
snapshot. A Chroma server, which another process may feed while this one runs, and
larger stores are searched by Chroma's index."""
MAX_PER_SOURCE = 1
"""Passages from one article before others get a turn (the rest fill in after),
so a handful of passages covers every article a question touches. Tuned on the
benchmark's dev split only; applied in every mode so comparisons stay fair."""
NEAR_BEST = 0.9
CLEAR_LEAD = 0.2
"""...except a passage close to the best one and well ahead of the last one taken ("What
payment methods do you accept?": the article's "What we do not accept" section scores
0.70, its "What we accept" 0.63, the next article 0.43)."""


class QueryEmbedder(Embedder, Protocol):
    """What the knowledge base needs from `LocalEmbedder`: batches and cached queries."""

    def embed_query(self, text: str) -> np.ndarray:
        """Return the normalised vector of one query."""
        ...


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrieved chunk, with what a cited answer needs."""

    title: str
    source: str
    section: str | None
    text: str
    score: float
    """Fused score (score fusion or RRF), or the single retriever's score; higher is better."""
    chunk_id: str


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Every chunk at one moment, with the BM25 index over them (immutable)."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    positions: dict[str, int]
    lexical: LexicalIndex
    sources: list[str]
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    """BM25 masks of recent `where` filters (insertion-ordered, bounded; a cache only)."""
    cache_lock: threading.Lock = field(default_factory=threading.Lock)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    """Embeddings of chunks that only BM25 found, read from Chroma once (bounded; a cache
    only: a chunk id names its text and model, so its vector never changes)."""
    matrix: np.ndarray | None = None
    """Every chunk's unit vector, one row per id (read-only), when the store is searched
    exactly in memory (`EXACT_SEARCH_MAX_CHUNKS`); else None."""


class KnowledgeBase:
    """The store's help center, searchable by meaning and by exact terms."""

    def __init__(
        self,
        collection: Collection,
        embedder: QueryEmbedder,
        *,
        settings: Settings,
        model_id: str = "all-MiniLM-L6-v2",
    ) -> None:
        self.collection = collection
        self.embedder = embedder
        self.settings = settings
        self.model_id = model_id
        self._write_lock = threading.Lock()
        self._snapshot = self._build_snapshot()

    @classmethod
    def open(cls, settings: Settings, *, embedder: QueryEmbedder | None = None) -> KnowledgeBase:
        """Connect to the configured Chroma and load the BM25 snapshot (blocking).

        Args:
            settings: `CHROMA_URL`, the data dir, collection and chunking settings.
            embedder: Defaults to the process-wide `get_embedder()`.

        Raises:
            KnowledgeBaseUnavailable: Chroma cannot be reached.

        """
        if embedder is None:
            from ingestion.embeddings import get_embedder

            embedder = get_embedder()
        return cls(open_collection(settings), embedder, settings=settings)

    @property
    def size(self) -> int:
        """Number of chunks in the current snapshot."""
        return len(self._snapshot.ids)

    def refresh(self) -> None:
        """Rebuild the BM25 snapshot from the collection (after someone else ingested)."""
        self._snapshot = self._build_snapshot()

    def ingest(
        self, paths: Iterable[str | Path], *, prune: bool = False, progress: bool = True
    ) -> IngestReport:
        """Ingest files incrementally, then refresh the BM25 snapshot (blocking).

        See `ingestion.indexer.ingest` for the arguments and errors.
        """
        with self._write_lock:
            report = ingest(
                self.collection,
                self.embedder,
                manifest_path(self.settings.data_dir, self.settings.kb_collection),
                paths,
                config=IngestConfig(
                    self.settings.chunk_size, self.settings.chunk_overlap, self.model_id
                ),
                prune=prune,
                progress=progress,
                guard=lambda call: guarded(self.settings, call),
            )
            if report.changed or self.size != self._count():
                self.refresh()
            return report

    async def search(
        self,
        query: str,
        k: int = 5,
        *,
        where: dict[str, Any] | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Passage]:
        """Return the `k` best passages for `query` (embedding and search run in a worker thread).

        A Chroma server's search is a network call, so it runs on the I/O threads
        (`api/worker_threads.py`): a slow server must not hold up the CPU worker.

        Raises:
            KnowledgeBaseUnavailable: Chroma cannot be reached.

        """
        if self.settings.chroma_url is not None:
            return await run_blocking_io(self.search_sync, query, k, where=where, mode=mode)
        return await asyncio.to_thread(self.search_sync, query, k, where=where, mode=mode)

    def search_sync(
        self,
        query: str,
        k: int = 5,
        *,
        where: dict[str, Any] | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Passage]:
        """Return the `k` best passages for `query` (blocking).

        Args:
            query: The customer's question, as written.
            k: Passages to return.
            where: Optional Chroma metadata filter, e.g. `{"source": "help_center/refunds.md"}`.
            mode: `hybrid` (default: the configured `SWITCHBOARD_KB_FUSION`);
                `hybrid-score` or `hybrid-rrf` to force a fusion; `vector` or
                `lexical` alone for comparisons.

        Raises:
            KnowledgeBaseUnavailable: Chroma cannot be reached.
            ValueError: Unknown `mode`.

        """
        fusion = self._fusion(mode)
        snapshot = self._snapshot
        if not query.strip() or k <= 0 or not snapshot.ids:
            return []
        depth = max(k * 4, MIN_CANDIDATES)
        vector: tuple[list[str], list[float]] = ([], [])
        lexical: tuple[list[str], list[float]] = ([], [])
        if fusion or mode == "vector":
            vector = self._vector_search(snapshot, query, depth, where)
        if fusion or mode == "lexical":
            lexical = self._lexical_search(snapshot, query, depth, where)
        if fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [(RRF_VECTOR_WEIGHT, vector[0]), (RRF_LEXICAL_WEIGHT, lexical[0])],
                k=self.settings.kb_rrf_k,
            )
        elif fusion == "score":
            extra = self._cosines(
                snapshot, query, [i for i in lexical[0] if i not in set(vector[0])]
            )
            fused = score_fusion(vector, lexical, depth=depth, cosines=extra)
        else:
            fused = list(zip(*(vector if mode == "vector" else lexical), strict=True))
        return self._passages(snapshot, diversify(fused, snapshot, k))

    def _fusion(self, mode: str) -> Fusion | None:
        """Return the fusion a hybrid `mode` uses, or None for a single retriever."""
        if mode == "hybrid":
            return self.settings.kb_fusion
        if mode == "hybrid-score":
            return "score"
        if mode == "hybrid-rrf":
            return "rrf"
        if mode in ("vector", "lexical"):
            return None
        raise ValueError(f"unknown search mode {mode!r}")

    def _vector_search(
        self, snapshot: _Snapshot, query: str, depth: int, where: dict[str, Any] | None
    ) -> tuple[list[str], list[float]]:
        """Return the `depth` chunks nearest to `query` and their cosine similarities."""
        vector = self.embedder.embed_query(query)
        if snapshot.matrix is not None:
            return self._exact_search(snapshot, snapshot.matrix, vector, depth, where)
        result = guarded(
            self.settings,
            lambda: self.collection.query(
                # Chroma's annotation wants an int array; it takes float rows (its own tests).
                query_embeddings=[np.asarray(vector, dtype=np.float32)],  # type: ignore[arg-type]
                n_results=depth,
                where=where,
                include=["distances"],
            ),
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return list(ids), [1.0 - float(distance) for distance in distances]

    def _exact_search(
        self,
        snapshot: _Snapshot,
        matrix: np.ndarray,
        vector: np.ndarray,
        depth: int,
        where: dict[str, Any] | None,
    ) -> tuple[list[str], list[float]]:
        """Rank every chunk of the snapshot by its cosine with `vector` (no index, no Chroma)."""
        cosines = matrix @ np.asarray(vector, dtype=np.float32)
        candidates = np.arange(len(cosines))
        if where:
            candidates = np.flatnonzero(self._where_mask(snapshot, where))
            cosines = cosines[candidates]
        depth = min(depth, len(cosines))
        if depth <= 0:
            return [], []
        top = np.argpartition(-cosines, depth - 1)[:depth]
        top = top[np.argsort(-cosines[top], kind="stable")]
        return [snapshot.ids[i] for i in candidates[top]], cosines[top].tolist()

    def _cosines(self, snapshot: _Snapshot, query: str, ids: list[str]) -> dict[str, float]:
        """Return the exact cosines of `query` with chunks only BM25 found."""
        if not ids:
            return {}
        vector = self.embedder.embed_query(query)  # cached: no second model call
        if snapshot.matrix is not None:
            known = snapshot.matrix[[snapshot.positions[i] for i in ids]]
            return dict(
                zip(ids, (known @ np.asarray(vector, dtype=np.float32)).tolist(), strict=True)
            )
        # One read per id: another thread may evict between a check and a read.
        cached = {i: snapshot.vectors.get(i) for i in ids}
        vectors = {i: v for i, v in cached.items() if v is not None}
        if missing := [i for i in ids if i not in vectors]:
            rows = guarded(
                self.settings, lambda: self.collection.get(ids=missing, include=["embeddings"])
            )
            embeddings = rows["embeddings"]
            if embeddings is not None and len(rows["ids"]):
                fetched = dict(
                    zip(rows["ids"], np.asarray(embeddings, dtype=np.float32), strict=True)
                )
                vectors.update(fetched)
                with snapshot.cache_lock:
                    for chunk_id, row in fetched.items():
                        if len(snapshot.vectors) >= VECTOR_CACHE_SIZE:
                            snapshot.vectors.pop(next(iter(snapshot.vectors)))
                        snapshot.vectors[chunk_id] = row
        if not vectors:
            return {}
        found = list(vectors)
        cosines = np.stack([vectors[i] for i in found]) @ np.asarray(vector, dtype=np.float32)
        return dict(zip(found, cosines.tolist(), strict=True))

    def _lexical_search(
        self, snapshot: _Snapshot, query: str, depth: int, where: dict[str, Any] | None
    ) -> tuple[list[str], list[float]]:
        mask = self._where_mask(snapshot, where) if where else None
        positions, scores = snapshot.lexical.search(query, depth, mask=mask)
        return [snapshot.ids[i] for i in positions], scores.tolist()

    def _where_mask(self, snapshot: _Snapshot, where: dict[str, Any]) -> np.ndarray:
        """Return the 0/1 BM25 weights of the chunks matching `where` (cached per snapshot)."""
        key = json.dumps(where, sort_keys=True, default=str)
        mask = snapshot.masks.get(key)
        if mask is not None:
            return mask
        # Chroma evaluates the filter, so BM25 honours exactly what the vector side does.
        allowed = guarded(self.settings, lambda: self.collection.get(where=where, include=[]))
        mask = np.zeros(len(snapshot.ids), dtype=np.float32)
        hits = [snapshot.positions.get(chunk_id) for chunk_id in allowed["ids"]]
        mask[[position for position in hits if position is not None]] = 1.0
        mask.setflags(write=False)
        with snapshot.cache_lock:
            if len(snapshot.masks) >= WHERE_CACHE_SIZE:
                snapshot.masks.pop(next(iter(snapshot.masks)))
            snapshot.masks[key] = mask
        return mask

    def _passages(self, snapshot: _Snapshot, ranked: list[tuple[str, float]]) -> list[Passage]:
        missing = [chunk_id for chunk_id, _ in ranked if chunk_id not in snapshot.positions]
        extra: dict[str, tuple[str, dict[str, Any]]] = {}
        if missing:  # ingested by another process since our snapshot
            rows = guarded(
                self.settings,
                lambda: self.collection.get(ids=missing, include=["documents", "metadatas"]),
            )
            for chunk_id, text, meta in zip(
                rows["ids"], rows["documents"] or [], rows["metadatas"] or [], strict=False
            ):
                extra[chunk_id] = (text or "", dict(meta or {}))
        passages = []
        for chunk_id, score in ranked:
            position = snapshot.positions.get(chunk_id)
            if position is not None:
                text, meta = snapshot.texts[position], snapshot.metadatas[position]
            elif chunk_id in extra:
                text, meta = extra[chunk_id]
            else:
                continue
            passages.append(
                Passage(
                    title=str(meta.get("title", "")),
                    source=str(meta.get("source", "")),
                    section=str(meta.get("section") or "") or None,
                    text=text,
                    score=round(float(score), 6),
                    chunk_id=chunk_id,
                )
            )
        return passages

    def _count(self) -> int:
        return int(guarded(self.settings, self.collection.count))

    def _build_snapshot(self) -> _Snapshot:
        include = ["documents", "metadatas"]
        exact = self.settings.chroma_url is None and self._count() <= EXACT_SEARCH_MAX_CHUNKS
        if exact:
            include.append("embeddings")
        rows = guarded(self.settings, lambda: list(iter_rows(self.collection, include=include)))
        ids = [row["id"] for row in rows]
        texts = [row["documents"] or "" for row in rows]
        metadatas = [dict(row["metadatas"] or {}) for row in rows]
        lexical = LexicalIndex(
            [
                index_text(str(meta.get("title", "")), meta.get("section") or None, text)
                for text, meta in zip(texts, metadatas, strict=True)
            ]
        )
        positions = {chunk_id: index for index, chunk_id in enumerate(ids)}
        sources = [str(meta.get("source", "")) for meta in metadatas]
        matrix = _unit_rows([row["embeddings"] for row in rows]) if exact and rows else None
        return _Snapshot(ids, texts, metadatas, positions, lexical, sources, matrix=matrix)


def _unit_rows(vectors: list[Any]) -> np.ndarray:
    """Stack `vectors` into a read-only float32 matrix of unit rows (Chroma's cosine)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    matrix.setflags(write=False)
    return matrix


def diversify(
    ranked: list[tuple[str, float]],
    snapshot: _Snapshot,
    k: int,
    *,
    cap: int = MAX_PER_SOURCE,
    near_best: float = NEAR_BEST,
    clear_lead: float = CLEAR_LEAD,
) -> list[tuple[str, float]]:
    """Take the best `k`, at most `cap` per source first, then fill up in rank order.

    A passage held back for other articles still gets in, in place of the last
    one taken, when it scores `near_best` of the best score and `clear_lead` above
    that last one: two sections of one article can both be the answer.
    """
    if cap <= 0:
        return ranked[:k]
    chosen: list[tuple[str, float]] = []
    deferred: list[tuple[str, float]] = []
    per_source: dict[str, int] = {}
    for item in ranked:
        position = snapshot.positions.get(item[0])
        source = snapshot.sources[position] if position is not None else ""
        if source and per_source.get(source, 0) >= cap:
            deferred.append(item)
            continue
        per_source[source] = per_source.get(source, 0) + 1
        chosen.append(item)
        if len(chosen) == k:
            break
    if len(chosen) < k:
        return chosen + deferred[: k - len(chosen)]
    best = chosen[0][1]
    for item in deferred:
        if item[1] >= near_best * best and item[1] - chosen[-1][1] >= clear_lead:
            chosen = sorted([*chosen[:-1], item], key=lambda c: -c[1])
    return chosen


def score_fusion(
    vector: tuple[list[str], list[float]],
    lexical: tuple[list[str], list[float]],
    *,
    depth: int,
    cosines: dict[str, float] | None = None,
    weight: float | None = None,
) -> list[tuple[str, float]]:
    """Fuse two scored candidate lists: `weight * cosine + (1 - weight) * bm25 / best_bm25`.

    Cosine similarity is already on a fixed scale; BM25 is not comparable across
    queries, so it is divided by the query's best BM25 score. A BM25-only
    candidate gets its exact cosine from `cosines` (else the lowest cosine
    returned, an upper bound); a vector-only one gets the lowest BM25 score
    returned, or 0 when fewer than `depth` chunks share a term with the query.

    Args:
        vector: Ids and cosine similarities, best first.
        lexical: Ids and raw BM25 scores, best first.
        depth: How many candidates each retriever was asked for.
        cosines: Exact cosines of BM25-only candidates, by id.
        weight: Share of the cosine; defaults to `VECTOR_WEIGHT`.

    Returns:
        `(id, score)` pairs, best first (ties keep vector-then-BM25 order).

    """
    weight = VECTOR_WEIGHT if weight is None else weight
    vector_ids, similarities = vector
    lexical_ids, bm25 = lexical
    best = bm25[0] if bm25 and bm25[0] > 0 else 1.0
    cosine_floor = similarities[-1] if similarities else 0.0
    bm25_floor = bm25[-1] if len(bm25) >= depth else 0.0
    cosine_of = {**(cosines or {}), **dict(zip(vector_ids, similarities, strict=True))}
    bm25_of = dict(zip(lexical_ids, bm25, strict=True))
    fused = {
        chunk_id: weight * cosine_of.get(chunk_id, cosine_floor)
        + (1.0 - weight) * bm25_of.get(chunk_id, bm25_floor) / best
        for chunk_id in (*vector_ids, *lexical_ids)
    }
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)


def reciprocal_rank_fusion(
    rankings: list[tuple[float, list[str]]], *, k: int = 60
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each id scores `sum(weight / (k + rank))`, rank from 1.

    Only ranks count, never the retrievers' scores (Cormack et al., 2009); the
    configured constant is `SWITCHBOARD_KB_RRF_K`.

    Args:
        rankings: `(weight, ids best first)` per retriever.
        k: The RRF constant; larger flattens the advantage of the top ranks.

    Returns:
        `(id, score)` pairs, best first (ties keep first-seen order).

    """
    scores: dict[str, float] = {}
    for weight, ids in rankings:
        for rank, chunk_id in enumerate(ids, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)
