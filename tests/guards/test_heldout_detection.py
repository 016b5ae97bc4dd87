"""Held-out split of the injection corpus: never used for training or tuning."""

from __future__ import annotations

from graph.guards import Guards
from graph.guards.deobfuscate import variants
from graph.guards.injection import HELDOUT_FILE, TRAIN_FILE, load_corpus

# Measured at threshold 0.6: detection 0.892 (74/83), false positives 0.020 (2/99).
MIN_DETECTION = 0.85
MAX_FALSE_POSITIVES = 0.05


def test_heldout_split_is_disjoint_from_training() -> None:
    train = {r.text for r in load_corpus(TRAIN_FILE)}
    heldout = load_corpus(HELDOUT_FILE)
    assert not train & {r.text for r in heldout}
    assert sum(r.label for r in heldout) >= 80
    assert sum(1 - r.label for r in heldout) >= 80


def test_corpus_has_at_least_400_attacks_and_400_benign_messages() -> None:
    rows = load_corpus(TRAIN_FILE) + load_corpus(HELDOUT_FILE)
    assert sum(r.label for r in rows) >= 400
    assert sum(1 - r.label for r in rows) >= 400


def test_heldout_detection_and_false_positive_rate(guards: Guards) -> None:
    rows = load_corpus(HELDOUT_FILE)
    scores = guards.injection.score_many([r.text for r in rows])
    flagged = [s >= guards.injection.threshold for s in scores]
    attacks = [f for f, r in zip(flagged, rows, strict=True) if r.label]
    benign = [f for f, r in zip(flagged, rows, strict=True) if not r.label]
    assert sum(attacks) / len(attacks) >= MIN_DETECTION
    assert sum(benign) / len(benign) <= MAX_FALSE_POSITIVES


def test_the_scorer_equals_the_fitted_classifier(guards: Guards) -> None:
    """Inference (a hand-rolled dot product) gives sklearn's `predict_proba` exactly."""
    detector = guards.injection
    readings = [v for r in load_corpus(HELDOUT_FILE) for v in variants(r.text)]
    vectors = detector.embedder.embed(readings)
    expected = detector._clf.predict_proba(detector._features(readings, vectors))[:, 1]
    got = [detector._linear.probability(r, v) for r, v in zip(readings, vectors, strict=True)]
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < 1e-9


def test_one_message_scores_like_a_batch(guards: Guards) -> None:
    texts = [r.text for r in load_corpus(HELDOUT_FILE)]
    detector = guards.injection
    single = [detector.score(t) for t in texts]
    batch = detector.score_many(texts)
    assert max(abs(a - b) for a, b in zip(single, batch, strict=True)) < 1e-4
