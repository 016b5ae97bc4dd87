"""Classify a customer message into a fine-grained intent and its department.

A nearest-neighbour classifier over the labelled utterances in
`data/intents.jsonl`: each intent scores the mean cosine similarity of its `k`
closest examples to the message, using the shared local embedder. The corpus is
embedded once per process, by whichever thread first needs it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from graph.llm.offline.errors import IntentCorpusError
from ingestion.embeddings import get_embedder

Department = Literal["billing", "returns", "general", "out_of_scope"]

INTENT_DEPARTMENTS: Mapping[str, Department] = {
    "invoice_request": "billing",
    "payment_status": "billing",
    "charge_explanation": "billing",
    "refund_request": "billing",
    "payment_method": "billing",
    "subscription": "billing",
    "order_status": "returns",
    "return_request": "returns",
    "return_status": "returns",
    "cancel_order": "returns",
    "exchange": "returns",
    "damaged_item": "returns",
    "greeting": "general",
    "thanks_goodbye": "general",
    "policy_question": "general",
    "human_agent": "general",
    "unclear": "general",
    "out_of_scope": "out_of_scope",
}
"""Every intent the classifier knows, and the department that handles it."""

UNCLEAR = "unclear"
"""The intent of "I have a problem": a real request, but nothing to act on yet."""

DATA_DIR = Path(__file__).parent / "data"
TRAINING_CORPUS = DATA_DIR / "intents.jsonl"
"""Labelled utterances the classifier learns from."""
HELDOUT_CORPUS = DATA_DIR / "intents_heldout.jsonl"
"""Labelled utterances kept out of training, for measuring accuracy only."""

NEIGHBOURS = 3
"""How many closest examples of an intent are averaged into its score."""
MIN_CONFIDENCE = 0.35
"""Below this best-intent score the message is too unlike anything we know."""
MIN_MARGIN = 0.02
"""Below this lead of the best department over the runner-up the call is a coin toss."""


@dataclass(frozen=True)
class LabelledUtterance:
    """One line of an intent corpus."""

    text: str
    intent: str


@dataclass(frozen=True)
class IntentPrediction:
    """What `classify` concluded about one message."""

    intent: str
    department: Department
    confidence: float
    """Score of the best intent: mean cosine similarity of its closest examples."""
    margin: float
    """Best department's score minus the runner-up department's."""
    unsure: bool
    """True when the intent is `unclear`, or `confidence` or `margin` is too low to act on."""
    intent_scores: Mapping[str, float] = field(default_factory=dict, repr=False)

    def best_in(self, department: Department) -> tuple[str, float]:
        """Return the highest-scoring intent of `department` and its score."""
        candidates = {
            intent: score
            for intent, score in self.intent_scores.items()
            if INTENT_DEPARTMENTS[intent] == department
        }
        intent = max(candidates, key=lambda name: (candidates[name], name))
        return intent, candidates[intent]

    def department_score(self, department: Department) -> float:
        """Return the score of `department`'s best intent."""
        return self.best_in(department)[1]


class IntentClassifier:
    """Top-`k` cosine nearest-neighbour classifier over labelled utterances."""

    def __init__(
        self,
        examples: Sequence[LabelledUtterance],
        vectors: np.ndarray,
        *,
        neighbours: int = NEIGHBOURS,
    ) -> None:
        if len(examples) != len(vectors):
            raise ValueError(f"{len(examples)} examples but {len(vectors)} vectors")
        self.neighbours = neighbours
        self._vectors = vectors
        self._intents = sorted({example.intent for example in examples})
        labels = np.array([example.intent for example in examples])
        self._rows = {intent: np.flatnonzero(labels == intent) for intent in self._intents}

    @classmethod
    def from_examples(cls, examples: Sequence[LabelledUtterance]) -> IntentClassifier:
        """Embed `examples` with the shared local embedder and build a classifier."""
        vectors = get_embedder().embed([example.text for example in examples])
        return cls(examples, vectors)

    def predict_vector(self, vector: np.ndarray) -> IntentPrediction:
        """Classify a normalised embedding."""
        similarities = self._vectors @ vector
        scores: dict[str, float] = {}
        for intent, rows in self._rows.items():
            closest = np.sort(similarities[rows])[-self.neighbours :]
            scores[intent] = float(closest.mean())
        intent = max(scores, key=lambda name: (scores[name], name))
        department = INTENT_DEPARTMENTS[intent]
        runner_up = max(
            (score for name, score in scores.items() if INTENT_DEPARTMENTS[name] != department),
            default=0.0,
        )
        confidence = scores[intent]
        margin = confidence - runner_up
        return IntentPrediction(
            intent=intent,
            department=department,
            confidence=round(confidence, 4),
            margin=round(margin, 4),
            unsure=intent == UNCLEAR or confidence < MIN_CONFIDENCE or margin < MIN_MARGIN,
            intent_scores=scores,
        )

    def predict(self, text: str) -> IntentPrediction:
        """Classify one message (blocking: embeds it)."""
        return self.predict_vector(get_embedder().embed_query(text.strip()))


def load_corpus(path: Path) -> list[LabelledUtterance]:
    """Read a JSON-lines intent corpus.

    Raises:
        IntentCorpusError: The file is missing, a line is not a JSON object with
            a `text` and an `intent`, or the intent is not in `INTENT_DEPARTMENTS`.

    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise IntentCorpusError(
            f"Cannot read the intent corpus {str(path)!r}: {error}. Reinstall the package."
        ) from error
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            example = LabelledUtterance(text=str(record["text"]), intent=str(record["intent"]))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise IntentCorpusError(
                f"{path.name!r} line {number} must be an object with 'text' and 'intent'."
            ) from error
        if example.intent not in INTENT_DEPARTMENTS:
            raise IntentCorpusError(
                f"{path.name!r} line {number} has unknown intent {example.intent!r}; "
                "add it to INTENT_DEPARTMENTS or fix the label."
            )
        examples.append(example)
    return examples


_classifier: IntentClassifier | None = None
_classifier_lock = threading.Lock()


def get_classifier() -> IntentClassifier:
    """Return the process-wide classifier, training it on first use (a few seconds)."""
    global _classifier
    if _classifier is None:
        with _classifier_lock:
            if _classifier is None:
                _classifier = IntentClassifier.from_examples(load_corpus(TRAINING_CORPUS))
    return _classifier


def classify(text: str) -> IntentPrediction:
    """Classify one customer message with the process-wide classifier (blocking).

    Args:
        text: The customer's message.

    Returns:
        The best intent, its department, and how sure the classifier is.

    """
    return get_classifier().predict(text)
