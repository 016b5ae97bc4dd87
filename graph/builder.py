"""Build the support graph: triage hands off to billing or returns, and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph

from graph.agents import add_agent
from graph.context import SupportContext
from graph.guarding import (
    INPUT_GUARD_DESTINATIONS,
    TURN_STARTS,
    make_input_guard_node,
    route_turn,
)
from graph.guards import Guards
from graph.handoffs import make_handoff_tool
from graph.prompts import SYSTEM_PROMPTS
from graph.state import AGENTS, AgentName, SupportState
from graph.tool_introspection import remember_tool_introspection
from graph.window import DEFAULT_CONTEXT_MAX_TOKENS

Toolkit = Mapping[AgentName, Sequence[BaseTool]]
"""Domain tools per agent (handoff tools are added by the builder)."""

HANDOFFS: dict[AgentName, tuple[AgentName, ...]] = {
    "triage": ("billing", "returns"),
    "billing": ("returns", "triage"),
    "returns": ("billing", "triage"),
}


def build_graph(
    model: BaseChatModel,
    toolkit: Toolkit | None = None,
    *,
    guards: Guards | None = None,
    context_max_tokens: int = DEFAULT_CONTEXT_MAX_TOKENS,
) -> StateGraph[SupportState, SupportContext, SupportState, SupportState]:
    """Return the uncompiled support graph.

    `START → guard_input → <active agent>`; each agent is a model node and a
    tools node (`graph/agents.py`), and a handoff moves on to another agent's
    model. The input guard ends a blocked turn before any model or tool runs.
    A caller that guarded the message itself (the API, `api/turns.py`) starts
    at the active agent instead (`graph.guarding.route_turn`).
    Persistence is the caller's business: the API compiles it with the
    Postgres saver, `graph/studio.py` without one, tests with whatever saver
    they need.

    Args:
        model: The chat model every agent uses.
        toolkit: Extra domain tools per agent; each agent only gets its own.
        guards: Input, output and tool-result guards; `None` (tests only)
            passes text through unscanned.
        context_max_tokens: Approximate tokens of conversation each model call
            sees (`SWITCHBOARD_CONTEXT_MAX_TOKENS`); the state keeps everything.

    """
    toolkit = toolkit or {}
    remember_tool_introspection()
    graph = StateGraph(SupportState, context_schema=SupportContext)
    graph.add_node(  # type: ignore[call-overload]  # langgraph's overloads miss (state, runtime) nodes
        "guard_input", make_input_guard_node(guards), destinations=INPUT_GUARD_DESTINATIONS
    )
    graph.add_conditional_edges(START, route_turn, {n: n for n in TURN_STARTS})
    for agent in AGENTS:
        tools = [*toolkit.get(agent, ()), *(make_handoff_tool(t) for t in HANDOFFS[agent])]
        add_agent(
            graph,
            agent,
            model,
            tools,
            SYSTEM_PROMPTS[agent],
            guards,
            context_max_tokens,
            handoffs=HANDOFFS[agent],
        )
    return graph
