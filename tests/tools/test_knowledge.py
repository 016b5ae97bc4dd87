"""The `search_knowledge_base` tool returns cited passages in a fixed JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestion.knowledge_base import KnowledgeBase
from tests.ingestion.helpers import CountingEmbedder, make_kb_settings, write_corpus
from tools.knowledge import make_knowledge_tools


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("kb")
    kb = KnowledgeBase.open(make_kb_settings(root / "data"), embedder=CountingEmbedder())
    long_article = "# Long\n\n" + " ".join(["Gift cards never expire."] * 60)
    kb.ingest([write_corpus(root / "help"), _write(root / "extra" / "long.md", long_article)])
    return kb


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_tool_is_named_search_knowledge_base_with_one_query_argument(kb: KnowledgeBase) -> None:
    [tool] = make_knowledge_tools(kb)

    assert tool.name == "search_knowledge_base"
    assert list(tool.args) == ["query"] and tool.args["query"]["type"] == "string"
    assert "policy" in tool.description and "how-to" in tool.description


async def test_tool_returns_the_query_and_top_four_passages_as_json(kb: KnowledgeBase) -> None:
    [tool] = make_knowledge_tools(kb)

    payload = json.loads(await tool.ainvoke({"query": "How long do refunds take?"}))

    assert set(payload) == {"query", "passages"}
    assert payload["query"] == "How long do refunds take?"
    assert len(payload["passages"]) == 4
    for passage in payload["passages"]:
        assert set(passage) == {"title", "source", "section", "text", "score"}
        assert isinstance(passage["title"], str) and isinstance(passage["source"], str)
        assert passage["section"] is None or isinstance(passage["section"], str)
        assert isinstance(passage["text"], str) and isinstance(passage["score"], float)
    assert payload["passages"][0]["source"] == "help/refunds.md"


async def test_tool_trims_long_passages(kb: KnowledgeBase) -> None:
    [tool] = make_knowledge_tools(kb, max_chars=200)

    payload = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))

    assert all(len(p["text"]) <= 200 for p in payload["passages"])
    assert any(p["text"].endswith("…") for p in payload["passages"])


async def test_blank_query_returns_no_passages(kb: KnowledgeBase) -> None:
    [tool] = make_knowledge_tools(kb)

    assert json.loads(await tool.ainvoke({"query": " "})) == {"query": " ", "passages": []}
