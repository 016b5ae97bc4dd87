"""Hybrid retrieval finds the right article, on embedded Chroma and on a Chroma server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ingestion.errors import KnowledgeBaseUnavailable
from ingestion.knowledge_base import KnowledgeBase, score_fusion
from tests.ingestion.helpers import chroma_server, make_kb_settings

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
