"""The SSE events of a chat turn: the schema is defined here, once.

Every event is sent as `event: <name>` with a JSON `data` line. A turn's
stream always ends with `done`; `error` precedes it when the turn failed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventName = Literal["token", "handoff", "tool", "interrupt", "guard", "message", "error", "done"]


class _Event(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    event: EventName = Field(exclude=True)


class TokenEvent(_Event):
    """A piece of the reply as the model writes it."""

    event: Literal["token"] = Field("token", exclude=True)
    delta: str
    agent: str


class HandoffEvent(_Event):
    """The conversation moved to another agent."""

    event: Literal["handoff"] = Field("handoff", exclude=True)
    from_agent: str = Field(alias="from", serialization_alias="from")
    to: str


class ToolEvent(_Event):
    """A tool started or finished."""

    event: Literal["tool"] = Field("tool", exclude=True)
    name: str
    status: Literal["started", "completed", "failed"]
    agent: str | None = None


class InterruptEvent(_Event):
    """An action waits for a support-staff member's approval."""

    event: Literal["interrupt"] = Field("interrupt", exclude=True)
    approval_id: str
    action: str
    summary: str


class GuardEvent(_Event):
    """A guard blocked, redacted or masked something."""

    event: Literal["guard"] = Field("guard", exclude=True)
    stage: Literal["input", "output", "tool"]
    scanner: str
    action: str


class MessageEvent(_Event):
    """A complete message (the final text of an assistant reply)."""

    event: Literal["message"] = Field("message", exclude=True)
    role: Literal["assistant", "user", "system"]
    agent: str | None
    content: str
    id: str | None = None
    """The stored message's id (history's `id`): the key for feedback on a reply."""


class ErrorEvent(_Event):
    """The turn failed; `code` is stable, `message` is for people."""

    event: Literal["error"] = Field("error", exclude=True)
    code: str
    message: str


class DoneEvent(_Event):
    """The turn is over."""

    event: Literal["done"] = Field("done", exclude=True)
    replayed: bool = False
    """True when a retried `client_message_id` replays a finished turn."""


Event = (
    TokenEvent
    | HandoffEvent
    | ToolEvent
    | InterruptEvent
    | GuardEvent
    | MessageEvent
    | ErrorEvent
    | DoneEvent
)

EVENT_TYPES: dict[str, type[_Event]] = {
    "token": TokenEvent,
    "handoff": HandoffEvent,
    "tool": ToolEvent,
    "interrupt": InterruptEvent,
    "guard": GuardEvent,
    "message": MessageEvent,
    "error": ErrorEvent,
    "done": DoneEvent,
}


def event_payload(event: _Event) -> dict:
    """Return the JSON-ready `data` of `event`."""
    return event.model_dump(mode="json", by_alias=True)


def event_json(event: _Event) -> str:
    """Return the `data` of `event` as JSON text, serialised in one pass (pydantic-core)."""
    return event.model_dump_json(by_alias=True)


def event_from_payload(name: str, data: dict) -> _Event:
    """Rebuild an event from its name and `data` (used to replay a stored turn)."""
    return EVENT_TYPES[name].model_validate(data)
