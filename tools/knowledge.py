"""The `search_knowledge_base` tool: help-center passages for policy and how-to questions.

The tool returns JSON shaped exactly `{"query", "passages": [{"title", "source",
"section", "text", "score"}]}`; the offline model composes cited answers from it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from ingestion.knowledge_base import KnowledgeBase, Passage

DEFAULT_TOP_K = 4
"""Passages returned to the model (`SWITCHBOARD_KB_TOP_K`)."""
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


class KnowledgeSearchInput(BaseModel):
    """Arguments of `search_knowledge_base`."""

    query: str = Field(description="The policy or how-to question, in the customer's words.")


def make_knowledge_tools(
    kb: KnowledgeBase, *, top_k: int = DEFAULT_TOP_K, max_chars: int = MAX_PASSAGE_CHARS
) -> list[BaseTool]:
    """Return the knowledge-base tools bound to `kb` (just `search_knowledge_base`).

    The tool raises `KnowledgeBaseUnavailable` when Chroma cannot be reached.

    Args:
        kb: The process's knowledge base.
        top_k: Passages per answer (pass `settings.kb_top_k`).
        max_chars: Longest passage text, in characters.

    """

    async def search_knowledge_base(query: str) -> str:
        passages = await kb.search(query, top_k) if query.strip() else []
        return render_passages(query, passages, max_chars=max_chars)

    return [
        StructuredTool.from_function(
            coroutine=search_knowledge_base,
            name="search_knowledge_base",
            description=DESCRIPTION,
            args_schema=KnowledgeSearchInput,
        )
    ]


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
