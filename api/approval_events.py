"""Live approval changes, heard through Postgres LISTEN/NOTIFY.

Migrations 0004 and 0005 make every new, decided or expired approval, every
outcome recorded on one and the moment the customer's conversation got that
outcome (`answered`) send a NOTIFY on `switchboard_approvals` naming the
approval, its status and its thread, delivered on commit to every session
listening on the database, whichever API process made the change. Each process
holds one listening connection of its own (outside the pool: a LISTEN lasts as
long as its session) and fans the changes out to the streams subscribed to it:
the staff console's (`GET /v1/approvals/events`, every approval) and the
shopper widget's (`GET /v1/threads/{thread_id}/events`, that thread's only).

A dropped connection is reopened with backoff. Subscribers hear `down` when it
drops and `resync` when it is back, because changes made in between were not
heard: clients poll while down and reload on `resync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import psycopg
from sse_starlette import EventSourceResponse

from api.errors import ApiError
from api.settings import Settings
from api.sse import sse_response, unless_shutdown

logger = logging.getLogger(__name__)

CHANNEL = "switchboard_approvals"
"""The NOTIFY channel migration 0004's trigger sends on."""

QUEUE_SIZE = 100
"""Changes a slow subscriber may fall behind by before it is told to `resync`."""

ChangeKind = Literal["approval", "down", "resync"]


@dataclass(frozen=True)
class ApprovalChange:
    """One thing a console stream is told."""

    kind: ChangeKind
    approval_id: str | None = None
    status: str | None = None
    thread_id: str | None = None
    answered: bool = False
    """Whether the outcome is in the customer's conversation yet."""

    def payload(self) -> dict[str, Any]:
        """Return the event's JSON data."""
        if self.kind == "approval":
            return {
                "approval_id": self.approval_id,
                "status": self.status,
                "thread_id": self.thread_id,
                "answered": self.answered,
            }
        return {}

    def concerns(self, thread_id: str | None) -> bool:
        """Whether a subscriber to `thread_id` (None: every thread) is told this."""
        return thread_id is None or self.kind != "approval" or self.thread_id == thread_id


class ApprovalEventsOff(ApiError):
    """Live approval updates are switched off; clients poll instead."""

    status_code = 503
    code = "approval_events_off"


class ApprovalEvents:
    """Listen for approval changes on one connection; fan them out to subscribers."""

    def __init__(
        self, url: str, *, retry_seconds: float = 0.5, max_retry_seconds: float = 15.0
    ) -> None:
        self._url = url
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self._subscribers: dict[asyncio.Queue[ApprovalChange], str | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Whether changes are being heard right now."""
        return self._listening.is_set()

    async def start(self, timeout: float = 5.0) -> None:
        """Start listening; wait up to `timeout` seconds for the first LISTEN."""
        self._task = asyncio.create_task(self._listen_forever(), name="approval-events")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._listening.wait()

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(
        self, thread_id: str | None = None
    ) -> AsyncIterator[asyncio.Queue[ApprovalChange]]:
        """Receive the changes heard while the context is open.

        With a `thread_id`, only that thread's approvals (and every `down` and
        `resync`, which concern all subscribers).
        """
        queue: asyncio.Queue[ApprovalChange] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[queue] = thread_id
        try:
            yield queue
        finally:
            self._subscribers.pop(queue, None)

    async def sse_frames(
        self, shutdown: anyio.Event, thread_id: str | None = None
    ) -> AsyncIterator[dict]:
        """Yield a subscription's SSE frames until the server shuts down.

        `ready {live}` first; then `approval {approval_id, status, thread_id,
        answered}`, `down` and `resync` as they are heard.
        """
        async with self.subscribe(thread_id) as changes:
            yield {"event": "ready", "data": json.dumps({"live": self.listening})}
            while (change := await unless_shutdown(changes.get(), shutdown)) is not None:
                yield {"event": change.kind, "data": json.dumps(change.payload())}

    def _publish(self, change: ApprovalChange) -> None:
        for queue, thread_id in list(self._subscribers.items()):
            if not change.concerns(thread_id):
                continue
            if queue.full():
                # Too far behind to catch up change by change: start over from the lists.
                while not queue.empty():
                    queue.get_nowait()
                change_to_send = ApprovalChange("resync")
            else:
                change_to_send = change
            queue.put_nowait(change_to_send)

    async def _listen_forever(self) -> None:
        delay, heard_before = self._retry_seconds, False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if heard_before:
                        logger.info("listening for approval changes again")
                        self._publish(ApprovalChange("resync"))
                    heard_before, delay = True, self._retry_seconds
                    async for notify in conn.notifies():
                        self._publish(_change_from(notify.payload))
            except (psycopg.Error, OSError) as error:
                logger.warning(
                    "approval changes are not heard (%s); retrying in %.1fs", error, delay
                )
            if self._listening.is_set():
                self._listening.clear()
                self._publish(ApprovalChange("down"))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_retry_seconds)


def approval_stream(
    events: ApprovalEvents | None,
    settings: Settings,
    *,
    poll_instead: str,
    thread_id: str | None = None,
) -> EventSourceResponse:
    """Answer a request for live approval changes (all, or `thread_id`'s only).

    Raises ApprovalEventsOff, naming the `poll_instead` endpoint, when this
    server does not listen (`SWITCHBOARD_APPROVAL_EVENTS=false`).
    """
    if events is None:
        raise ApprovalEventsOff(
            "Live updates are off on this server (SWITCHBOARD_APPROVAL_EVENTS=false); "
            f"poll {poll_instead} instead."
        )
    shutdown = anyio.Event()
    return sse_response(events.sse_frames(shutdown, thread_id), settings, shutdown)


def _change_from(payload: str) -> ApprovalChange:
    try:
        data = json.loads(payload)
        thread_id = data.get("thread_id")
        return ApprovalChange(
            "approval",
            str(data["approval_id"]),
            str(data["status"]),
            None if thread_id is None else str(thread_id),
            bool(data.get("answered", False)),
        )
    except (ValueError, KeyError, TypeError):
        logger.warning("unexpected approval notification %r", payload[:200])
        return ApprovalChange("resync")
