"""Tokens and cost per turn in Postgres, the daily budget, and feedback rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Score = Literal["up", "down"]


@dataclass(frozen=True)
class TurnUsage:
    """What one turn spent, as recorded in `switchboard.usage`."""

    thread_id: str
    customer_id: str
    request_id: str
    run_id: uuid.UUID
    outcome: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    models: dict[str, Any] = field(default_factory=dict)
    message_ids: tuple[str, ...] = ()
    client_message_id: str | None = None


def seconds_until_utc_midnight(now: datetime | None = None) -> int:
    """Return how long until the daily budget resets (for `Retry-After`)."""
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


class UsageStore:
    """Queries on `switchboard.usage` and `switchboard.feedback`."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        self.pool = pool

    async def record(self, usage: TurnUsage) -> None:
        """Append one turn's usage row."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO switchboard.usage (thread_id, customer_id, request_id,"
                " client_message_id, run_id, outcome, input_tokens, output_tokens, cost_usd,"
                " models, message_ids) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    usage.thread_id,
                    usage.customer_id,
                    usage.request_id,
                    usage.client_message_id,
                    usage.run_id,
                    usage.outcome,
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cost_usd,
                    Jsonb(usage.models),
                    list(usage.message_ids),
                ),
            )

    async def tokens_today(self, customer_id: str) -> int:
        """Return the tokens `customer_id` spent since UTC midnight."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT coalesce(sum(input_tokens + output_tokens), 0)::bigint AS tokens"
                " FROM switchboard.usage WHERE customer_id = %s"
                " AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
                (customer_id,),
            )
            row = await cursor.fetchone()
        return int(row["tokens"]) if row else 0

    async def thread_totals(self, thread_id: str) -> dict[str, Any]:
        """Return a thread's turns, tokens and cost so far."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) AS turns, coalesce(sum(input_tokens), 0)::bigint AS input_tokens,"
                " coalesce(sum(output_tokens), 0)::bigint AS output_tokens,"
                " coalesce(sum(cost_usd), 0) AS cost_usd"
                " FROM switchboard.usage WHERE thread_id = %s",
                (thread_id,),
            )
            row = await cursor.fetchone()
        return dict(row) if row else {}

    async def run_for_message(self, thread_id: str, message_id: str) -> uuid.UUID | None:
        """Return the root run (trace) id of the turn that wrote `message_id`, if recorded."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT run_id FROM switchboard.usage WHERE thread_id = %s"
                " AND message_ids @> ARRAY[%s]::text[] ORDER BY created_at DESC LIMIT 1",
                (thread_id, message_id),
            )
            row = await cursor.fetchone()
        return row["run_id"] if row else None

    async def save_feedback(
        self,
        *,
        thread_id: str,
        message_id: str,
        customer_id: str,
        score: Score,
        comment: str | None,
        run_id: uuid.UUID | None,
    ) -> dict[str, Any]:
        """Insert or replace the customer's feedback on a message; return the row."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO switchboard.feedback (thread_id, message_id, customer_id, score,"
                " comment, run_id) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (thread_id, message_id) DO UPDATE SET score = EXCLUDED.score,"
                " comment = EXCLUDED.comment, run_id = EXCLUDED.run_id, updated_at = now()"
                " RETURNING thread_id, message_id, score, comment, run_id, created_at, updated_at",
                (thread_id, message_id, customer_id, score, comment, run_id),
            )
            row = await cursor.fetchone()
        assert row is not None
        return dict(row)

    async def approval_counts(self) -> dict[str, int]:
        """Return approvals per status (for the `switchboard_approvals` gauge)."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT status, count(*)::bigint AS n FROM switchboard.approvals GROUP BY status"
            )
            rows = await cursor.fetchall()
        return {row["status"]: int(row["n"]) for row in rows}
