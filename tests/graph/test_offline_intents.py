"""Specification of the offline intent classifier, measured on held-out utterances."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from graph.llm.offline import INTENT_DEPARTMENTS, classify
from graph.llm.offline.errors import IntentCorpusError
from graph.llm.offline.intents import (
    HELDOUT_CORPUS,
    TRAINING_CORPUS,
    get_classifier,
    load_corpus,
)

HELDOUT_DEPARTMENT_ACCURACY = 0.93
"""Measured 0.975 (157/161) when written; the threshold leaves room for corpus edits."""


@pytest.fixture(scope="module")
def heldout_predictions() -> list[tuple[str, str, str]]:
    """(text, expected department, predicted department) for each held-out line."""
    classifier = get_classifier()
    return [
        (
            example.text,
            INTENT_DEPARTMENTS[example.intent],
            classifier.predict(example.text).department,
        )
        for example in load_corpus(HELDOUT_CORPUS)
    ]


def test_heldout_department_routing_is_accurate(
    heldout_predictions: list[tuple[str, str, str]],
) -> None:
    correct = sum(expected == predicted for _, expected, predicted in heldout_predictions)
    accuracy = correct / len(heldout_predictions)
    print(f"held-out department accuracy: {accuracy:.3f} ({correct}/{len(heldout_predictions)})")
    assert accuracy >= HELDOUT_DEPARTMENT_ACCURACY


def test_billing_and_returns_are_rarely_confused(
    heldout_predictions: list[tuple[str, str, str]],
) -> None:
    confusions = Counter(
        (expected, predicted)
        for _, expected, predicted in heldout_predictions
        if {expected, predicted} == {"billing", "returns"}
    )
    print(f"billing/returns confusions: {dict(confusions)}")
    assert sum(confusions.values()) <= 2


def test_heldout_corpus_never_overlaps_training() -> None:
    training = {example.text.lower() for example in load_corpus(TRAINING_CORPUS)}
    heldout = {example.text.lower() for example in load_corpus(HELDOUT_CORPUS)}
    assert not training & heldout


def test_every_intent_has_enough_training_and_heldout_examples() -> None:
    training = Counter(example.intent for example in load_corpus(TRAINING_CORPUS))
    heldout = Counter(example.intent for example in load_corpus(HELDOUT_CORPUS))
    assert set(training) == set(INTENT_DEPARTMENTS) == set(heldout)
    assert min(training.values()) >= 25
    assert min(heldout.values()) >= 8


@pytest.mark.parametrize(
    ("text", "intent", "department"),
    [
        ("I was charged twice for order 1042", "charge_explanation", "billing"),
        ("I want a refund for my broken kettle", "refund_request", "billing"),
        ("where is my parcel?? order 1042", "order_status", "returns"),
        ("please cancel order 2077", "cancel_order", "returns"),
        ("hi there", "greeting", "general"),
        ("what's your return window?", "policy_question", "general"),
        ("write me a poem about cats", "out_of_scope", "out_of_scope"),
    ],
)
def test_clear_messages_get_their_intent_and_department(
    text: str, intent: str, department: str
) -> None:
    prediction = classify(text)
    assert (prediction.intent, prediction.department) == (intent, department)
    assert not prediction.unsure


def test_a_vague_message_is_unsure() -> None:
    prediction = classify("I have a problem with the thing")
    assert prediction.unsure


def test_classification_is_deterministic() -> None:
    assert classify("my refund for order 1042?") == classify("my refund for order 1042?")


def test_a_corpus_line_with_an_unknown_intent_says_how_to_fix_it(tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text(json.dumps({"text": "hi", "intent": "gossip"}) + "\n")
    with pytest.raises(IntentCorpusError, match="unknown intent 'gossip'"):
        load_corpus(corpus)
