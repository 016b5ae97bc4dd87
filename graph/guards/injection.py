"""Our offline prompt-injection and jailbreak detector.

A logistic regression over three feature groups: the all-MiniLM-L6-v2 sentence
embedding (shared with intent and retrieval through `embed_query`), character
n-gram TF-IDF (catches wording and obfuscation the embedding smooths over) and a
few hand-written indicators (role tags, "ignore … instructions", encoded
payloads). It is trained at start-up on `data/injection_train.jsonl`, a corpus
written for Switchboard; the training-set embeddings are cached as a `.npy`
file under the data dir (no pickles), so a warm start trains in well under a
second. `data/injection_heldout.jsonl` is never used here: the benchmark and
tests measure on it.

The detector follows llm-guard's scanner protocol, so it can sit in an
llm-guard `scan_prompt` list: `scan(prompt) -> (sanitized_prompt, is_valid, risk_score)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from graph.guards.deobfuscate import decoded_blobs, variants
from graph.guards.invisible import fold_confusables, has_mixed_script_words

logger = logging.getLogger(__name__)

TRAIN_FILE = "injection_train.jsonl"
HELDOUT_FILE = "injection_heldout.jsonl"

_INDICATORS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(ignore|disregard|forget|override|bypass|skip|drop|set aside)\b.{0,40}"
        r"\b(instruction|rule|guideline|polic|prompt|directive|restriction|programming|constraint)",
        r"\b(system|developer|hidden|initial|secret)\s*(prompt|message|instruction|note)",
        r"</?\s*(system|assistant|user|admin|inst|instructions|im_start|im_end|tool_result)\b"
        r"|<\|",
        r"\b(DAN|jailbr\w*|developer mode|unrestricted|unfiltered"
        r"|no (rules|restrictions|limits))\b",
        r"\b(you are now|from now on|pretend|act as|roleplay|role-play|simulate)\b",
        r"\b(all|every)\s+(customers?|orders?|users?|accounts?)\b",
        r"\b(verbatim|word for word|repeat (the|everything)|print your|reveal)\b",
        r"\b(ignor|oubli|vergiss|olvida|dimentica|esque[cç]|negeer|vergeet)\w*",
    )
]


class Embedder(Protocol):
    """What the detector needs from `ingestion.embeddings.LocalEmbedder`."""

    def embed(self, texts: list[str]) -> np.ndarray: ...  # noqa: D102

    def embed_query(self, text: str) -> np.ndarray: ...  # noqa: D102

    def embed_each(self, texts: list[str]) -> np.ndarray: ...  # noqa: D102


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """One corpus row."""

    text: str
    label: int
    """1 = attack, 0 = benign."""
    family: str


def load_corpus(name: str) -> list[LabelledMessage]:
    """Read a bundled JSONL corpus (`injection_train.jsonl` or `injection_heldout.jsonl`)."""
    rows = []
    with (
        resources.files("graph.guards").joinpath("data").joinpath(name).open(encoding="utf-8") as f
    ):
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.append(LabelledMessage(r["text"], int(r["label"] == "attack"), r["family"]))
    return rows


def _indicators(text: str) -> np.ndarray:
    hits = [1.0 if p.search(text) else 0.0 for p in _INDICATORS]
    hits.append(1.0 if decoded_blobs(text) else 0.0)
    hits.append(1.0 if has_mixed_script_words(text) else 0.0)
    return np.asarray(hits, dtype=np.float32)


SCORE_CACHE_SIZE = 4096
"""Texts whose injection score `score_many` remembers (tool-result passages repeat)."""


class InjectionDetector:
    """Score how likely a text tries to override instructions, extract the prompt or abuse tools."""

    EMBEDDING_WEIGHT = 1.0
    """Chosen by 5-fold cross-validation on the training file (never the held-out one)."""
    INDICATOR_WEIGHT = 1.0

    def __init__(
        self, embedder: Embedder, threshold: float = 0.6, cache_dir: Path | None = None
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._tfidf: TfidfVectorizer | None = None
        self._clf: LogisticRegression | None = None
        self._linear: _LinearScorer | None = None
        self._scores: OrderedDict[str, float] = OrderedDict()
        self._score_lock = threading.Lock()

    # --- training -------------------------------------------------------------
    def fit(self, corpus: list[LabelledMessage] | None = None) -> InjectionDetector:
        """Train on the bundled training corpus (or `corpus`); idempotent and thread-safe."""
        with self._lock:
            if self._clf is not None and corpus is None:
                return self
            rows = corpus if corpus is not None else load_corpus(TRAIN_FILE)
            with self._score_lock:
                self._scores.clear()  # scores of the previous model
            texts = [fold_confusables(r.text) for r in rows]
            tfidf = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, lowercase=True
            )
            x_chars = tfidf.fit_transform(texts)
            x_emb = self._training_embeddings(texts)
            x_ind = np.vstack([_indicators(t) for t in texts])
            x = sparse.hstack(
                [
                    x_chars,
                    sparse.csr_matrix(x_emb * self.EMBEDDING_WEIGHT),
                    sparse.csr_matrix(x_ind * self.INDICATOR_WEIGHT),
                ]
            ).tocsr()
            y = np.asarray([r.label for r in rows])
            clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
            clf.fit(x, y)
            self._tfidf, self._clf = tfidf, clf
            self._linear = _LinearScorer(tfidf, clf, self.EMBEDDING_WEIGHT, self.INDICATOR_WEIGHT)
        return self

    def _training_embeddings(self, texts: list[str]) -> np.ndarray:
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
        path = self.cache_dir / f"injection-train-{digest}.npy" if self.cache_dir else None
        if path is not None and path.exists():
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return cached
        vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors, allow_pickle=False)
        return vectors

    # --- scoring --------------------------------------------------------------
    def _features(self, texts: list[str], vectors: np.ndarray) -> sparse.csr_matrix:
        assert self._tfidf is not None
        return sparse.hstack(
            [
                self._tfidf.transform(texts),
                sparse.csr_matrix(vectors * self.EMBEDDING_WEIGHT),
                sparse.csr_matrix(
                    np.vstack([_indicators(t) for t in texts]) * self.INDICATOR_WEIGHT
                ),
            ]
        ).tocsr()

    def score(self, text: str) -> float:
        """Return the attack probability of `text`, the highest over its decoded readings."""
        if self._linear is None:
            self.fit()
        assert self._linear is not None
        return max(
            self._linear.probability(reading, self.embedder.embed_query(reading))
            for reading in variants(text)
        )

    def score_many(self, texts: list[str]) -> list[float]:
        """Score several independent texts (e.g. the fields of a tool result) in one batch.

        Scores are cached per text: tool results repeat the same passages (help-center
        articles, policy notes) turn after turn, and embedding them again was most of a
        turn's CPU time (`bench/turns.py`).
        """
        if not texts:
            return []
        if self._linear is None:
            self.fit()
        assert self._linear is not None
        missing = list(dict.fromkeys(t for t in texts if self._cached_score(t) is None))
        if missing:
            readings: list[str] = []
            owner: list[int] = []
            for i, t in enumerate(missing):
                for v in variants(t):
                    readings.append(v)
                    owner.append(i)
            # Not `embed`: a PyTorch batch stalls beside a busy loop (see `embed_each`).
            vectors = self.embedder.embed_each(readings)
            probs = [self._linear.probability(r, v) for r, v in zip(readings, vectors, strict=True)]
            best = [0.0] * len(missing)
            for i, p in zip(owner, probs, strict=True):
                best[i] = max(best[i], float(p))
            for text, score in zip(missing, best, strict=True):
                self._remember_score(text, score)
        return [self._cached_score(t) or 0.0 for t in texts]

    def knows_scores(self, texts: list[str]) -> bool:
        """Whether `score_many(texts)` would answer from its cache alone (no embedding)."""
        if self._linear is None:
            return False
        with self._score_lock:
            return all(t in self._scores for t in texts)

    def _cached_score(self, text: str) -> float | None:
        with self._score_lock:
            score = self._scores.get(text)
            if score is not None:
                self._scores.move_to_end(text)
            return score

    def _remember_score(self, text: str, score: float) -> None:
        with self._score_lock:
            self._scores[text] = score
            while len(self._scores) > SCORE_CACHE_SIZE:
                self._scores.popitem(last=False)

    def scan(self, prompt: str) -> tuple[str, bool, float]:
        """Scan like an llm-guard input scanner: `(prompt, is_valid, risk_score)`."""
        from llm_guard.util import calculate_risk_score

        if not prompt.strip():
            return prompt, True, -1.0
        probability = self.score(prompt)
        valid = probability < self.threshold
        return prompt, valid, calculate_risk_score(probability, self.threshold)


class _LinearScorer:
    """The fitted classifier's probability for one reading, without sklearn's per-call cost.

    `TfidfVectorizer.transform` plus `predict_proba` validate inputs and build
    sparse matrices on every call: about 1 ms for one short message, as long as
    its embedding. The model is linear, so the same number is a dot product
    over the message's known n-grams (sublinear tf, idf, l2 norm, as fitted)
    plus the embedding and indicator terms. Inference uses only this; sklearn
    fits the model. `tests/guards` checks it equals `predict_proba` on the
    held-out corpus.
    """

    def __init__(
        self,
        tfidf: TfidfVectorizer,
        clf: LogisticRegression,
        embedding_weight: float,
        indicator_weight: float,
    ) -> None:
        self._analyze = tfidf.build_analyzer()
        self._vocabulary: dict[str, int] = tfidf.vocabulary_
        self._idf = np.asarray(tfidf.idf_, dtype=np.float64)
        n_grams = len(self._vocabulary)
        coef = np.asarray(clf.coef_[0], dtype=np.float64)
        self._ngram_coef = coef[:n_grams]
        dims = coef.shape[0] - n_grams - _indicators("").shape[0]
        self._embedding_coef = coef[n_grams : n_grams + dims] * embedding_weight
        self._indicator_coef = coef[n_grams + dims :] * indicator_weight
        self._intercept = float(clf.intercept_[0])

    def probability(self, reading: str, vector: np.ndarray) -> float:
        """Return the attack probability of one reading given its embedding."""
        counts: dict[int, int] = {}
        for gram in self._analyze(reading):
            index = self._vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        logit = self._intercept
        if counts:
            indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(tf)) * self._idf[indices]
            logit += float(weights @ self._ngram_coef[indices]) / float(np.linalg.norm(weights))
        logit += float(np.asarray(vector, dtype=np.float64) @ self._embedding_coef)
        logit += float(_indicators(reading) @ self._indicator_coef)
        return float(1.0 / (1.0 + np.exp(-logit)))
