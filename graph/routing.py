"""Where a turn starts."""

from __future__ import annotations

from graph.state import AgentName, SupportState


def route_to_active_agent(state: SupportState) -> AgentName:
    """Send the new message to the agent holding the conversation (triage at first)."""
    return state.get("active_agent", "triage")
