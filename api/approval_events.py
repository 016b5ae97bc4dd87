"""Live approval changes for the staff console, heard through Postgres LISTEN/NOTIFY.

Migration 0004 makes every new, decided or expired approval send a NOTIFY on
`switchboard_approvals`, delivered on commit to every session listening on the
database, whichever API process made the change. Each process holds one
listening connection of its own (outside the pool: a LISTEN lasts as long as its
session) and fans the changes out to the console streams subscribed to it
(`GET /v1/approvals/events`).

A dropped connection is reopened with backoff. Subscribers hear `down` when it
drops and `resync` when it is back, because changes made in between were not
heard: the console polls while down and reloads its lists on `resync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

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

    def payload(self) -> dict[str, Any]:
        """Return the event's JSON data."""
        if self.kind == "approval":
            return {"approval_id": self.approval_id, "status": self.status}
        return {}


class ApprovalEvents:
    """Listen for approval changes on one connection; fan them out to subscribers."""

    def __init__(
        self, url: str, *, retry_seconds: float = 0.5, max_retry_seconds: float = 15.0
    ) -> None:
        self._url = url
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self._subscribers: set[asyncio.Queue[ApprovalChange]] = set()
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
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[ApprovalChange]]:
        """Receive every change heard while the context is open."""
        queue: asyncio.Queue[ApprovalChange] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def _publish(self, change: ApprovalChange) -> None:
        for queue in list(self._subscribers):
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


def _change_from(payload: str) -> ApprovalChange:
    try:
        data = json.loads(payload)
        return ApprovalChange("approval", str(data["approval_id"]), str(data["status"]))
    except (ValueError, KeyError, TypeError):
        logger.warning("unexpected approval notification %r", payload[:200])
        return ApprovalChange("resync")
