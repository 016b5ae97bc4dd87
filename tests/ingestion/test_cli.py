"""`switchboard ingest` and the start-up ingestion of the bundled help center."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ingestion.cli
from api.settings import Settings
from ingestion.cli import HELP_CENTER_DIR, ensure_demo_help_center, ingest_command
from ingestion.errors import KnowledgeBaseUnavailable
from ingestion.knowledge_base import KnowledgeBase
from tests.ingestion.helpers import CountingEmbedder, make_kb_settings
from tests.processes import free_port


def test_ingest_command_prints_a_summary_and_exits_zero(
    kb_settings: Settings, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = ingest_command([str(corpus)], prune=False, settings=kb_settings)

    out = capsys.readouterr().out
    assert code == 0
    assert "Files: 5 seen, 5 new" in out and re.search(r"Chunks: \d+ added", out)
    assert re.search(r"Took \d+\.\d+s", out)


def test_ingest_command_exits_one_when_a_file_was_skipped(
    kb_settings: Settings, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00broken")

    code = ingest_command([str(corpus)], prune=True, settings=kb_settings)

    assert code == 1
    assert "Skipped 'help/bad.txt': is not valid UTF-8" in capsys.readouterr().out


def test_ingest_command_exits_two_when_chroma_is_unreachable(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_kb_settings(tmp_path / "data", CHROMA_URL=f"http://127.0.0.1:{free_port()}")

    code = ingest_command([str(corpus)], prune=False, settings=settings)

    assert code == 2 and "is unavailable" in capsys.readouterr().err


def test_unreachable_chroma_server_raises_knowledge_base_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = make_kb_settings(tmp_path / "data", CHROMA_URL=url)

    with pytest.raises(KnowledgeBaseUnavailable, match=re.escape(repr(url))):
        KnowledgeBase.open(settings)


def test_demo_help_center_ingests_once_then_is_a_noop(
    monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase, kb_settings: Settings, corpus: Path
) -> None:
    # The real help center takes ~15 s to embed; the mechanics are the same on a small one.
    monkeypatch.setattr(ingestion.cli, "HELP_CENTER_DIR", corpus)
    embedder = kb.embedder
    assert isinstance(embedder, CountingEmbedder)

    first = ensure_demo_help_center(kb_settings, kb=kb)
    embedder.embedded.clear()
    second = ensure_demo_help_center(kb_settings, kb=kb)

    assert first.files_new == 5 and first.chunks_added == kb.size
    assert embedder.embedded == [] and not second.changed and second.seconds < 1.0


def test_bundled_help_center_has_thirty_dated_articles_of_200_to_600_words() -> None:
    articles = sorted(HELP_CENTER_DIR.glob("*.md"))

    assert len(articles) >= 30
    for article in articles:
        text = article.read_text(encoding="utf-8")
        assert re.search(r"^title: .+$", text, re.M), article.name
        assert re.search(r"^updated: \d{4}-\d{2}-\d{2}$", text, re.M), article.name
        assert 200 <= len(text.split()) <= 650, article.name
