"""Builders for knowledge-base tests: small corpora, a counting embedder, a Chroma server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from api.settings import Settings
from ingestion.embeddings import LocalEmbedder, get_embedder
from tests.processes import free_port, stop, wait_until_ok

ARTICLES = {
    "refunds.md": """---
title: How refunds work
updated: 2025-05-12
---
# How refunds work

Refunds go back to the original payment method.

## How long it takes

Your bank shows the refund within 5-10 business days after we issue it.

## Refunds above $200

A refund above $200 must be approved by a support team member before it is released.
""",
    "shipping.md": """---
title: Shipping within the United States
updated: 2025-07-01
---
# Shipping within the United States

## Options and costs

Standard shipping takes 5-7 business days and costs $5.95, free on orders of $75 or more.
Overnight shipping costs $24.95 and must be ordered before noon Eastern Time.
""",
    "plus.md": """---
title: Switchboard Plus membership
updated: 2025-08-04
---
# Switchboard Plus membership

Switchboard Plus costs $59 per year and includes free expedited shipping and free returns.

## Cancelling

Cancel any time in Account > Membership; benefits last until the end of the paid period.
""",
    "invoices.html": """<html><head><title>Invoices and receipts</title>
<meta name="updated" content="2025-02-10"><script>var tracking = "ignore me";</script></head>
<body><h1>Invoices and receipts</h1>
<p>Every order has one invoice numbered INV- followed by the order number, like INV-1042.</p>
<h2>Adding a VAT number</h2><p>Business customers can add a VAT number within 30 days.</p>
</body></html>
""",
    "gift-cards.txt": "Gift cards never expire and cannot be exchanged for cash.\n\n"
    "You can use up to three gift cards on one order.\n",
}
"""A five-file corpus: three Markdown articles, one HTML page and one text file."""


class CountingEmbedder:
    """The real embedder, counting every text it is asked to embed."""

    def __init__(self, inner: LocalEmbedder | None = None) -> None:
        self.inner = inner or get_embedder()
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def write_corpus(root: Path, articles: dict[str, str] | None = None) -> Path:
    """Write articles (default `ARTICLES`) under `root` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (articles or ARTICLES).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def make_kb_settings(data_dir: Path, **overrides: object) -> Settings:
    """Return settings that ignore `.env` and the environment's Chroma URL."""
    values: dict[str, object] = {
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_KB_COLLECTION": "test-kb",
        "CHROMA_URL": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def pdf_bytes(*pages: str) -> bytes:
    """Build a minimal valid PDF with one line of Helvetica text per page."""
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    font = 3 + 2 * count
    for index, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * index} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@contextmanager
def chroma_server(path: Path, *, port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Run `chroma run` as a subprocess and yield its URL once the heartbeat answers.

    Pass `port` to start a server again where an earlier one ran (outage tests).
    """
    executable = shutil.which("chroma")
    assert executable, "the `chroma` CLI from the chromadb package is not on PATH"
    port = port or free_port()
    process = subprocess.Popen(
        [executable, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{url}/api/v2/heartbeat", process, timeout=timeout, what="`chroma run`")
        yield url
    finally:
        stop(process, timeout=10)
