"""Parse a `text/event-stream` body into (event, data) pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event with its JSON data."""

    event: str
    data: dict
    id: str | None = None


def parse_sse(body: str) -> list[SseEvent]:
    """Split an SSE body into events (comments and pings skipped)."""
    events: list[SseEvent] = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data, ident = "message", [], None
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line.startswith("id:"):
                ident = line[3:].strip()
        if data and name != "ping":
            events.append(SseEvent(event=name, data=json.loads("\n".join(data)), id=ident))
    return events


async def post_message(
    client: httpx.AsyncClient,
    thread_id: str,
    content: str,
    headers: dict[str, str],
    *,
    client_message_id: str | None = None,
    create_thread: bool = False,
) -> httpx.Response:
    """POST a chat message and return the complete response.

    With `create_thread`, the message creates the thread when its id is new.
    """
    import uuid

    body: dict = {"content": content, "client_message_id": client_message_id or str(uuid.uuid4())}
    if create_thread:
        body["create_thread"] = True
    return await client.post(f"/v1/threads/{thread_id}/messages", json=body, headers=headers)


def names(events: list[SseEvent]) -> list[str]:
    """The event names, in order, with consecutive tokens collapsed to one."""
    out: list[str] = []
    for event in events:
        if event.event == "token" and out and out[-1] == "token":
            continue
        out.append(event.event)
    return out
