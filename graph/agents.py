"""One agent = a small model ⇄ tools loop: two nodes of the support graph.

The agents' nodes live in the one support graph rather than in a subgraph
each: a subgraph runs its own Pregel loop and writes its own checkpoints, which
more than doubled the Postgres writes of a turn (bench/turns.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM
from langgraph.graph import END, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from graph.context import SupportContext
from graph.guarding import ReplyGuard, emit, make_tool_call_guard
from graph.guards import Guards
from graph.handoffs import handoff_target, handoff_update
from graph.llm.errors import StreamInterruptedError
from graph.llm.fallback import START_AT, FallbackChatModel
from graph.llm.observer import current_observer, model_label
from graph.messages import text_of
from graph.read_only import (
    MAX_INLINE_TOOL_ROUNDS,
    lookup_rounds,
    read_only_names,
    runs_inline,
)
from graph.state import AgentName, SupportState, tools_node
from graph.window import DEFAULT_CONTEXT_MAX_TOKENS, fit_to_budget

INTERRUPTED_NOTICE = (
    "\n\n(Sorry, my reply was cut off by a connection problem. "
    "Please ask again if anything is missing.)"
)
"""Closes a reply whose stream broke after part of it reached the customer."""

GAVE_UP_ON_TOOLS = (
    "Sorry, I couldn't complete that step just now. Could you tell me again what you need?"
)
"""Said when the model keeps sending tool calls that cannot be run."""

MAX_INVALID_TOOL_ROUNDS = 2
"""Malformed tool-call rounds per turn that the model is asked to correct."""


def format_tool_error(error: Exception) -> str:
    """Turn a failing tool into a message the model can recover from."""
    return f"Error: {error}. Check the arguments and try again, or tell the customer."


def add_agent(
    graph: StateGraph[SupportState, SupportContext, SupportState, SupportState],
    name: AgentName,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str,
    guards: Guards | None = None,
    context_max_tokens: int = DEFAULT_CONTEXT_MAX_TOKENS,
    *,
    handoffs: Sequence[AgentName] = (),
) -> None:
    """Add the `name` agent to `graph`: call the model, run requested tools, repeat.

    Two nodes: `name` calls the model, `tools_node(name)` runs its tool calls.
    Calls of read-only tools only (`graph/read_only.py`) the model node runs
    itself and asks the model again, up to `MAX_INLINE_TOOL_ROUNDS` times a
    turn, so a lookup costs no step and no checkpoint of its own. The loop ends when
    the model answers without tool calls, or when it hands off (to one of
    `handoffs`): the model node answers the handoff call itself
    and sets `active_agent`, and the next step is that agent's model. Reply
    text is released (streamed and stored) only after the output guard passed
    it; the raw model tokens are kept out of LangGraph's `messages` stream
    (`nostream`).

    The model sees the system prompt and the recent conversation within
    `context_max_tokens` (`graph/window.py`). Issue 8's failure modes end in a
    valid history and an answer: a stream that breaks before anything reached
    the customer restarts on the next model of the chain; one that breaks
    after keeps its text, closes with a notice and acts on nothing; malformed
    tool calls (arguments that are not JSON) are answered with error
    ToolMessages so the model can correct them, at most
    `MAX_INVALID_TOOL_ROUNDS` times a turn; unknown tool names get ToolNode's
    error ToolMessage.
    """
    chat_model, call_kwargs = _unbound(model.bind_tools(list(tools)) if tools else model)
    system = SystemMessage(system_prompt)
    tools_name = tools_node(name)
    tool_node = ToolNode(
        list(tools),
        name=tools_name,
        handle_tool_errors=format_tool_error,
        awrap_tool_call=make_tool_call_guard(guards),
    )
    read_only = read_only_names(tools)
    label = model_label(model)
    # A fallback chain reports its members' failures itself (`model_event`).
    reports_failures = isinstance(model, FallbackChatModel)

    async def call_model(
        state: SupportState, config: RunnableConfig, runtime: Runtime[SupportContext]
    ) -> dict:
        """Ask the model; run its read-only calls here and ask again, up to a limit a turn."""
        produced: list[AnyMessage] = []
        while True:
            seen = cast(SupportState, {**state, "messages": [*state["messages"], *produced]})
            update = await reply(seen, config, runtime)
            response = update["messages"][0]
            produced += update["messages"]
            if (
                "active_agent" in update
                or not runs_inline(response, read_only)
                or lookup_rounds(seen["messages"], read_only) >= MAX_INLINE_TOOL_ROUNDS
            ):
                return {**update, "messages": produced}
            produced += await _run_inline(tool_node, seen, response, name, config)

    async def reply(
        state: SupportState, config: RunnableConfig, runtime: Runtime[SupportContext]
    ) -> dict:
        """One model call: the guarded reply, a handoff carried out, malformed calls answered."""
        messages = fit_to_budget([system, *state["messages"]], context_max_tokens)
        observer = current_observer()
        prompt_chars = sum(len(text_of(m.content)) for m in messages) if observer else 0
        start_at, interrupted = 0, False
        while True:
            reply = ReplyGuard(guards, runtime.context or SupportContext(), state, name)
            # A model that cannot stream yields its reply as one AIMessage.
            chunks: list[AIMessageChunk | AIMessage] = []
            kwargs = {START_AT: start_at} if start_at else {}
            if observer is not None:
                observer.model_starting()  # raises once the turn spent its token budget
            try:
                stream = chat_model.astream(
                    messages, _not_streamed(config), **call_kwargs, **kwargs
                )
                async for chunk in stream:
                    chunks.append(chunk)
                    await reply.feed(text_of(chunk.content))
            except StreamInterruptedError as broken:
                if observer is not None:
                    observer.model_finished(label, prompt_chars, None)
                if not reply.released:
                    # Nobody saw the partial reply: discard it, go on down the chain.
                    start_at = broken.index + 1
                    continue
                interrupted = True
                await reply.feed(INTERRUPTED_NOTICE)
            except Exception:
                if observer is not None and not reports_failures:
                    observer.model_finished(label, prompt_chars, None)
                raise
            break
        full = _merge(chunks)
        if observer is not None and not interrupted:
            observer.model_finished(label, prompt_chars, full)
        gave_up = False
        if full is not None and full.invalid_tool_calls and not interrupted:
            gave_up = _invalid_rounds(state["messages"]) >= MAX_INVALID_TOOL_ROUNDS
            if gave_up and not text_of(full.content) and not full.tool_calls:
                await reply.feed(GAVE_UP_ON_TOOLS)
        released = await reply.finish()
        response = _as_message(full)
        if text_of(response.content) or released:
            response.content = released
        response.name = name
        _keep_a_single_handoff(response)
        if reply.blocked or interrupted:
            # A blocked or broken-off reply acts on nothing (a cut-off tool call's
            # arguments may parse as valid but wrong JSON).
            response.tool_calls, response.invalid_tool_calls = [], []
        if interrupted:
            response.response_metadata = {
                **response.response_metadata,
                "degraded": True,
                "interrupted": True,
            }
        if gave_up or (response.invalid_tool_calls and _is_handing_off(response)):
            response.invalid_tool_calls = []
        if target := _handoff_to(response, handoffs):
            # Carried out here, not in the tools node: a step of its own would
            # cost a checkpoint and do nothing else.
            handed = handoff_update(target, response.tool_calls[0]["id"] or "")
            return {**handed, "messages": [response, *handed["messages"]]}
        return {"messages": [response, *_answer_invalid_calls(response)]}

    graph.add_node(name, call_model)  # type: ignore[call-overload]  # langgraph's overloads miss (state, config, runtime)
    graph.add_node(tools_name, tool_node)

    # Edge functions are coroutines: LangGraph runs a plain `def` one in a worker
    # thread, a hop that costs more than the routing (bench/turns.py).
    async def after_model(state: SupportState) -> str:
        """Follow a handoff; run the called tools; let it correct malformed calls; else end."""
        messages = state["messages"]
        if messages and _answers_a_handoff(messages[-1]):
            return state.get("active_agent", name)
        latest = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
        if latest is not None and latest.tool_calls:
            return tools_name
        if messages and isinstance(messages[-1], ToolMessage):
            return name  # only malformed calls, answered with errors by the model node
        return END

    async def after_tools(state: SupportState) -> str:
        """Back to this agent's model, or on to the agent a handoff made active."""
        return state.get("active_agent", "triage")

    graph.add_conditional_edges(
        name,
        after_model,
        {tools_name: tools_name, name: name, END: END, **{agent: agent for agent in handoffs}},
    )
    graph.add_conditional_edges(
        tools_name, after_tools, {agent: agent for agent in (name, *handoffs)}
    )


