"""The state a support conversation carries from turn to turn."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, cast

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


def _merge(left: dict[str, str] | None, right: dict[str, str] | None) -> dict[str, str]:
    return {**(left or {}), **(right or {})}


AgentName = Literal["triage", "billing", "returns"]
"""The agents a conversation can be with."""

AGENTS: tuple[AgentName, ...] = ("triage", "billing", "returns")
SPECIALISTS: tuple[AgentName, ...] = ("billing", "returns")

TOOLS_SUFFIX = "_tools"


def tools_node(agent: AgentName) -> str:
    """Return the name of the graph node that runs `agent`'s tool calls."""
    return f"{agent}{TOOLS_SUFFIX}"


def agent_of_node(node: str) -> AgentName | None:
    """Return the agent a graph node belongs to (its model or its tools), else None."""
    agent = node.removesuffix(TOOLS_SUFFIX)
    return cast(AgentName, agent) if agent in AGENTS else None


class SupportState(TypedDict):
    """Checkpointed state of one support thread."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The whole conversation. Updates are merged by message id (`add_messages`):
    a message with a known id replaces it, a new one is appended."""

    active_agent: NotRequired[AgentName]
    """Who holds the conversation; the next turn starts there. Last write wins;
    absent means `triage`."""

    pii_vault: NotRequired[Annotated[dict[str, str], _merge]]
    """Placeholder → original value of redacted PII (`[EMAIL_1]` → address),
    merged turn after turn; tools get the values back inside their call only."""
