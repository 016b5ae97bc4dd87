"""Run one chat turn through the graph and translate it into SSE events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Set
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph

from api.events import (
    DoneEvent,
    ErrorEvent,
    Event,
    GuardEvent,
    HandoffEvent,
    InterruptEvent,
    MessageEvent,
    TokenEvent,
    ToolEvent,
)
from api.graph_runs import CheckpointEvery, astream_turn
from api.observability.callbacks import TokenBudgetExceeded
from db.checkpointer import LATEST_READ, LatestRead
from graph.context import SupportContext
from graph.guarding import guard_turn_input
from graph.guards import Guards
from graph.handoffs import handoff_target
from graph.messages import text_of
from graph.state import agent_of_node

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from api.observability.service import TurnObserver

logger = logging.getLogger(__name__)

RECURSION_LIMIT = 30
"""Graph steps per turn; a model stuck calling tools ends with an error event."""


def thread_config(thread_id: str) -> RunnableConfig:
    """Return the run config addressing `thread_id`'s checkpoints."""
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}


async def run_turn(
    graph: CompiledStateGraph,
    *,
    thread_id: str,
    content: str,
    context: SupportContext,
    timeout_seconds: float,
    observer: TurnObserver | None = None,
    resume: bool = False,
    guards: Guards | None = None,
    checkpoint_every: CheckpointEvery = "turn",
    new_thread: bool = False,
) -> AsyncIterator[Event]:
    """Stream the events of one turn; always ends with `done`.

    Errors never escape: they become an `error` event, logged with the thread id.
    An `observer` (api/observability) measures, traces and records the turn.
    `resume` continues a turn a crashed process left half-done from its last
    checkpoint instead of sending the message again (issue 8).
    With `guards` (the graph's own), the message is guarded here and its safe
    form sent as the run's input, which saves the graph a step; without, the
    graph's input-guard node guards it. `checkpoint_every` says when the thread
    is checkpointed (`api/graph_runs.py`). `new_thread` says the turn's claim
    created the thread, so there is no checkpoint to read.
    """
    async for event in _turn_events(
        graph,
        thread_id,
        content,
        context,
        timeout_seconds,
        observer,
        resume,
        guards,
        checkpoint_every,
        new_thread,
    ):
        if observer is not None:
            observer.saw(event)
        yield event


async def _turn_events(
    graph: CompiledStateGraph,
    thread_id: str,
    content: str,
    context: SupportContext,
    timeout_seconds: float,
    observer: TurnObserver | None,
    resume: bool = False,
    guards: Guards | None = None,
    checkpoint_every: CheckpointEvery = "turn",
    new_thread: bool = False,
) -> AsyncIterator[Event]:
    config = thread_config(thread_id)
    config["metadata"] = {"thread_id": thread_id, "request_id": context.request_id}
    # This state read and the run's first read are one query, or none on a thread
    # this turn created (db/checkpointer.py).
    latest = config["configurable"][LATEST_READ] = LatestRead()
    if new_thread:
        latest.new_thread(thread_id)
    snapshot = await graph.aget_state(config)
    active = snapshot.values.get("active_agent", "triage")
    if observer is not None:
        observer.configure(config, agent=active)
    # A new message on a run paused for staff approval replaces that run (LangGraph
    # drops a pending interrupt when new input arrives). The approval itself lives
    # on in switchboard.approvals and is carried out when decided; here the note
    # that it is waiting becomes history, so the agent knows and can say so.
    notes = [
        AIMessage(content=approval["message"], name=active, id=f"note-{approval['approval_id']}")
        for approval in pending_approvals(snapshot)
    ]
    # A process died mid-turn (the message's lease expired and this claim took it
    # over). If the turn had reached an action, the checkpoint before it holds the
    # message and the tool calls (with `checkpoint_every="step"`, every finished
    # step), so continue from there: sending the message again would ask the model
    # again, and new tool calls would run again (a second refund) and store the
    # message twice. Otherwise the thread is as the previous turn left it, and the
    # message runs from its start (`api/graph_runs.py`).
    graph_input: Any = {"messages": notes}
    # The raw text travels in the run context, never in state: the input guard
    # stores only its redacted form (graph/guarding.py).
    run_context = replace(context, user_message=content)
    if resume and snapshot.next and not snapshot.interrupts:
        logger.info("resuming the crashed turn on thread %s at %s", thread_id, snapshot.next)
        graph_input = None
        # Its input is checkpointed, guarded or not: a run that crashed inside the
        # guard node finds the raw text in the context, as before.
        run_context = replace(run_context, input_guarded=guards is not None)
    try:
        async with asyncio.timeout(timeout_seconds):
            if graph_input is not None and guards is not None:
                payloads: list[dict[str, Any]] = []
                guarded = await guard_turn_input(
                    guards, snapshot.values, content, on_event=payloads.append
                )
                for payload in payloads:
                    if observer is not None:
                        observer.custom(payload)
                    if custom := _custom_event(payload):
                        yield custom
                graph_input = {**guarded.update, "messages": [*notes, *guarded.update["messages"]]}
                run_context = replace(context, input_guarded=True)
                # No graph node guarded it, so the trace's root says what the guard did.
                config["metadata"]["input_guard"] = {
                    "verdict": "blocked" if guarded.blocked else "allowed",
                    "trips": [
                        f"{p['scanner']}:{p['action']}"
                        for p in payloads
                        if p.get("kind") in ("guard", "guard_flagged")
                    ],
                }
            stream = astream_turn(
                graph,
                graph_input,
                config,
                context=run_context,
                stream_mode=["custom", "updates"],
                checkpoint_every=checkpoint_every,
            )
            # Read-only tool calls a model node ran itself were reported as they
            # ran (`tool` custom events); its update must not report them again.
            reported_calls: set[str] = set()
            async for mode, chunk in stream:
                if mode == "custom":
                    if observer is not None:
                        observer.custom(chunk)
                    custom = _custom_event(chunk)
                    if custom:
                        if isinstance(chunk, dict) and chunk.get("call_id"):
                            reported_calls.add(str(chunk["call_id"]))
                        yield custom
                    continue
                for event in _update_events(chunk, active, reported_calls):
                    if isinstance(event, HandoffEvent):
                        active = event.to
                    yield event
    except TimeoutError:
        logger.warning("turn on thread %s timed out after %ss", thread_id, timeout_seconds)
        yield ErrorEvent(
            code="turn_timeout",
            message="This is taking longer than it should. Please try again in a moment.",
        )
    except TokenBudgetExceeded as exceeded:
        logger.warning("turn on thread %s stopped: %s", thread_id, exceeded)
        yield ErrorEvent(
            code="token_budget_exceeded",
            message="This request needs more work than one message allows. Please ask "
            "something narrower, or split it into smaller questions.",
        )
    except GraphRecursionError:
        logger.warning("turn on thread %s hit the recursion limit", thread_id)
        yield ErrorEvent(
            code="turn_too_long",
            message="I got stuck working on that. Could you rephrase or split the request?",
        )
    except Exception:
        logger.exception("turn on thread %s failed", thread_id)
        yield ErrorEvent(
            code="internal_error",
            message="Something went wrong on our side. Please try again.",
        )
    yield DoneEvent()


