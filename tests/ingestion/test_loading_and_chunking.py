"""Loaders turn files into titled, sectioned documents; chunking splits them stably."""

from __future__ import annotations

import itertools
from pathlib import Path

from ingestion.chunking import chunk_document, split_text
from ingestion.documents import Document, Section
from ingestion.loaders import load_document
from tests.ingestion.helpers import ARTICLES, pdf_bytes


def test_markdown_front_matter_sets_title_and_updated(corpus: Path) -> None:
    document = load_document(corpus / "refunds.md", "help/refunds.md")

    assert document.title == "How refunds work" and document.updated == "2025-05-12"
    assert [s.heading for s in document.sections] == [
        None,
        "How long it takes",
        "Refunds above $200",
    ]


def test_markdown_subsections_carry_their_parent_heading(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "# Title\n\n## Shipping\n\nIntro.\n\n### Costs\n\n$5.95.\n\n```\n# not a heading\n```\n"
    )

    document = load_document(path, "x/a.md")

    assert document.title == "Title"
    assert [s.heading for s in document.sections] == ["Shipping", "Shipping > Costs"]
    assert "# not a heading" in document.sections[-1].text


def test_html_sections_follow_headings_and_skip_scripts(corpus: Path) -> None:
    document = load_document(corpus / "invoices.html", "help/invoices.html")

    assert document.title == "Invoices and receipts" and document.updated == "2025-02-10"
    assert [s.heading for s in document.sections] == [None, "Adding a VAT number"]
    assert "ignore me" not in " ".join(s.text for s in document.sections)


def test_pdf_pages_are_read_as_sections(tmp_path: Path) -> None:
    path = tmp_path / "manual.pdf"
    path.write_bytes(pdf_bytes("Hello from page one.", "And page two."))

    document = load_document(path, "x/manual.pdf")

    assert [(s.heading, s.text) for s in document.sections] == [
        ("Page 1", "Hello from page one."),
        ("Page 2", "And page two."),
    ]


def test_long_sections_are_split_with_overlap_within_the_size() -> None:
    text = " ".join(f"Sentence {i} explains one rule of the store." for i in range(80))

    bodies = split_text(text, chunk_size=400, chunk_overlap=100)

    assert len(bodies) > 5 and all(len(body) <= 400 for body in bodies)
    for previous, current in itertools.pairwise(bodies):
        first_sentence = current.split(". ")[0]
        assert first_sentence in previous  # the next chunk repeats the previous tail


def test_chunk_ids_are_content_hashes_that_ignore_other_sections() -> None:
    def document(second: str) -> Document:
        sections = [Section("A", "Alpha text."), Section("B", second)]
        return Document("help/x.md", "X", "2025-01-01", sections)

    first = chunk_document(document("Beta."), chunk_size=500, chunk_overlap=50, model_id="m")
    again = chunk_document(document("Beta."), chunk_size=500, chunk_overlap=50, model_id="m")
    edited = chunk_document(document("Gamma."), chunk_size=500, chunk_overlap=50, model_id="m")
    other_model = chunk_document(document("Beta."), chunk_size=500, chunk_overlap=50, model_id="n")

    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id == edited[0].id and first[1].id != edited[1].id
    assert {c.id for c in first}.isdisjoint(c.id for c in other_model)


def test_every_sample_article_loads() -> None:
    assert set(ARTICLES) == {
        "refunds.md",
        "shipping.md",
        "plus.md",
        "invoices.html",
        "gift-cards.txt",
    }
