"""Hybrid retrieval finds the right article, on embedded Chroma and on a Chroma server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from api.settings import Settings
from ingestion import knowledge_base as kb_module
from ingestion.errors import KnowledgeBaseUnavailable
from ingestion.knowledge_base import (
    KnowledgeBase,
    diversify,
    reciprocal_rank_fusion,
    score_fusion,
)
from tests.conftest import only_cpu_worker_busy
from tests.ingestion.helpers import CountingEmbedder, chroma_server, make_kb_settings

QUESTIONS = [
    ("How many business days until my refund reaches the bank?", "help/refunds.md"),
    ("who has to approve a $350 refund", "help/refunds.md"),
    ("How much does overnight delivery cost?", "help/shipping.md"),
    ("price of the yearly membership", "help/plus.md"),
    ("INV-1042", "help/invoices.html"),
    ("do gift cards expire", "help/gift-cards.txt"),
]


@pytest.mark.parametrize(("question", "source"), QUESTIONS)
def test_hybrid_search_ranks_the_answering_article_first(
    any_kb: KnowledgeBase, corpus: Path, question: str, source: str
) -> None:
    any_kb.ingest([corpus], progress=False)

    passages = any_kb.search_sync(question, 3)

    assert passages[0].source == source
    assert passages[0].title and passages[0].text and passages[0].chunk_id


async def test_async_search_runs_off_the_event_loop_and_matches_sync(
    kb: KnowledgeBase, corpus: Path
) -> None:
    await asyncio.to_thread(kb.ingest, [corpus], progress=False)

    passages = await kb.search("cancel Switchboard Plus", 2)

    assert passages == kb.search_sync("cancel Switchboard Plus", 2)
    assert passages[0].source == "help/plus.md" and passages[0].section == "Cancelling"


def test_where_filter_restricts_both_retrievers(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus], progress=False)

    passages = kb.search_sync("refund", 5, where={"source": "help/shipping.md"})

    assert passages and {p.source for p in passages} == {"help/shipping.md"}


def test_single_retriever_modes_are_available_for_comparison(
    kb: KnowledgeBase, corpus: Path
) -> None:
    kb.ingest([corpus], progress=False)

    lexical = kb.search_sync("INV-1042", 3, mode="lexical")
    vector = kb.search_sync("INV-1042", 3, mode="vector")

    assert lexical[0].source == "help/invoices.html"
    assert len(vector) == 3


def test_empty_knowledge_base_and_blank_query_return_nothing(kb: KnowledgeBase) -> None:
    assert kb.search_sync("refund", 5) == []
    assert kb.search_sync("   ", 5) == []


def test_score_fusion_rewards_agreement_and_keeps_score_margins() -> None:
    vector = (["a", "b", "c"], [0.80, 0.70, 0.40])
    lexical = (["d", "b"], [10.0, 8.0])

    fused = score_fusion(vector, lexical, depth=3, weight=0.5)

    assert [chunk_id for chunk_id, _ in fused] == ["b", "d", "a", "c"]
    # b: both retrievers; d: BM25's best, with the lowest cosine returned (c's) as its bound.
    assert fused[0][1] == pytest.approx(0.5 * 0.70 + 0.5 * 8 / 10)
    assert fused[1][1] == pytest.approx(0.5 * 0.40 + 0.5 * 1.0)


def test_score_fusion_lets_a_confident_embedding_match_beat_a_weak_keyword_hit() -> None:
    vector = (["paraphrase", "keyword"], [0.85, 0.30])
    lexical = (["keyword", "paraphrase"], [3.0, 2.7])

    fused = score_fusion(vector, lexical, depth=30, weight=0.75)

    assert fused[0][0] == "paraphrase"


def test_rrf_ranks_a_document_both_retrievers_rank_high_first() -> None:
    vector = ["a", "b", "c"]
    lexical = ["d", "b", "e"]

    fused = reciprocal_rank_fusion([(1.0, vector), (1.0, lexical)], k=60)

    # b is second in both lists and beats each list's single winner; a and d tie
    # (both first once) and keep first-seen order, as do c and e (both third once).
    assert [chunk_id for chunk_id, _ in fused] == ["b", "a", "d", "c", "e"]
    assert fused[0][1] == pytest.approx(2 / 62)
    assert fused[1][1] == fused[2][1] == pytest.approx(1 / 61)
    assert fused[3][1] == fused[4][1] == pytest.approx(1 / 63)


def test_rrf_uses_ranks_weights_and_k_but_never_raw_scores() -> None:
    vector = ["paraphrase", "keyword"]
    lexical = ["keyword", "paraphrase"]

    # A mirror-image tie goes to the heavier ranking, whatever the constant.
    assert reciprocal_rank_fusion([(0.5, vector), (1.0, lexical)], k=40)[0][0] == "keyword"
    assert reciprocal_rank_fusion([(2.0, vector), (1.0, lexical)], k=1)[0][0] == "paraphrase"
    # A small k rewards one first place over two third places; a large k, agreement.
    rankings = [(1.0, ["x"]), (1.0, ["z", "w", "y"]), (1.0, ["w", "z", "y"])]
    small = dict(reciprocal_rank_fusion(rankings, k=0))
    large = dict(reciprocal_rank_fusion(rankings, k=100))
    assert small["x"] == pytest.approx(1.0) and small["y"] == pytest.approx(2 / 3)
    assert large["y"] == pytest.approx(2 / 103) and large["x"] == pytest.approx(1 / 101)
    assert small["x"] > small["y"] and large["y"] > large["x"]
    assert reciprocal_rank_fusion([], k=60) == []


def test_fusion_setting_switches_what_hybrid_search_uses(
    kb: KnowledgeBase, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.ingest([corpus], progress=False)
    calls: list[str] = []
    rrf, score = kb_module.reciprocal_rank_fusion, kb_module.score_fusion

    def spy_rrf(rankings, *, k):  # type: ignore[no-untyped-def]
        calls.append(f"rrf k={k}")
        return rrf(rankings, k=k)

    def spy_score(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("score")
        return score(*args, **kwargs)

    monkeypatch.setattr(kb_module, "reciprocal_rank_fusion", spy_rrf)
    monkeypatch.setattr(kb_module, "score_fusion", spy_score)
    rrf_settings = make_kb_settings(
        tmp_path / "data", SWITCHBOARD_KB_FUSION="rrf", SWITCHBOARD_KB_RRF_K="7"
    )
    rrf_kb = KnowledgeBase(kb.collection, kb.embedder, settings=rrf_settings)  # same chunks
    question = "How many business days until my refund reaches the bank?"

    assert kb.settings.kb_fusion == "score"
    default = kb.search_sync(question, 3)
    assert calls == ["score"]
    configured = rrf_kb.search_sync(question, 3)
    assert calls == ["score", "rrf k=7"]
    assert configured == rrf_kb.search_sync(question, 3, mode="hybrid-rrf")
    assert default == rrf_kb.search_sync(question, 3, mode="hybrid-score")
    assert configured[0].source == default[0].source == "help/refunds.md"
    # RRF scores are rank-based: at most the sum of weights over (k + 1).
    most = (kb_module.RRF_VECTOR_WEIGHT + kb_module.RRF_LEXICAL_WEIGHT) / 8
    assert 0 < configured[0].score <= most + 1e-6
    with pytest.raises(ValueError, match="unknown search mode"):
        kb.search_sync(question, 3, mode="fused")  # type: ignore[arg-type]


def test_fusion_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        make_kb_settings(tmp_path, SWITCHBOARD_KB_FUSION="rank")
    with pytest.raises(ValidationError):
        make_kb_settings(tmp_path, SWITCHBOARD_KB_RRF_K="0")


@pytest.mark.slow
def test_search_raises_knowledge_base_unavailable_when_the_server_goes_away(
    tmp_path: Path, corpus: Path
) -> None:
    with chroma_server(tmp_path / "server") as url:
        kb = KnowledgeBase.open(make_kb_settings(tmp_path / "data", CHROMA_URL=url))
        kb.ingest([corpus], progress=False)
        assert kb.search_sync("refund", 1)

    with pytest.raises(KnowledgeBaseUnavailable, match="is unavailable"):
        kb.search_sync("a question that was never embedded before", 1)


def test_fusion_reads_a_bm25_only_chunks_vector_from_chroma_once_per_snapshot(
    kb: KnowledgeBase, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few candidates per retriever, so BM25 finds chunks the vector search did not.
    monkeypatch.setattr(kb_module, "MIN_CANDIDATES", 1)
    # A store searched by Chroma's index (a server's, or a large one) holds no vectors.
    monkeypatch.setattr(kb_module, "EXACT_SEARCH_MAX_CHUNKS", 0)
    kb.ingest([corpus], progress=False)
    real = kb.collection
    reads: list[list[str]] = []

    class CountingCollection:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def get(self, **kwargs: object) -> object:
            if "embeddings" in (kwargs.get("include") or []):  # type: ignore[operator]
                reads.append(list(kwargs["ids"]))  # type: ignore[call-overload]
            return real.get(**kwargs)

    kb.collection = CountingCollection()  # type: ignore[assignment]
    question = "business days approve"

    first = kb.search_sync(question, 1)
    assert reads, "BM25 found chunks the vector search missed: their vectors were read"
    read_once = len(reads)
    assert kb.search_sync(question, 1) == first
    assert len(reads) == read_once, "the second search used the vectors it had read"

    kb.refresh()  # a new snapshot (someone ingested) starts with nothing remembered
    assert kb.search_sync(question, 1) == first
    assert len(reads) == read_once + 1


QUESTIONS_BY_MEANING = [
    "when does my money come back after a return",
    "can I pay with a gift card",
    "the parcel is late",
    "stop my membership",
    "refund",
]


def test_a_small_embedded_store_is_searched_exactly_in_memory_as_chromas_index_ranks_it(
    kb_settings: Settings, embedder: CountingEmbedder, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = KnowledgeBase.open(kb_settings, embedder=embedder)
    exact.ingest([corpus], progress=False)
    monkeypatch.setattr(kb_module, "EXACT_SEARCH_MAX_CHUNKS", exact.size - 1)
    indexed = KnowledgeBase(exact.collection, embedder, settings=kb_settings)  # same chunks
    assert exact._snapshot.matrix is not None and indexed._snapshot.matrix is None
    queries = 0

    class NoQueries:
        def __getattr__(self, name: str) -> object:
            return getattr(indexed.collection, name)

        def query(self, **kwargs: object) -> object:
            nonlocal queries
            queries += 1
            return indexed.collection.query(**kwargs)

    exact.collection = NoQueries()  # type: ignore[assignment]
    for question in QUESTIONS_BY_MEANING:
        for mode in ("vector", "hybrid-score", "hybrid-rrf"):
            got = exact.search_sync(question, 4, mode=mode)  # type: ignore[arg-type]
            want = indexed.search_sync(question, 4, mode=mode)  # type: ignore[arg-type]
            assert [p.chunk_id for p in got] == [p.chunk_id for p in want], (question, mode)
            assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-5)
        filtered = exact.search_sync(question, 3, where={"source": "help/shipping.md"})
        assert filtered and {p.source for p in filtered} == {"help/shipping.md"}
        assert filtered == indexed.search_sync(question, 3, where={"source": "help/shipping.md"})
    assert queries == 0, "no search went to Chroma's index"


def test_the_exact_search_sees_what_this_process_ingests(
    kb: KnowledgeBase, corpus: Path, tmp_path: Path
) -> None:
    kb.ingest([corpus], progress=False)
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "pets.md").write_text(
        "# Pets\n\n## Travelling with a hamster\n\nHamsters ride free in a ventilated box.\n"
    )

    kb.ingest([extra], progress=False)

    assert kb._snapshot.matrix is not None and len(kb._snapshot.matrix) == kb.size
    assert kb.search_sync("can my small rodent come along", 1, mode="vector")[0].source.endswith(
        "pets.md"
    )


@pytest.mark.slow
def test_a_chroma_server_store_is_searched_by_its_index(
    chroma_url: str, tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    """Another process may feed a server while this one runs: its index sees those chunks."""
    settings = make_kb_settings(
        tmp_path / "data", CHROMA_URL=chroma_url, SWITCHBOARD_KB_COLLECTION="exact-off"
    )
    kb = KnowledgeBase.open(settings, embedder=embedder)
    kb.ingest([corpus], progress=False)

    assert kb._snapshot.matrix is None
    assert kb.search_sync("stop my membership", 1)[0].source == "help/plus.md"


async def test_a_chroma_server_search_does_not_wait_behind_busy_cpu_workers(
    chroma_url: str, tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    """A server search is a network call: it runs on the I/O threads (api/worker_threads.py)."""
    settings = make_kb_settings(
        tmp_path / "data", CHROMA_URL=chroma_url, SWITCHBOARD_KB_COLLECTION="io-threads"
    )
    kb = await asyncio.to_thread(KnowledgeBase.open, settings, embedder=embedder)
    await asyncio.to_thread(kb.ingest, [corpus], progress=False)
    async with only_cpu_worker_busy():
        passages = await asyncio.wait_for(kb.search("stop my membership", 1), timeout=20)

    assert passages[0].source == "help/plus.md"


def _articles(sources: dict[str, str]) -> Any:
    """What `diversify` reads of a snapshot: each chunk's article."""
    ids = list(sources)
    return SimpleNamespace(
        positions={chunk: n for n, chunk in enumerate(ids)}, sources=[sources[c] for c in ids]
    )


