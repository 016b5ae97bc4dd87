"""Tools that only read: an agent runs them inside its model step.

A tool marked read-only (`mark_read_only`) changes nothing a customer could
notice when it runs twice: it looks up orders, invoices, payments, returns or
the help center (and writes an audit row). Such calls need no step of their
own: the agent's model node runs them and asks the model again, in one
LangGraph step with one checkpoint (`graph/agents.py`). Every other tool (a
refund, a return, a cancellation, a handoff) still runs in the agent's tools
node, a step of its own, checkpointed before and after, where approvals can
pause it with `interrupt()`.

Resuming after a crash re-runs a node from its start, so a read-only call may
run again then; an action never does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import BaseTool

READ_ONLY = "read_only"
"""The key of a tool's `metadata` that marks it read-only."""

MAX_INLINE_TOOL_ROUNDS = 4
"""Rounds of read-only calls a turn runs inside model steps. Later rounds go through the
tools node, a step each, so the turn's recursion limit still bounds the model calls of a
model that never stops looking things up (about as many as before lookups ran inline)."""


def mark_read_only(*tools: BaseTool) -> None:
    """Mark `tools` as safe to run again: the model node may run them itself.

    Never mark a tool that changes something or calls `interrupt()`: on resume
    the whole model step re-runs, model calls included.
    """
    for tool in tools:
        tool.metadata = {**(tool.metadata or {}), READ_ONLY: True}


def read_only_names(tools: Iterable[BaseTool]) -> frozenset[str]:
    """Return the names of the read-only tools among `tools`."""
    return frozenset(t.name for t in tools if (t.metadata or {}).get(READ_ONLY))


def runs_inline(message: AIMessage, read_only: Collection[str]) -> bool:
    """Whether the model node runs `message`'s tool calls itself.

    Only when every call is read-only and none is malformed: a batch with an
    action in it goes to the tools node whole.
    """
    return (
        bool(message.tool_calls)
        and not message.invalid_tool_calls
        and all(call["name"] in read_only for call in message.tool_calls)
    )


def lookup_rounds(messages: list[AnyMessage], read_only: Collection[str]) -> int:
    """Count this turn's model replies (since the customer's message) that only looked up."""
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and runs_inline(message, read_only):
            rounds += 1
    return rounds
