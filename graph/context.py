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
    user_message: str | None = None
    """This turn's raw message, as the customer sent it. It travels in the run
    context, never in state: the input guard stores only its redacted form, so
    the text of a blocked message is never checkpointed."""
    input_guarded: bool = False
    """The caller guarded this turn's message before the run and sent its safe
    form as the input (`graph.guarding.guard_turn_input`), or is resuming a
    turn whose input is already in the checkpoint: the turn skips the
    input-guard node. False: the graph guards the input."""
    caller_emails: tuple[str, ...] = ()
    """The caller's own e-mail addresses: the output guard masks any others."""
    caller_order_ids: tuple[str, ...] = ()
    """The caller's own order ids: the output guard masks any others."""
