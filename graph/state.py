"""The state a support conversation carries from turn to turn."""

from __future__ import annotations

from typing import Annotated, Literal

from typing_extensions import NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

AgentName = Literal["triage", "billing", "returns"]
"""The agents a conversation can be with."""

AGENTS: tuple[AgentName, ...] = ("triage", "billing", "returns")
SPECIALISTS: tuple[AgentName, ...] = ("billing", "returns")


class SupportState(TypedDict):
    """Checkpointed state of one support thread."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The whole conversation. Updates are merged by message id (`add_messages`):
    a message with a known id replaces it, a new one is appended."""

    active_agent: NotRequired[AgentName]
    """Who holds the conversation; the next turn starts there. Last write wins;
    absent means `triage`."""
