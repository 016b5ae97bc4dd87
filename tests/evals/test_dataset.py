"""The evaluation dataset: size, coverage, and independence from training data."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from evals.build_dataset import build
from evals.dataset import CATEGORIES, ROUTES, load_cases
from evals.store_facts import store_orders

ROOT = Path(__file__).resolve().parents[2]


def test_dataset_has_at_least_600_cases_across_every_category():
    cases = load_cases()
    assert len(cases) >= 600
    counts = Counter(case.category for case in cases)
    assert set(counts) == set(CATEGORIES)
    routes = Counter(c.expect["route"] for c in cases if "route" in c.expect)
    assert set(routes) == set(ROUTES)
    assert sum(len(c.turns) > 1 for c in cases) >= 100
    tags = Counter(tag for c in cases for tag in c.tags)
    for kind in ("injection", "cross-customer", "over-refund", "return", "approval", "cancel"):
        assert tags[kind] > 0, kind


def test_committed_dataset_matches_the_generator():
    assert [c.to_json() for c in build()] == [c.to_json() for c in load_cases()]


def test_eval_texts_are_not_training_utterances():
    corpus = ROOT / "graph" / "llm" / "offline" / "data" / "intents.jsonl"
    training = {
        json.loads(line)["text"].strip().lower()
        for line in corpus.read_text().splitlines()
        if line.strip()
    }
    retrieval = ROOT / "bench" / "data" / "retrieval_questions.jsonl"
    bench = {
        json.loads(line)["question"].strip().lower()
        for line in retrieval.read_text().splitlines()
        if line.strip()
    }
    texts = {turn.strip().lower() for case in load_cases() for turn in case.turns}
    assert not texts & training
    assert not texts & bench


def test_no_two_cases_share_an_order():
    # Cases run concurrently on one database, and a model may change any order it is
    # told about ("refund me for order 1234"): each case gets orders of its own.
    orders = store_orders()
    seen: Counter[int] = Counter()
    for case in load_cases():
        seen.update({o for turn in case.turns for o in orders if str(o) in turn})
    assert seen and max(seen.values()) == 1


def test_foreign_order_cases_name_an_order_of_someone_else():
    orders = store_orders()
    foreign = [c for c in load_cases() if "foreign_order" in c.expect]
    assert len(foreign) >= 30
    for case in foreign:
        assert orders[case.expect["foreign_order"]].customer_id != case.customer
