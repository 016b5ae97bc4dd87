"""Per-run values that come from the authenticated request, not from the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SupportContext:
    """Who is calling and on which thread; passed as the run's `context`.

    Tools read identity from here (through `ToolRuntime.context`), never from
    arguments the model writes.
    """

    customer_id: str = ""
    """Authenticated customer id; empty only in Studio runs without a context."""
    thread_id: str = ""
    role: Literal["customer", "staff"] = "customer"
    request_id: str = ""
