"""Fixtures for knowledge-base tests: real Chroma (embedded, or a `chroma run` server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import Settings
from ingestion.knowledge_base import KnowledgeBase
from tests.ingestion.helpers import CountingEmbedder, chroma_server, make_kb_settings, write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small help center: Markdown, HTML and text articles in `tmp_path/help`."""
    return write_corpus(tmp_path / "help")


@pytest.fixture
def kb_settings(tmp_path: Path) -> Settings:
    """Settings with an embedded Chroma under `tmp_path/data`."""
    return make_kb_settings(tmp_path / "data")


@pytest.fixture
def embedder() -> CountingEmbedder:
    """The real embedding model, counting what it embeds."""
    return CountingEmbedder()


@pytest.fixture
def kb(kb_settings: Settings, embedder: CountingEmbedder) -> KnowledgeBase:
    """A knowledge base on embedded Chroma, empty."""
    return KnowledgeBase.open(kb_settings, embedder=embedder)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real `chroma run` server process, shared by the session."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.slow)])
def any_kb(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: CountingEmbedder
) -> KnowledgeBase:
    """An empty knowledge base on each backend: embedded Chroma and a `chroma run` server."""
    if request.param == "embedded":
        settings = make_kb_settings(tmp_path / "data")
    else:
        url = request.getfixturevalue("chroma_url")
        settings = make_kb_settings(
            tmp_path / "data", CHROMA_URL=url, SWITCHBOARD_KB_COLLECTION=f"test-{uuid.uuid4().hex}"
        )
    return KnowledgeBase.open(settings, embedder=embedder)
