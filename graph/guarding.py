"""Where the guards sit in the graph: before triage, around tools, on every reply.

- `guard_turn_input`: scans a turn's raw message and returns the update that
  stores it: the redacted message, or a withheld marker plus the refusal (no
  model call, no tool call, and the raw blocked text is never stored). The API
  runs it before the graph and sends the result as the run's input
  (`route_turn` then starts at the agent, or ends a blocked turn);
  `make_input_guard_node` runs it inside the graph for callers that did not
  (Studio, tests), on the raw message from the run context
  (`SupportContext.user_message`, never checkpointed) or the input's last
  human message.
- `make_tool_call_guard`: restores redacted values (the customer's own e-mail,
  say) inside the tool call only, and scans tool results for instructions
  hidden in data before the model reads them.
- `ReplyGuard`: wraps a model's token stream so only text that passed the
  output scanners is released, to the stream and to the stored message.

Guard trips reach the API as `custom` stream events: `{"kind": "guard", ...}`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime
from langgraph.types import Command

from graph.context import SupportContext
from graph.guards import Guards, GuardTrip, OutputContext, Vault, restore
from graph.guards.pii import parse_placeholder
from graph.llm.observer import current_observer
from graph.prompts import SYSTEM_PROMPTS
from graph.state import AGENTS, SupportState
from tools.knowledge import TOOL_NAME as KNOWLEDGE_TOOL_NAME

WITHHELD = "[message withheld by the safety check]"
"""What the history keeps of a blocked message: never the raw text."""

RESTORABLE_LABELS = frozenset({"EMAIL", "PHONE"})
"""PII a tool may legitimately need back (contact details). Card numbers, IBANs,
national ids and secrets are redacted for good: no tool takes them from chat,
so their values are never kept, not even in the vault."""


def restorable(values: dict[str, str]) -> dict[str, str]:
    """Keep the vault entries whose kind a tool may need restored."""
    return {
        placeholder: value
        for placeholder, value in values.items()
        if (parsed := parse_placeholder(placeholder)) and parsed[0] in RESTORABLE_LABELS
    }


def vault_from_state(state: SupportState | dict) -> Vault:
    """Rebuild the thread's PII vault from its checkpointed `pii_vault` values."""
    return Vault.from_values(state.get("pii_vault") or {})


def emit(payload: dict[str, Any]) -> None:
    """Send a custom stream event (a no-op outside a streaming run)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not inside a runnable context
        return
    writer(payload)


def trip_payload(trip: GuardTrip) -> dict[str, Any]:
    """Return a guard trip's custom stream payload: `guard` when the user sees it.

    Trips that only flag are not shown to the user but still reach the
    stream, for the guard-trip metrics (issue 7).
    """
    return {"kind": "guard" if trip.user_visible else "guard_flagged", **trip.event()}


def emit_trips(trips: list[GuardTrip]) -> None:
    """Emit each trip's payload (`trip_payload`) on the run's custom stream."""
    for trip in trips:
        emit(trip_payload(trip))


def _latest_user_text(
    state: SupportState, context: SupportContext | None
) -> tuple[str | None, str | None]:
    """Return `(text, message id)` of the turn's input.

    The API sends the raw text in the run context; Studio and tests may send a
    plain `messages` input instead, whose last human message is then guarded
    in place (same id).
    """
    if context is not None and context.user_message is not None:
        return context.user_message, None
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return str(message.content), message.id
        break
    return None, None


@dataclass(frozen=True)
class GuardedInput:
    """What the input guard made of a turn's message."""

    update: dict[str, Any]
    """The state update: the redacted message (and the PII vault), or, for a
    blocked message, the withheld marker and the refusal."""
    blocked: bool


async def guard_turn_input(
    guards: Guards,
    state: SupportState | dict,
    text: str,
    *,
    message_id: str | None = None,
    on_event: Callable[[dict[str, Any]], None] = emit,
) -> GuardedInput:
    """Scan a turn's raw message; return the state update that stores its safe form.

    Guard trips, a refusal and a notice are reported through `on_event` as the
    graph's custom stream payloads (`emit` inside a run). The raw text of a
    blocked message appears nowhere in the update.
    """
    agent = state.get("active_agent", "triage")
    message_id = message_id or str(uuid.uuid4())
    vault = vault_from_state(state)
    verdict = await guards.input.ascan(text, vault)
    for trip in verdict.trips:
        on_event(trip_payload(trip))
    if not verdict.allowed:
        refusal = AIMessage(content=verdict.refusal or "", name=agent)
        on_event({"kind": "blocked", "agent": agent, "content": refusal.content})
        return GuardedInput(
            {"messages": [HumanMessage(content=WITHHELD, id=message_id), refusal]}, blocked=True
        )
    if verdict.user_notice:
        on_event({"kind": "notice", "content": verdict.user_notice})
    return GuardedInput(
        {
            "messages": [HumanMessage(content=verdict.text, id=message_id)],
            "pii_vault": restorable(vault.values),
        },
        blocked=False,
    )


