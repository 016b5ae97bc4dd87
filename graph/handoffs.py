"""Handoff tools: how one agent gives the conversation to another."""

from __future__ import annotations

from typing import cast

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


def make_handoff_tool(target: AgentName) -> BaseTool:
    """Build the tool that moves the conversation to `target`.

    The tool returns a `Command` that sets `active_agent` to `target`; the
    edge after the tools node follows `active_agent`, so the next step is the
    target's model. The update carries the ToolMessage answering this tool
    call, so the history stays valid for the next model call (every tool call
    answered).
    """
    name = handoff_tool_name(target)

    @tool(name, description=_DESCRIPTIONS[target])
    def handoff(runtime: ToolRuntime[SupportContext, SupportState]) -> Command:
        tool_message = ToolMessage(
            content=f"Transferred to {target}.",
            name=name,
            tool_call_id=runtime.tool_call_id or "",
        )
        return Command(update={"messages": [tool_message], "active_agent": target})

    return handoff
