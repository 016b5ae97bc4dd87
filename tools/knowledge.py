"""The `search_knowledge_base` tool: help-center passages for policy and how-to questions.

The tool returns JSON shaped exactly `{"query", "passages": [{"title", "source",
"section", "text", "score"}]}`; the offline model composes cited answers from it.
When Chroma cannot be reached it returns `{"query", "error": UNAVAILABLE}` instead,
so the specialist answers without the help center and says so (issue 8).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from api.worker_threads import run_blocking_io
from graph.read_only import mark_read_only
from ingestion.errors import KnowledgeBaseUnavailable

if TYPE_CHECKING:
    from ingestion.knowledge_base import KnowledgeBase, Passage

logger = logging.getLogger(__name__)

DEFAULT_TOP_K = 4
"""Passages returned to the model (`SWITCHBOARD_KB_TOP_K`)."""
TOOL_NAME = "search_knowledge_base"
"""The help-center search, as agents call it; the output guard treats its passages as public."""
MAX_PASSAGE_CHARS = 1200
"""Longer passages are cut at a word boundary to keep the model's context small."""

DESCRIPTION = (
    "Search the Switchboard Demo Store help center. Use it for any policy or how-to "
    "question: refunds, returns and exchanges, return windows, shipping and delivery, "
    "damaged or missing items, invoices, payment methods, double charges, Switchboard Plus, "
    "warranty, account and privacy, cancellations, gift cards, store credit, price "
    "adjustments and reference formats (INV-, RMA-). Pass the customer's question in their "
    "own words. Answer only from the returned passages and cite their titles; if no passage "
    "answers the question, say so instead of guessing. It does not look up a customer's "
    "orders: use the order tools for that."
)


UNAVAILABLE = (
    "The help center is unavailable right now, so I can't check our policy articles. "
    "Please try again in a few minutes; I can still look up your orders, charges and returns"
)
"""The tool's `error` while Chroma is unreachable (the model relays it)."""


class KnowledgeSource:
    """The process's knowledge base, reopened lazily while Chroma is unreachable.

    `get()` returns the open knowledge base, or tries `opener` again (at most every
    `retry_seconds`) when there is none: the service starts without Chroma and
    picks the help center up once it answers.
    """

    def __init__(
        self,
        kb: KnowledgeBase | None,
        opener: Callable[[], KnowledgeBase | None] | None = None,
        *,
        retry_seconds: float = 30.0,
    ) -> None:
        self.kb = kb
        self.opener = opener
        self.retry_seconds = retry_seconds
        self._last_attempt = time.monotonic()
        self._lock = asyncio.Lock()

    async def get(self) -> KnowledgeBase:
        """Return the knowledge base, reopening it if due.

        Raises:
            KnowledgeBaseUnavailable: none is open and reopening failed or is not due.

        """
        if self.kb is not None:
            return self.kb
        async with self._lock:
            due = time.monotonic() - self._last_attempt >= self.retry_seconds
            if self.kb is None and self.opener is not None and due:
                self._last_attempt = time.monotonic()
                # Reopening reaches for Chroma: a network call (api/worker_threads.py).
                self.kb = await run_blocking_io(self.opener)
                if self.kb is not None:
                    logger.info("knowledge base reconnected")
        if self.kb is None:
            raise KnowledgeBaseUnavailable("the knowledge base is not open")
        return self.kb


class KnowledgeSearchInput(BaseModel):
    """Arguments of `search_knowledge_base`."""

    query: str = Field(description="The policy or how-to question, in the customer's words.")


def make_knowledge_tools(
    kb: KnowledgeBase | KnowledgeSource,
    *,
    top_k: int = DEFAULT_TOP_K,
    max_chars: int = MAX_PASSAGE_CHARS,
) -> list[BaseTool]:
    """Return the knowledge-base tools bound to `kb` (just `search_knowledge_base`).

    While Chroma cannot be reached the tool returns the `UNAVAILABLE` error
    instead of passages; it never fails the turn.

    Args:
        kb: The process's knowledge base, or a `KnowledgeSource` that reopens it.
        top_k: Passages per answer (pass `settings.kb_top_k`).
        max_chars: Longest passage text, in characters.

    """
    source = kb if isinstance(kb, KnowledgeSource) else KnowledgeSource(kb)

    async def search_knowledge_base(query: str) -> str:
        if not query.strip():
            return render_passages(query, [], max_chars=max_chars)
        try:
            passages = await (await source.get()).search(query, top_k)
        except KnowledgeBaseUnavailable as error:
            logger.warning("help-center search unavailable: %s", error)
            return json.dumps({"query": query, "error": UNAVAILABLE}, ensure_ascii=False)
        return render_passages(query, passages, max_chars=max_chars)

    search = StructuredTool.from_function(
        coroutine=search_knowledge_base,
        name=TOOL_NAME,
        description=DESCRIPTION,
        args_schema=KnowledgeSearchInput,
    )
    mark_read_only(search)
    return [search]


def render_passages(query: str, passages: list[Passage], *, max_chars: int) -> str:
    """Serialise passages to the tool's JSON shape, trimming long texts."""
    return json.dumps(
        {
            "query": query,
            "passages": [
                {
                    "title": passage.title,
                    "source": passage.source,
                    "section": passage.section,
                    "text": _trim(passage.text, max_chars),
                    "score": passage.score,
                }
                for passage in passages
            ],
        },
        ensure_ascii=False,
    )


def _trim(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars - 1)
    return text[: cut if cut > max_chars // 2 else max_chars - 1].rstrip() + "…"
