"""Ingestion specification: incremental, content-hashed, pruning, and tolerant of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.settings import Settings
from ingestion.errors import IngestPathNotFound
from ingestion.knowledge_base import KnowledgeBase
from ingestion.manifest import manifest_path
from tests.ingestion.helpers import CountingEmbedder, pdf_bytes


def _rows(kb: KnowledgeBase) -> dict[str, dict]:
    result = kb.collection.get(include=["metadatas"])
    return dict(zip(result["ids"], result["metadatas"], strict=True))


def test_ingesting_a_corpus_indexes_every_supported_file_with_metadata(
    kb: KnowledgeBase, corpus: Path
) -> None:
    (corpus / "notes.docx").write_bytes(b"not supported, silently ignored")

    report = kb.ingest([corpus], progress=False)

    assert report.files_seen == 5 and report.files_new == 5 and not report.failures
    assert report.chunks_added == kb.size == kb.collection.count() > 5
    metadata = {(m["source"], m["section"]): m for m in _rows(kb).values()}
    refunds = metadata["help/refunds.md", "Refunds above $200"]
    assert refunds["title"] == "How refunds work"
    assert refunds["updated"] == "2025-05-12"
    html = metadata["help/invoices.html", "Adding a VAT number"]
    assert html["title"] == "Invoices and receipts" and html["updated"] == "2025-02-10"
    text = next(m for (source, _), m in metadata.items() if source == "help/gift-cards.txt")
    assert text["title"] == "Gift cards" and text["updated"].startswith("20")


def test_reingesting_unchanged_corpus_embeds_nothing(
    kb: KnowledgeBase, corpus: Path, embedder: CountingEmbedder
) -> None:
    first = kb.ingest([corpus], progress=False)
    embedder.embedded.clear()

    again = kb.ingest([corpus], progress=False)

    assert embedder.embedded == []
    assert again.files_unchanged == 5 and again.chunks_unchanged == first.chunks_added
    assert (again.chunks_added, again.chunks_updated, again.chunks_removed) == (0, 0, 0)


def test_reopening_the_store_and_reingesting_embeds_nothing(
    kb: KnowledgeBase, kb_settings: Settings, corpus: Path, embedder: CountingEmbedder
) -> None:
    kb.ingest([corpus], progress=False)
    embedder.embedded.clear()

    reopened = KnowledgeBase.open(kb_settings, embedder=embedder)
    reopened.ingest([corpus], progress=False)

    assert embedder.embedded == []
    assert reopened.size == kb.size


def test_lost_manifest_is_rebuilt_from_chroma_without_embedding(
    kb: KnowledgeBase, kb_settings: Settings, corpus: Path, embedder: CountingEmbedder
) -> None:
    kb.ingest([corpus], progress=False)
    manifest_path(kb_settings.data_dir, kb_settings.kb_collection).unlink()
    embedder.embedded.clear()

    report = kb.ingest([corpus], progress=False)

    assert embedder.embedded == [] and report.chunks_added == 0


def test_changing_one_file_replaces_only_its_chunks(
    kb: KnowledgeBase, corpus: Path, embedder: CountingEmbedder
) -> None:
    kb.ingest([corpus], progress=False)
    before = _rows(kb)
    refunds = corpus / "refunds.md"
    refunds.write_text(
        refunds.read_text().replace("5-10 business days", "3-5 business days"), encoding="utf-8"
    )
    embedder.embedded.clear()

    report = kb.ingest([corpus], progress=False)

    after = _rows(kb)
    assert report.files_changed == 1 and report.files_unchanged == 4
    assert report.chunks_added == 1 and report.chunks_removed == 1
    assert len(embedder.embedded) == 1 and "3-5 business days" in embedder.embedded[0]
    removed, added = set(before) - set(after), set(after) - set(before)
    assert {before[i]["source"] for i in removed} == {"help/refunds.md"}
    assert {after[i]["source"] for i in added} == {"help/refunds.md"}
    assert all(after[i] == before[i] for i in set(before) & set(after))
    texts = [p.text for p in kb.search_sync("how long until the refund shows", 5)]
    assert any("3-5 business days" in text for text in texts)
    assert not any("5-10 business days" in text for text in texts)


def test_changing_only_front_matter_updates_metadata_without_embedding(
    kb: KnowledgeBase, corpus: Path, embedder: CountingEmbedder
) -> None:
    kb.ingest([corpus], progress=False)
    plus = corpus / "plus.md"
    plus.write_text(plus.read_text().replace("2025-08-04", "2025-09-01"), encoding="utf-8")
    embedder.embedded.clear()

    report = kb.ingest([corpus], progress=False)

    assert embedder.embedded == [] and report.chunks_updated == 2
    dates = {m["updated"] for m in _rows(kb).values() if m["source"] == "help/plus.md"}
    assert dates == {"2025-09-01"}


def test_prune_deletes_chunks_of_removed_files(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus], progress=False)
    (corpus / "shipping.md").unlink()

    kept = kb.ingest([corpus], progress=False)
    assert "help/shipping.md" in {m["source"] for m in _rows(kb).values()}
    assert kept.files_removed == 0

    pruned = kb.ingest([corpus], prune=True, progress=False)

    assert pruned.files_removed == 1 and pruned.chunks_removed >= 1
    assert "help/shipping.md" not in {m["source"] for m in _rows(kb).values()}
    assert all(p.source != "help/shipping.md" for p in kb.search_sync("shipping costs", 5))


def test_prune_leaves_files_ingested_from_other_roots(
    kb: KnowledgeBase, corpus: Path, tmp_path: Path
) -> None:
    other = tmp_path / "policies"
    other.mkdir()
    (other / "warranty.md").write_text("# Warranty\n\nChargers have a one-year warranty.\n")
    kb.ingest([corpus, other], progress=False)

    kb.ingest([corpus], prune=True, progress=False)

    assert "policies/warranty.md" in {m["source"] for m in _rows(kb).values()}


def test_corrupt_pdf_and_bad_encoding_are_skipped_with_a_clear_message(
    kb: KnowledgeBase, corpus: Path
) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf")
    (corpus / "latin1.md").write_bytes("# Caf\xe9 policy\n\nR\xe9sum\xe9".encode("latin-1"))
    (corpus / "manual.pdf").write_bytes(pdf_bytes("Power banks hold 10000 mAh.", "Page two."))

    report = kb.ingest([corpus], progress=False)

    assert len(report.failures) == 2
    broken, latin1 = sorted(report.failures)
    assert broken.startswith("'help/broken.pdf'") and "not a readable PDF" in broken
    assert latin1.startswith("'help/latin1.md'") and "not valid UTF-8" in latin1
    assert "re-save it as UTF-8" in latin1 and "Skipped 'help/latin1.md'" in report.summary()
    sources = {m["source"] for m in _rows(kb).values()}
    assert "help/manual.pdf" in sources and "help/refunds.md" in sources
    assert {"help/broken.pdf", "help/latin1.md"}.isdisjoint(sources)


def test_pdf_pages_become_sections(kb: KnowledgeBase, tmp_path: Path) -> None:
    manual = tmp_path / "manuals" / "power-bank.pdf"
    manual.parent.mkdir()
    manual.write_bytes(pdf_bytes("Power banks hold 10000 mAh.", "Charge them with USB-C."))

    kb.ingest([manual], progress=False)

    sections = {m["section"] for m in _rows(kb).values() if m["source"] == "manuals/power-bank.pdf"}
    assert sections == {"Page 1", "Page 2"}


def test_manifest_records_each_file_hash_and_chunk_ids(
    kb: KnowledgeBase, kb_settings: Settings, corpus: Path
) -> None:
    kb.ingest([corpus], progress=False)

    manifest = json.loads(manifest_path(kb_settings.data_dir, "test-kb").read_text())

    entry = manifest["files"]["help/refunds.md"]
    assert len(entry["content_hash"]) == 64
    refund_ids = {i for i, m in _rows(kb).items() if m["source"] == "help/refunds.md"}
    assert set(entry["chunk_ids"]) == refund_ids
    assert manifest["config"]["chunk_size"] == kb_settings.chunk_size


def test_ingesting_a_missing_path_raises_a_clear_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(IngestPathNotFound, match="does not exist"):
        kb.ingest([tmp_path / "nope"], progress=False)