def _custom_event(payload: Any) -> Event | None:
    """Map the graph's custom stream payloads (graph/guarding.py) to events."""
    if not isinstance(payload, dict):
        return None
    kind = payload.get("kind")
    if kind == "token" and payload.get("delta"):
        return TokenEvent(delta=payload["delta"], agent=payload["agent"])
    if kind == "guard":
        return GuardEvent(
            stage=payload["stage"], scanner=payload["scanner"], action=payload["action"]
        )
    if kind == "tool" and payload.get("status") in ("started", "completed", "failed"):
        return ToolEvent(name=payload["name"], status=payload["status"], agent=payload["agent"])
    if kind == "notice":
        return MessageEvent(role="system", agent=None, content=payload["content"])
    if kind == "blocked":
        return MessageEvent(role="assistant", agent=payload["agent"], content=payload["content"])
    return None


def _update_events(update: dict, active: str, reported_calls: Set[str]) -> list[Event]:
    """Map one step's node updates to events, attributed to the node's agent.

    Tool calls whose ids are in `reported_calls` were streamed as they ran.
    """
    events: list[Event] = []
    for node, value in update.items():
        if node == "__interrupt__":
            events.extend(_interrupt_events(value, active))
            continue
        agent = agent_of_node(node)
        # A node that returned several updates (a tool's Command beside the
        # other tools' messages) is reported as a list of them.
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, dict):
                continue
            new_agent = part.get("active_agent")
            if new_agent and new_agent != active:
                events.append(HandoffEvent(from_agent=active, to=new_agent))
                active = new_agent
            if agent is None:
                continue  # the input guard: its refusal was streamed as it happened
            for message in part.get("messages", []):
                events.extend(_message_events(message, agent, reported_calls))
    return events


def _message_events(message: Any, agent: str, reported_calls: Set[str]) -> list[Event]:
    if isinstance(message, AIMessage):
        calls = [
            c
            for c in message.tool_calls
            if not handoff_target(c["name"]) and c["id"] not in reported_calls
        ]
        if calls:
            return [ToolEvent(name=c["name"], status="started", agent=agent) for c in calls]
        text = text_of(message.content)
        if text and not message.tool_calls:
            return [MessageEvent(role="assistant", agent=agent, content=text, id=message.id)]
    if isinstance(message, ToolMessage) and message.tool_call_id in reported_calls:
        return []
    if isinstance(message, ToolMessage) and not handoff_target(message.name or ""):
        status = "failed" if message.status == "error" else "completed"
        return [ToolEvent(name=message.name or "tool", status=status, agent=agent)]
    return []


def _interrupt_events(interrupts: Any, agent: str) -> list[Event]:
    events: list[Event] = []
    for item in interrupts or ():
        value = getattr(item, "value", None)
        if isinstance(value, dict) and "approval_id" in value:
            events.append(
                InterruptEvent(
                    approval_id=str(value["approval_id"]),
                    action=str(value.get("action", "")),
                    summary=str(value.get("summary", "")),
                )
            )
            if value.get("message"):
                # The run is paused, so no agent reply follows: tell the customer here.
                events.append(
                    MessageEvent(role="assistant", agent=agent, content=str(value["message"]))
                )
    return events


def pending_approvals(snapshot: Any) -> list[dict]:
    """Return the approval payloads a thread's paused run is waiting on."""
    return [
        item.value
        for item in getattr(snapshot, "interrupts", ()) or ()
        if isinstance(getattr(item, "value", None), dict)
        and "approval_id" in item.value
        and item.value.get("message")
    ]
