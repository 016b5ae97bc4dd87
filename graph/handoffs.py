"""Handoff tools: how one agent gives the conversation to another."""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from graph.context import SupportContext
from graph.state import AgentName, SupportState

HANDOFF_PREFIX = "transfer_to_"

_DESCRIPTIONS: dict[AgentName, str] = {
    "billing": "Transfer the customer to the billing specialist (invoices, charges, "
    "payments, refunds).",
    "returns": "Transfer the customer to the returns specialist (order status, delivery, "
    "returns, exchanges, cancellations).",
    "triage": "Transfer the customer back to triage when their request is not for your team.",
}


def handoff_tool_name(target: AgentName) -> str:
    """Return the tool name that hands the conversation to `target`."""
    return f"{HANDOFF_PREFIX}{target}"


def handoff_target(tool_name: str) -> AgentName | None:
    """Return the agent a handoff tool name points to, or None for other tools."""
    if not tool_name.startswith(HANDOFF_PREFIX):
        return None
    target = tool_name.removeprefix(HANDOFF_PREFIX)
    return cast(AgentName, target) if target in _DESCRIPTIONS else None


def handoff_update(target: AgentName, tool_call_id: str) -> dict[str, Any]:
    """Return the state update of a handoff to `target`, answering its tool call.

    It sets `active_agent` and carries the ToolMessage for `tool_call_id`, so
    the history stays valid for the next model call (every tool call answered).
    """
    message = ToolMessage(
        content=f"Transferred to {target}.",
        name=handoff_tool_name(target),
        tool_call_id=tool_call_id,
    )
    return {"messages": [message], "active_agent": target}


def make_handoff_tool(target: AgentName) -> BaseTool:
    """Build the tool that moves the conversation to `target`.

    The support graph's model node carries out a handoff call itself, in the
    step that made it (`graph/agents.py`): a step of its own would cost a
    checkpoint and do nothing else. The tool is what the model is offered,
    and it works on its own too, wherever a ToolNode runs it: it returns a
    `Command` with the same update (`handoff_update`).
    """

    @tool(handoff_tool_name(target), description=_DESCRIPTIONS[target])
    def handoff(runtime: ToolRuntime[SupportContext, SupportState]) -> Command:
        return Command(update=handoff_update(target, runtime.tool_call_id or ""))

    return handoff
