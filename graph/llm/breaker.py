"""A circuit breaker per provider model: closed, open, half-open.

Closed: calls go through; `failure_threshold` failures in a row open it.
Open: calls are refused at once (the fallback chain moves on without
touching the provider) until `open_seconds` have passed. Half-open: up to
`half_open_probes` calls go through; that many successes close it, one
failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
"""Values of `CircuitBreaker.state` (the names `Metrics.set_breaker_state` takes)."""


@dataclass
class CircuitBreaker:
    """One model's breaker; shared by every agent that binds tools on the chain.

    Not thread-safe: it lives on one event loop, where each method runs
    without awaiting, so concurrent turns see consistent state.
    """

    name: str
    failure_threshold: int = 5
    open_seconds: float = 30.0
    half_open_probes: int = 1
    clock: Callable[[], float] = time.monotonic
    _state: BreakerState = field(default="closed", init=False)
    _failures: int = field(default=0, init=False)
    _opened_at: float = field(default=0.0, init=False)
    _probes_in_flight: int = field(default=0, init=False)
    _probe_successes: int = field(default=0, init=False)

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose time is up reads half-open."""
        if self._state == "open" and self.clock() - self._opened_at >= self.open_seconds:
            self._state = "half_open"
            self._probes_in_flight = self._probe_successes = 0
        return self._state

    def acquire(self) -> bool:
        """Return whether a request may be sent now (in half-open, take a probe slot)."""
        state = self.state
        if state == "closed":
            return True
        if state == "open":
            return False
        if self._probes_in_flight + self._probe_successes >= self.half_open_probes:
            return False
        self._probes_in_flight += 1
        return True

    def record_success(self) -> None:
        """Count a request that got an answer."""
        if self._state == "half_open":
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
            self._probe_successes += 1
            if self._probe_successes >= self.half_open_probes:
                self._close()
        elif self._state == "closed":
            self._failures = 0

    def record_failure(self) -> None:
        """Count a request that failed because of the provider."""
        if self._state == "half_open":
            self._open()
        elif self._state == "closed":
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def release(self) -> None:
        """Give back a probe slot taken by a request that ended without a verdict.

        That is, one cancelled by the turn timeout, or failed for a reason that
        says nothing about the provider.
        """
        if self._state == "half_open":
            self._probes_in_flight = max(0, self._probes_in_flight - 1)

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self.clock()
        self._failures = 0

    def _close(self) -> None:
        self._state = "closed"
        self._failures = 0
        self._probes_in_flight = self._probe_successes = 0
