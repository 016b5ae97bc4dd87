"""Pending high-value actions and their staff decisions (`switchboard.approvals`).

The tool that needs approval writes the row (idempotently: it re-runs from its
start on resume), the staff API claims a decision on it (exactly one staff
member wins), and the resumed tool records the outcome.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
Decision = Literal["approve", "edit", "reject"]

_NAMESPACE = uuid.UUID("6f1c3a52-56a7-4c61-9f0e-3f0b6c1b5a11")
_COLUMNS = (
    "approval_id, thread_id, tool_call_id, customer_id, action, args, summary, status,"
    " created_at, expires_at, decided_at, decided_by, decision, reason, outcome,"
    " customer_notified_at"
)


def approval_id_for(thread_id: str, tool_call_id: str) -> str:
    """Return the approval id of a tool call: the same call always gets the same id."""
    return "apr-" + uuid.uuid5(_NAMESPACE, f"{thread_id}:{tool_call_id}").hex[:20]


class ApprovalConflict(Exception):
    """Raised when an approval is no longer pending (decided by someone else, or expired)."""

    def __init__(self, approval: dict[str, Any]) -> None:
        super().__init__(
            f"Approval {approval['approval_id']!r} is already {approval['status']!r}; "
            "reload it to see the decision."
        )
        self.approval = approval


class ApprovalStore:
    """Queries on `switchboard.approvals`."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        self.pool = pool

    async def record_pending(
        self,
        *,
        approval_id: str,
        thread_id: str,
        tool_call_id: str,
        customer_id: str,
        action: str,
        args: dict[str, Any],
        summary: str,
        ttl: timedelta,
    ) -> dict[str, Any]:
        """Insert the pending approval unless it exists; return the stored row."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO switchboard.approvals (approval_id, thread_id, tool_call_id,"
                " customer_id, action, args, summary, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, now() + %s)"
                " ON CONFLICT DO NOTHING",
                (
                    approval_id,
                    thread_id,
                    tool_call_id,
                    customer_id,
                    action,
                    Jsonb(args),
                    summary,
                    ttl,
                ),
            )
        row = await self.get(approval_id)
        assert row is not None
        return row

    async def get(self, approval_id: str) -> dict[str, Any] | None:
        """Return one approval, or None."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM switchboard.approvals WHERE approval_id = %s",
                (approval_id,),
            )
            return await cursor.fetchone()

    async def find_pending(
        self, *, thread_id: str, customer_id: str, action: str, order_id: int, amount: str
    ) -> dict[str, Any] | None:
        """Return a pending approval for the same request in this thread (a retried turn)."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM switchboard.approvals"
                " WHERE thread_id = %s AND customer_id = %s AND action = %s AND status = 'pending'"
                " AND expires_at > now() AND args->>'order_id' = %s AND args->>'amount' = %s"
                " ORDER BY created_at LIMIT 1",
                (thread_id, customer_id, action, str(order_id), amount),
            )
            return await cursor.fetchone()

    async def list_by_status(
        self, status: ApprovalStatus | None, *, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return approvals with `status` (all when None), oldest first."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM switchboard.approvals"
                " WHERE (%s::text IS NULL OR status = %s) ORDER BY created_at, approval_id"
                " LIMIT %s",
                (status, status, limit),
            )
            return list(await cursor.fetchall())

    async def claim(
        self,
        approval_id: str,
        *,
        decision: Decision,
        decided_by: str,
        args: dict[str, Any],
        reason: str | None,
    ) -> dict[str, Any] | None:
        """Atomically move a pending, unexpired approval to its decided status.

        Returns the claimed row, or None when the approval does not exist.

        Raises:
            ApprovalConflict: It was decided already (another staff member won) or expired.

        """
        status = "rejected" if decision == "reject" else "approved"
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE switchboard.approvals SET status = %s, decided_at = now(),"
                " decided_by = %s, decision = %s, reason = %s"
                " WHERE approval_id = %s AND status = 'pending' AND expires_at > now()"
                f" RETURNING {_COLUMNS}",
                (
                    status,
                    decided_by,
                    Jsonb({"decision": decision, "args": args}),
                    reason,
                    approval_id,
                ),
            )
            row = await cursor.fetchone()
        if row is not None:
            return row
        current = await self.get(approval_id)
        if current is None:
            return None
        raise ApprovalConflict(current)

    async def customer_names(self, customer_ids: list[str]) -> dict[str, str]:
        """Return the store's name for each customer id it knows."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT customer_id, name FROM store.customers WHERE customer_id = ANY(%s)",
                (sorted(set(customer_ids)),),
            )
            return {row["customer_id"]: row["name"] for row in await cursor.fetchall()}

    async def record_outcome(self, approval_id: str, outcome: dict[str, Any]) -> None:
        """Store what the decided action did (refund id, or why it failed)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE switchboard.approvals SET outcome = %s WHERE approval_id = %s",
                (Jsonb(outcome), approval_id),
            )

    async def expire_stale(self) -> list[dict[str, Any]]:
        """Mark pending approvals past `expires_at` as expired; return them."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE switchboard.approvals SET status = 'expired', decided_at = now()"
                f" WHERE status = 'pending' AND expires_at <= now() RETURNING {_COLUMNS}"
            )
            return list(await cursor.fetchall())

    async def unnotified_expired(self) -> list[dict[str, Any]]:
        """Return expired approvals whose customer has not been told yet."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_COLUMNS} FROM switchboard.approvals"
                " WHERE status = 'expired' AND customer_notified_at IS NULL"
                " ORDER BY decided_at LIMIT 100"
            )
            return list(await cursor.fetchall())

    async def mark_notified(self, approval_id: str) -> None:
        """Record that the customer's thread got the outcome message.

        Its NOTIFY (migration 0005) tells a waiting widget to read the history.
        """
        async with self.pool.connection() as conn:
            await conn.execute(
                "UPDATE switchboard.approvals SET customer_notified_at = now()"
                " WHERE approval_id = %s",
                (approval_id,),
            )