ARTICLES = _articles({"a1": "a.md", "a2": "a.md", "b": "b.md", "c": "c.md"})


def test_passages_are_taken_one_article_at_a_time_first() -> None:
    ranked = [("a1", 0.70), ("a2", 0.50), ("b", 0.45), ("c", 0.44)]
    assert diversify(ranked, ARTICLES, 2) == [("a1", 0.70), ("b", 0.45)]
    # The held-back one fills up what is left, after the others.
    assert diversify(ranked, ARTICLES, 4) == [("a1", 0.70), ("b", 0.45), ("c", 0.44), ("a2", 0.50)]


def test_a_second_section_close_to_the_best_and_well_ahead_is_not_held_back() -> None:
    """'What payment methods do you accept?': 'What we do not accept' 0.70, 'What we accept'
    0.64 of the same article, then other articles from 0.43 down."""
    ranked = [("a1", 0.70), ("a2", 0.64), ("b", 0.43), ("c", 0.41)]
    assert diversify(ranked, ARTICLES, 3) == [("a1", 0.70), ("a2", 0.64), ("b", 0.43)]


def test_a_second_section_is_held_back_when_other_articles_are_about_as_good() -> None:
    ranked = [("a1", 0.70), ("a2", 0.64), ("b", 0.60), ("c", 0.55)]
    assert diversify(ranked, ARTICLES, 3) == [("a1", 0.70), ("b", 0.60), ("c", 0.55)]
