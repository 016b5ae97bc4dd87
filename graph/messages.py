"""Small helpers over LangChain messages, shared by the graph and the API."""

from __future__ import annotations


def text_of(content: object) -> str:
    """Return the text of message content (a string or provider content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "") if isinstance(block, dict) else str(block) for block in content
        )
    return ""
