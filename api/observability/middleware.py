"""Per-request id, HTTP metrics and one access-log line, as plain ASGI middleware.

Plain ASGI (not `BaseHTTPMiddleware`) so streamed SSE responses pass through
untouched and the request id context variable reaches the turn's task.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability.logs import request_id_var
from api.observability.metrics import Metrics

logger = logging.getLogger("switchboard.access")

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ObservabilityMiddleware:
    """Give each request an id (`X-Request-ID`, echoed back), count it, log it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route_template(scope)
            if route != "/metrics":  # scrapes would dominate the counts
                self.metrics.http_requests.labels(
                    method=scope["method"], route=route, status=str(status)
                ).inc()
                logger.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status,
                    extra={
                        "status": status,
                        "duration_ms": int((time.monotonic() - started) * 1000),
                    },
                )
            request_id_var.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_ID.match(text) else None
    return None


def _route_template(scope: MutableMapping[str, Any]) -> str:
    """Return the matched route template (`/v1/threads/{thread_id}/messages`), not the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
