"""Abuse limits: rate limits per customer and per client address, and a body-size cap.

Rate limits count in fixed windows (`SWITCHBOARD_RATE_LIMIT_WINDOW` seconds): in
Redis when `REDIS_URL` is set, so every API process shares the counts, else in
process memory. A refused request gets `429 rate_limited` with `Retry-After`.
If Redis is unreachable the limiter lets requests through (and logs it): an
outage of the limiter must not become an outage of the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge, RateLimited, error_body
from api.settings import Settings

logger = logging.getLogger(__name__)

Scope_ = Literal["customer", "ip"]


@dataclass(frozen=True)
class Verdict:
    """Whether one request fits its window, and when the window resets."""

    allowed: bool
    retry_after: int


class Counter(Protocol):
    """A fixed-window counter backend."""

    async def incr(self, key: str, window: int) -> tuple[int, float]:
        """Count one hit on `key`; return the count and seconds left in the window."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryCounter:
    """Per-process counts (one API process, tests, development)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()

    async def incr(self, key: str, window: int) -> tuple[int, float]:  # noqa: D102
        now = time.time()
        bucket = int(now // window)
        async with self._lock:
            count_bucket = self._counts.get(key)
            count = count_bucket[0] + 1 if count_bucket and count_bucket[1] == bucket else 1
            self._counts[key] = (count, bucket)
            if len(self._counts) > 100_000:  # drop finished windows
                self._counts = {k: v for k, v in self._counts.items() if v[1] == bucket}
        return count, (bucket + 1) * window - now

    async def close(self) -> None:  # noqa: D102
        return None


class RedisCounter:
    """Counts shared by every process through Redis (`INCR` + `EXPIRE` per window)."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    async def incr(self, key: str, window: int) -> tuple[int, float]:  # noqa: D102
        now = time.time()
        bucket = int(now // window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(f"{key}:{bucket}")
            pipe.expire(f"{key}:{bucket}", window + 1)
            count, _ = await pipe.execute()
        return int(count), (bucket + 1) * window - now

    async def close(self) -> None:  # noqa: D102
        await self.redis.aclose()


class RateLimiter:
    """Apply `SWITCHBOARD_RATE_LIMIT_*` with the configured backend."""

    def __init__(self, settings: Settings, counter: Counter | None = None) -> None:
        self.settings = settings
        self.counter = counter or (
            RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()
        )
        self.limits = {
            "customer": settings.rate_limit_per_customer,
            "ip": settings.rate_limit_per_ip,
        }

    async def hit(self, scope: Scope_, identity: str) -> Verdict:
        """Count one request by `identity`; say whether it is within the limit."""
        limit = self.limits[scope]
        if limit <= 0:
            return Verdict(True, 0)
        window = self.settings.rate_limit_window_seconds
        key = f"{self.settings.rate_limit_prefix}:{scope}:{identity}"
        try:
            count, left = await self.counter.incr(key, window)
        except Exception as error:
            logger.warning("rate limiter unavailable, allowing the request: %s", error)
            return Verdict(True, 0)
        return Verdict(count <= limit, max(1, math.ceil(left)))

    async def check_customer(self, customer_id: str) -> None:
        """Raise `RateLimited` when `customer_id` is over their limit."""
        verdict = await self.hit("customer", customer_id)
        if not verdict.allowed:
            raise RateLimited(
                f"You are sending messages too quickly. Please wait {verdict.retry_after} "
                "seconds and try again.",
                headers={"Retry-After": str(verdict.retry_after)},
            )

    async def close(self) -> None:
        """Release the backend's connections."""
        await self.counter.close()


class AbuseLimitMiddleware:
    """Cap body size on every request and rate-limit `/v1/` requests per client address.

    Plain ASGI so streamed responses pass through untouched. The limiter is read
    from `app.state.rate_limiter` (built in the lifespan) at request time.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, PayloadTooLarge(_too_large(limit)))
            return
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        if limiter is not None and scope["path"].startswith("/v1/"):
            verdict = await limiter.hit("ip", client_address(scope, self.settings))
            if not verdict.allowed:
                await _reject(
                    send,
                    RateLimited(
                        f"Too many requests from your address. Please wait "
                        f"{verdict.retry_after} seconds and try again.",
                        headers={"Retry-After": str(verdict.retry_after)},
                    ),
                )
                return
        received = 0

        async def counted() -> Message:
            # A chunked body has no Content-Length: count what arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(413, _too_large(limit))
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _reject(send, PayloadTooLarge(_too_large(limit)))


class _BodyTooLarge(HTTPException):
    """Raised inside `receive` once a streamed body passes the limit.

    An `HTTPException` because FastAPI turns any other error while reading the
    body into a 400; the app's handler renders it as `payload_too_large`.
    """


def client_address(scope: Scope, settings: Settings) -> str:
    """Return the caller's address: the first `X-Forwarded-For` hop when trusted."""
    if settings.trust_forwarded_for:
        forwarded = _header(scope, b"x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes; send a shorter message."


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _reject(send: Send, error: RateLimited | PayloadTooLarge) -> None:
    body = json.dumps(error_body(error.code, error.message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
