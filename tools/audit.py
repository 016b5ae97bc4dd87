"""The audit trail: one append-only row per tool call, arguments redacted.

Every store tool runs inside `audited_call`, which also checks who is calling
(a signed-in customer, never staff) so refusals are audited like the rest.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from langgraph.errors import GraphInterrupt
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from graph.context import SupportContext
from tools.errors import NotAuthorisedError, ToolError

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d ().-]{6,}\d(?![\w-])")


def redact(value: Any) -> Any:
    """Return `value` with e-mail addresses, card numbers and phone numbers masked.

    Walks dicts, lists and tuples; other scalars pass through unchanged.
    """
    if isinstance(value, str):
        text = _EMAIL.sub("[email]", value)
        text = _CARD.sub("[card]", text)
        return _PHONE.sub("[phone]", text)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


@dataclass
class AuditEntry:
    """What an `audited_call` block reports; `outcome` defaults to `ok`."""

    customer_id: str
    outcome: str = "ok"
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    """Appends to `switchboard.audit_log` (the table refuses updates and deletes)."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        self.pool = pool

    async def append(
        self,
        *,
        actor: str,
        actor_role: str,
        tool: str,
        arguments: dict[str, Any],
        outcome: str,
        duration_ms: int,
        thread_id: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one row; arguments and detail are redacted here, not by callers."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO switchboard.audit_log (actor, actor_role, thread_id, request_id,"
                " tool, arguments, outcome, detail, duration_ms)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    actor,
                    actor_role,
                    thread_id or None,
                    request_id or None,
                    tool,
                    Jsonb(redact(arguments)),
                    outcome,
                    redact(detail) if detail else None,
                    max(0, duration_ms),
                ),
            )

    @asynccontextmanager
    async def audited_call(
        self, context: SupportContext | None, tool: str, arguments: dict[str, Any]
    ) -> AsyncIterator[AuditEntry]:
        """Check the caller, run the block, then append the audit row.

        Raises:
            NotAuthorisedError: No signed-in customer in the run context, or the
                caller is staff.

        """
        started = time.monotonic()
        context = context or SupportContext()
        entry = AuditEntry(customer_id=context.customer_id)
        try:
            if context.role != "customer":
                raise NotAuthorisedError(
                    "Staff members cannot use customer tools; decide approvals in the "
                    "staff console instead."
                )
            if not context.customer_id:
                raise NotAuthorisedError(
                    "No signed-in customer: account tools need an authenticated customer."
                )
            yield entry
        except GraphInterrupt:
            entry.outcome = "interrupted"
            raise
        except ToolError as error:
            entry.outcome = f"error:{error.code}"
            entry.detail = error.message
            raise
        except Exception as error:
            entry.outcome = "error:internal"
            entry.detail = f"{type(error).__name__}: {error}"
            raise
        finally:
            try:
                await self.append(
                    actor=context.customer_id or "anonymous",
                    actor_role=context.role,
                    tool=tool,
                    arguments=arguments,
                    outcome=entry.outcome,
                    detail=entry.detail,
                    thread_id=context.thread_id,
                    request_id=context.request_id,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
            except Exception:  # the action already happened; losing the row is logged
                logger.exception("could not append the audit row for %s", tool)
