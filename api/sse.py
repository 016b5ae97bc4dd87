"""SSE responses: every stream gets the same keep-alive, write timeout, shutdown and headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import anyio
from sse_starlette import EventSourceResponse

from api.settings import Settings

T = TypeVar("T")


def sse_response(
    frames: AsyncIterator[dict] | AsyncIterator[bytes], settings: Settings, shutdown: anyio.Event
) -> EventSourceResponse:
    """Stream `frames` (`{"event", "data", "id"?}` dicts, or encoded events) as server-sent events.

    Pings every `SWITCHBOARD_SSE_PING` seconds keep proxies from closing an idle
    stream; a client that blocks a write for `SWITCHBOARD_SSE_SEND_TIMEOUT` is
    dropped; on server shutdown `shutdown` is set and the frames get
    `SWITCHBOARD_SHUTDOWN_GRACE` seconds to finish. Proxies must neither cache
    nor buffer the stream.
    """
    return EventSourceResponse(
        frames,
        ping=settings.sse_ping_seconds,
        send_timeout=settings.sse_send_timeout_seconds,
        shutdown_event=shutdown,
        shutdown_grace_period=settings.shutdown_grace_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def unless_shutdown(next_item: Awaitable[T], shutdown: anyio.Event) -> T | None:
    """Await a stream's next item; give up and return None once the server shuts down.

    Exceptions of `next_item` (`StopAsyncIteration` at the end) propagate.
    """
    item = asyncio.ensure_future(next_item)
    stop = asyncio.ensure_future(shutdown.wait())
    done, pending = await asyncio.wait({item, stop}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return item.result() if item in done else None
