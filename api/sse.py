"""SSE responses: every stream gets the same keep-alive, write timeout, shutdown and headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from sse_starlette import EventSourceResponse

from api.settings import Settings


def sse_response(
    frames: AsyncIterator[dict], settings: Settings, shutdown: anyio.Event
) -> EventSourceResponse:
    """Stream `frames` (`{"event", "data", "id"?}` dicts) as server-sent events.

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
