"""BM25 over the knowledge-base chunks (bm25s), with a small English normaliser."""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(
    "i my me do does can how what when where why which you your we our us s t am did has".split()
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "s")


def tokenize(text: str) -> list[str]:
    """Lower-case, split on non-alphanumerics, drop stop words and strip common suffixes.

    `INV-1042` becomes `["inv", "1042"]`, so an exact identifier still matches
    the document that mentions it.
    """
    return [_stem(token) for token in _TOKEN.findall(text.lower()) if token not in _STOPWORDS]


def _stem(token: str) -> str:
    # A deliberately tiny stemmer (no NLTK/PyStemmer dependency): enough to make
    # "refunds"/"refunded"/"refunding" meet, and it never touches numbers.
    if len(token) <= 4 or token.isdigit():
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            stem = token[: -len(suffix)]
            if suffix in ("ies", "ied"):
                stem += "y"
            return stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem
    return token


class LexicalIndex:
    """An immutable BM25 index over a list of texts (rebuild it to change it)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._bm25: bm25s.BM25 | None = None
        corpus = [tokenize(text) or [""] for text in texts]
        if corpus:
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)

    def search(self, query: str, k: int, *, mask: np.ndarray | None = None) -> list[int]:
        """Return the positions of the `k` best-scoring texts (score > 0), best first.

        Args:
            query: Free text.
            k: How many positions at most.
            mask: Optional 0/1 weights per text; zero excludes a text.

        """
        tokens = tokenize(query)
        if self._bm25 is None or not tokens or k <= 0:
            return []
        ids = self._bm25.get_tokens_ids(tokens)
        if not ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids, weight_mask=mask)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(index) for index in top if scores[index] > 0]
