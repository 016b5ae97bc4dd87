"""One agent = a small model ⇄ tools loop, compiled as a subgraph."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from graph.context import SupportContext
from graph.handoffs import handoff_target
from graph.state import AgentName, SupportState


def format_tool_error(error: Exception) -> str:
    """Turn a failing tool into a message the model can recover from."""
    return f"Error: {error}. Check the arguments and try again, or tell the customer."


def build_agent(
    name: AgentName,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str,
) -> CompiledStateGraph:
    """Compile the `name` agent: call the model, run requested tools, repeat.

    The loop ends when the model answers without tool calls, or when a handoff
    tool jumps to another agent in the parent graph.
    """
    bound = model.bind_tools(list(tools)) if tools else model

    async def call_model(state: SupportState, config: RunnableConfig) -> dict:
        messages = [SystemMessage(system_prompt), *state["messages"]]
        response = await bound.ainvoke(messages, config)
        if not isinstance(response, AIMessage):  # pragma: no cover - provider contract
            response = AIMessage(content=str(response.content))
        response.name = name
        _keep_a_single_handoff(response)
        return {"messages": [response]}

    graph = StateGraph(SupportState, context_schema=SupportContext)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=format_tool_error))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile(name=name)


def _keep_a_single_handoff(message: AIMessage) -> None:
    """Drop sibling tool calls when the model both hands off and calls tools.

    A handoff leaves this agent at once, so sibling calls would never get their
    ToolMessages and the history would be invalid for the next model call
    (langgraph-supervisor #120).
    """
    handoffs = [call for call in message.tool_calls if handoff_target(call["name"])]
    if handoffs and len(message.tool_calls) > 1:
        message.tool_calls = handoffs[:1]