async def _run_inline(
    tool_node: ToolNode,
    state: SupportState,
    call: AIMessage,
    agent: str,
    config: RunnableConfig,
) -> list[ToolMessage]:
    """Run `call`'s read-only tool calls in the model node, as the tools node would.

    The same ToolNode (argument PII restored, results guarded, errors turned
    into messages); the customer sees each call start and finish as it
    happens, as the `tool` custom events say (`api/turns.py`).
    """
    for tool_call in call.tool_calls:
        emit(_tool_payload(tool_call["name"], "started", agent, tool_call["id"]))
    output = await tool_node.ainvoke({**state, "messages": [*state["messages"], call]}, config)
    if not isinstance(output, dict):
        raise TypeError(f"a read-only tool returned {type(output).__name__}, not a message")
    results: list[ToolMessage] = output["messages"]
    for result in results:
        status = "failed" if result.status == "error" else "completed"
        emit(_tool_payload(result.name or "tool", status, agent, result.tool_call_id))
    return results


def _unbound(runnable: Runnable) -> tuple[Runnable, dict[str, Any]]:
    """Split what `bind_tools` returned into the model and the arguments it binds.

    `RunnableBinding.astream` merges its own config into the call's on every call
    (a node's config is large) and adds a generator layer per chunk: with the
    system prompt's message built once, 1.5 % of a benchmark turn's CPU
    (docs/performance.md). A binding that only carries arguments is called as
    its model with them instead.
    """
    if (
        isinstance(runnable, RunnableBinding)
        and not runnable.config
        and not runnable.config_factories
    ):
        return runnable.bound, dict(runnable.kwargs)
    return runnable, {}


