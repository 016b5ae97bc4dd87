"""Request and response bodies, named by direction (`…Create`, `…Public`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageCreate(BaseModel):
    """A customer's chat message."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(description="The message text (not empty, at most the configured limit).")
    client_message_id: str = Field(
        min_length=1,
        max_length=128,
        description="Client-generated id; retrying with the same id never runs the turn twice.",
    )
    create_thread: bool = Field(
        default=False,
        description=(
            "Create the thread if its id is new: the client picks a random UUID (lowercase,"
            " with dashes) and sends the conversation's first message without a"
            " `POST /v1/threads` first. An id another customer holds is 404."
        ),
    )


class ThreadPublic(BaseModel):
    """A conversation."""

    thread_id: str
    created_at: datetime


class MessagePublic(BaseModel):
    """One message of a thread's history."""

    id: str | None
    role: Literal["user", "assistant"]
    agent: str | None
    content: str


class ThreadHistoryPublic(BaseModel):
    """A thread's messages and who holds it now."""

    thread_id: str
    active_agent: str
    messages: list[MessagePublic]
