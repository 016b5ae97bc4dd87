"""One agent = a small model ⇄ tools loop, compiled as a subgraph."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.runtime import Runtime

from graph.context import SupportContext
from graph.guarding import ReplyGuard, make_tool_call_guard
from graph.guards import Guards
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
    guards: Guards | None = None,
) -> CompiledStateGraph:
    """Compile the `name` agent: call the model, run requested tools, repeat.

    The loop ends when the model answers without tool calls, or when a handoff
    tool jumps to another agent in the parent graph. Reply text is released
    (streamed and stored) only after the output guard passed it; the raw model
    tokens are kept out of LangGraph's `messages` stream (`nostream`).
    """
    bound = (model.bind_tools(list(tools)) if tools else model).with_config(tags=[TAG_NOSTREAM])

    async def call_model(
        state: SupportState, config: RunnableConfig, runtime: Runtime[SupportContext]
    ) -> dict:
        messages = [SystemMessage(system_prompt), *state["messages"]]
        reply = ReplyGuard(guards, runtime.context or SupportContext(), state, name)
        full: AIMessageChunk | None = None
        async for chunk in bound.astream(messages, config):
            full = chunk if full is None else full + chunk
            await reply.feed(text_of(chunk.content))
        released = await reply.finish()
        response = _as_message(full)
        if text_of(response.content) or released:
            response.content = released
        response.name = name
        _keep_a_single_handoff(response)
        if reply.blocked:
            response.tool_calls = []  # a blocked reply acts on nothing
        return {"messages": [response]}

    graph = StateGraph(SupportState, context_schema=SupportContext)
    graph.add_node("model", call_model)
    graph.add_node(
        "tools",
        ToolNode(
            list(tools),
            handle_tool_errors=format_tool_error,
            awrap_tool_call=make_tool_call_guard(guards),
        ),
    )
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile(name=name)


def text_of(content: object) -> str:
    """Return the text of message content (a string or provider content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "") if isinstance(block, dict) else str(block) for block in content
        )
    return ""


def _as_message(chunk: AIMessageChunk | None) -> AIMessage:
    if chunk is None:
        return AIMessage(content="")
    return AIMessage(
        content=chunk.content,
        tool_calls=chunk.tool_calls,
        invalid_tool_calls=chunk.invalid_tool_calls,
        usage_metadata=chunk.usage_metadata,
        response_metadata=chunk.response_metadata,
        id=chunk.id,
    )


def _keep_a_single_handoff(message: AIMessage) -> None:
    """Drop sibling tool calls when the model both hands off and calls tools.

    A handoff leaves this agent at once, so sibling calls would never get their
    ToolMessages and the history would be invalid for the next model call
    (langgraph-supervisor #120).
    """
    handoffs = [call for call in message.tool_calls if handoff_target(call["name"])]
    if handoffs and len(message.tool_calls) > 1:
        message.tool_calls = handoffs[:1]