def make_input_guard_node(
    guards: Guards | None,
) -> Callable[[SupportState, Runtime[SupportContext]], Awaitable[Command]]:
    """Build the node that guards a turn's input when the caller has not.

    The API guards the message before the run (`api/turns.py`) and starts the
    graph at the agent (`route_turn`), which saves a step a turn; Studio and
    tests send a plain input, and this node guards it.
    """

    async def guard_input(state: SupportState, runtime: Runtime[SupportContext]) -> Command:
        agent = state.get("active_agent", "triage")
        text, message_id = _latest_user_text(state, runtime.context)
        if text is None:
            return Command(goto=agent)
        if guards is None:
            return Command(
                goto=agent,
                update={
                    "messages": [HumanMessage(content=text, id=message_id or str(uuid.uuid4()))]
                },
            )
        guarded = await guard_turn_input(guards, state, text, message_id=message_id)
        return Command(goto=END if guarded.blocked else agent, update=guarded.update)

    return guard_input


async def route_turn(state: SupportState, runtime: Runtime[SupportContext]) -> str:
    """Where a turn starts: the input guard, or past it when the caller guarded.

    A caller that guarded the message (`SupportContext.input_guarded`) sent
    its safe form as the run's input: an allowed message goes straight to the
    active agent; a blocked one ends the turn, its input already closing with
    the guard's refusal (an AI message; an allowed input ends with the human
    message). A coroutine, like the agents' edge functions (graph/agents.py).
    """
    if runtime.context is None or not runtime.context.input_guarded:
        return "guard_input"
    messages = state.get("messages") or []
    if messages and isinstance(messages[-1], AIMessage):
        return END
    return state.get("active_agent", "triage")


INPUT_GUARD_DESTINATIONS = (*AGENTS, END)
TURN_STARTS = ("guard_input", *AGENTS, END)


def make_tool_call_guard(guards: Guards | None) -> Callable[..., Awaitable[Any]]:
    """Build the ToolNode wrapper: restore PII into arguments, scan results, count the call.

    Each call's outcome and duration go to the turn's observer (`graph/llm/observer.py`).
    """

    async def guard_tool_call(
        request: ToolCallRequest,
        execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]],
    ) -> ToolMessage | Command:
        vault = vault_from_state(request.state)
        if vault.values:
            call = ToolCall(
                **{**request.tool_call, "args": restore(request.tool_call["args"], vault)}
            )
            request = request.override(tool_call=call)
        observer, started, outcome = current_observer(), time.monotonic(), "error"
        try:
            result = await execute(request)
            if not (isinstance(result, ToolMessage) and result.status == "error"):
                outcome = "ok"
        finally:
            if observer is not None:
                seconds = time.monotonic() - started
                observer.tool_finished(request.tool_call["name"], outcome, seconds)
        if guards is None or not isinstance(result, ToolMessage):
            return result
        if not isinstance(result.content, str) or not result.content:
            return result
        verdict = await guards.output.acheck_tool_result(result.content)
        if verdict.clean:
            return result
        emit_trips(verdict.trips)
        return result.model_copy(update={"content": verdict.text})

    return guard_tool_call


def texts_of_this_turn(messages: list[Any]) -> tuple[str, str]:
    """Return the customer's latest message and the help-center passages read since.

    Only the passages: the search query is the model's own words.
    """
    public: list[str] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.content), "\n".join(public)
        if isinstance(message, ToolMessage) and message.name == KNOWLEDGE_TOOL_NAME:
            public += _passage_texts(str(message.content))
    return "", "\n".join(public)


def _passage_texts(content: str) -> list[str]:
    try:
        passages = json.loads(content).get("passages") or []
    except (json.JSONDecodeError, AttributeError):
        return []
    return [str(p.get("text") or "") for p in passages if isinstance(p, dict)]


class ReplyGuard:
    """Release a model's reply text only after it passed the output scanners."""

    def __init__(
        self, guards: Guards | None, context: SupportContext, state: SupportState, agent: str
    ) -> None:
        self.agent = agent
        self.released: list[str] = []
        self.blocked = False
        self._stream = None
        if guards is not None:
            user_text, public_text = texts_of_this_turn(state.get("messages", []))
            self._stream = guards.output.new_stream(
                OutputContext.build(
                    caller_emails=context.caller_emails,
                    caller_order_ids=context.caller_order_ids,
                    system_prompts=list(SYSTEM_PROMPTS.values()),
                    user_text=user_text,
                    public_text=public_text,
                )
            )

    async def feed(self, delta: str) -> None:
        """Pass `delta` through the scanners; stream what they release."""
        if self.blocked or not delta:
            return
        if self._stream is None:
            self._release(delta)
            return
        for release in await self._stream.afeed(delta):
            self._handle(release)

    async def finish(self) -> str:
        """Flush the held-back text; return the reply exactly as released."""
        if self._stream is not None and not self.blocked:
            for release in await self._stream.afinish():
                self._handle(release)
        return "".join(self.released)

    def _handle(self, release: Any) -> None:
        emit_trips(list(release.trips))
        if release.blocked:
            self.blocked = True
        self._release(release.text)

    def _release(self, text: str) -> None:
        if text:
            self.released.append(text)
            emit({"kind": "token", "delta": text, "agent": self.agent})
