"""Retry policy for one provider model: which errors, how long to wait.

Exponential backoff with jitter; a `Retry-After` (or OpenAI's
`retry-after-ms`) on a 429/503 replaces the computed wait. A wait longer
than `max_delay` is not worth holding a chat turn for: the call fails over
to the next model of the chain instead. The SDKs' own retries are off
(`max_retries=0` in `graph/llm/factory.py`), so these are the only ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
"""HTTP statuses worth another try (529: Anthropic's "overloaded")."""

REQUEST_SPECIFIC_STATUS = frozenset({400, 404, 413, 422})
"""Statuses that blame the request, not the provider: no retry, and they do
not count against the provider's circuit breaker."""


def status_of(error: BaseException) -> int | None:
    """Return the HTTP status an SDK error carries, if any."""
    for candidate in (error, getattr(error, "response", None)):
        status = getattr(candidate, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def is_timeout(error: BaseException) -> bool:
    """Return whether `error` is a connect/read timeout (SDK, httpx or asyncio)."""
    if isinstance(error, TimeoutError):
        return True
    return any("Timeout" in cls.__name__ for cls in type(error).__mro__)


def is_connection_error(error: BaseException) -> bool:
    """Return whether `error` is a network failure (refused, reset, dropped stream)."""
    if isinstance(error, ConnectionError):
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(
        names & {"APIConnectionError", "TransportError", "RemoteProtocolError", "ConnectError"}
    )


def is_retryable(error: BaseException) -> bool:
    """Return whether another try of the same model may succeed."""
    status = status_of(error)
    if status is not None:
        return status in RETRYABLE_STATUS
    return is_timeout(error) or is_connection_error(error)


def blames_provider(error: BaseException) -> bool:
    """Return whether `error` counts against the provider's circuit breaker.

    Everything does (timeouts, 5xx, 429, bad keys, unreachable hosts) except
    statuses that say our request was wrong (a context too long, say).
    """
    return status_of(error) not in REQUEST_SPECIFIC_STATUS


def retry_after(error: BaseException, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Return the wait, in seconds, the provider asked for in its response headers."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = now() if now else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one model is retried.

    Attempt `n` (1-based) that fails waits `base_delay * 2**(n-1)`, capped at
    `max_delay`, with "equal jitter": between half and all of it, so
    concurrent turns hitting the same outage spread out.
    """

    max_retries: int = 2
    """Retries after the first attempt (0: fail over at the first error)."""
    base_delay: float = 0.5
    max_delay: float = 8.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Return the jittered wait after failed attempt `attempt` (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return cap / 2 + self.rng() * cap / 2

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Return how long to wait before retrying, or `None` to give up on this model."""
        if attempt > self.max_retries or not is_retryable(error):
            return None
        asked = retry_after(error)
        if asked is not None:
            return asked if asked <= self.max_delay else None
        return self.backoff(attempt)