def _not_streamed(config: RunnableConfig) -> RunnableConfig:
    """Tag a model call so that LangGraph's `messages` stream leaves its raw tokens out."""
    return {**config, "tags": [*(config.get("tags") or ()), TAG_NOSTREAM]}


def _tool_payload(name: str, status: str, agent: str, call_id: str | None) -> dict:
    return {"kind": "tool", "name": name, "status": status, "agent": agent, "call_id": call_id}


def _merge(chunks: list[AIMessageChunk | AIMessage]) -> AIMessageChunk | AIMessage | None:
    """Merge a reply's chunks once (`+` per chunk builds a new message each time).

    A model that cannot stream yields its whole reply as one `AIMessage`.
    """
    if len(chunks) < 2:
        return chunks[0] if chunks else None
    # Several only come from a streaming model, and those are all chunks.
    return add_ai_message_chunks(*cast(list[AIMessageChunk], chunks))


def _as_message(chunk: AIMessageChunk | AIMessage | None) -> AIMessage:
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


def _answer_invalid_calls(message: AIMessage) -> list[ToolMessage]:
    """Answer each malformed tool call with an error the model can act on.

    LangChain keeps calls whose arguments are not valid JSON in
    `invalid_tool_calls`, and providers' clients send them back as tool calls;
    without an answer each, the next request would be refused.
    """
    answers = []
    for call in message.invalid_tool_calls:
        if not call.get("id"):
            call["id"] = f"call_invalid_{uuid.uuid4().hex[:12]}"
        answers.append(
            ToolMessage(
                content=(
                    f"Error: the arguments of {call.get('name')!r} were not valid JSON "
                    f"({call.get('error') or 'could not parse'}). Call the tool again with "
                    "a JSON object of arguments, or answer the customer."
                ),
                tool_call_id=call["id"],
                name=call.get("name") or "invalid_tool_call",
                status="error",
            )
        )
    return answers


def _invalid_rounds(messages: list[AnyMessage]) -> int:
    """Count this turn's model replies with malformed tool calls so far."""
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.invalid_tool_calls:
            rounds += 1
    return rounds


def _is_handing_off(message: AIMessage) -> bool:
    return any(handoff_target(call["name"]) for call in message.tool_calls)


def _handoff_to(message: AIMessage, handoffs: Sequence[AgentName]) -> AgentName | None:
    """Return the agent `message` hands off to, if it is one this agent may reach.

    `_keep_a_single_handoff` has left a handoff call alone in its message.
    """
    if len(message.tool_calls) != 1:
        return None
    target = handoff_target(message.tool_calls[0]["name"])
    return target if target in handoffs else None


def _answers_a_handoff(message: AnyMessage) -> bool:
    return (
        isinstance(message, ToolMessage)
        and message.status != "error"
        and handoff_target(message.name or "") is not None
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
