"""Thread ownership, turn idempotency and the one-turn-at-a-time lease."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from psycopg.types.json import Jsonb

from db.pool import Pool

TurnStatus = Literal["running", "completed", "failed"]


@dataclass(frozen=True)
class ThreadRecord:
    """A thread row."""

    thread_id: str
    customer_id: str
    created_at: datetime


@dataclass(frozen=True)
class TurnClaim:
    """Outcome of asking to run a client message.

    `kind` is `new` (run it), `replay` (already completed: send `events` again),
    `running` (the same message is being processed right now) or `busy`
    (another message of this thread is running). `resume` is set on a `new`
    claim that takes over this same message from a process that died mid-turn
    (its lease expired): the turn continues from its last checkpoint.
    """

    kind: Literal["new", "replay", "running", "busy"]
    lease: str | None = None
    events: list[dict] | None = None
    resume: bool = False


class ThreadStore:
    """Queries on `switchboard.threads` and `switchboard.turns`."""

    def __init__(self, pool: Pool, *, lease_seconds: float) -> None:
        self.pool = pool
        self.lease_seconds = lease_seconds

    async def create(self, customer_id: str) -> ThreadRecord:
        """Create a thread owned by `customer_id`."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO switchboard.threads (thread_id, customer_id) VALUES (%s, %s)"
                " RETURNING thread_id, customer_id, created_at",
                (uuid.uuid4(), customer_id),
            )
            row = await cursor.fetchone()
        assert row is not None
        return _thread(row)

    async def get_owned(self, thread_id: str, customer_id: str) -> ThreadRecord | None:
        """Return the thread if it exists *and* belongs to `customer_id`."""
        try:
            key = uuid.UUID(thread_id)
        except ValueError:
            return None
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT thread_id, customer_id, created_at FROM switchboard.threads"
                " WHERE thread_id = %s AND customer_id = %s",
                (key, customer_id),
            )
            row = await cursor.fetchone()
        return _thread(row) if row else None

    async def claim_turn(self, thread_id: str, client_message_id: str) -> TurnClaim:
        """Decide whether `client_message_id` may run now, atomically.

        The lease (a row update with an expiry) works across API processes; an
        expired lease (a crashed process) is taken over.
        """
        lease = uuid.uuid4()
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT status, events FROM switchboard.turns"
                " WHERE thread_id = %s AND client_message_id = %s FOR UPDATE",
                (thread_id, client_message_id),
            )
            turn = await cursor.fetchone()
            if turn and turn["status"] == "completed":
                return TurnClaim(kind="replay", events=list(turn["events"]))
            cursor = await conn.execute(
                "UPDATE switchboard.threads SET turn_lease = %s,"
                " turn_lease_expires_at = now() + make_interval(secs => %s), updated_at = now()"
                " WHERE thread_id = %s AND (turn_lease IS NULL OR turn_lease_expires_at < now())"
                " RETURNING thread_id",
                (lease, self.lease_seconds, thread_id),
            )
            if await cursor.fetchone() is None:
                running = turn is not None and turn["status"] == "running"
                return TurnClaim(kind="running" if running else "busy")
            await conn.execute(
                "INSERT INTO switchboard.turns (thread_id, client_message_id, status)"
                " VALUES (%s, %s, 'running') ON CONFLICT (thread_id, client_message_id)"
                " DO UPDATE SET status = 'running', events = '[]'::jsonb, completed_at = NULL",
                (thread_id, client_message_id),
            )
        crashed = turn is not None and turn["status"] == "running"
        return TurnClaim(kind="new", lease=str(lease), resume=crashed)

    async def finish_turn(
        self,
        thread_id: str,
        client_message_id: str,
        lease: str,
        *,
        status: TurnStatus,
        events: list[dict],
    ) -> None:
        """Record the outcome of a turn and release the thread's lease.

        One statement (a data-modifying CTE), so both happen or neither, in one
        round trip instead of a transaction's four.
        """
        async with self.pool.connection() as conn:
            await conn.execute(
                "WITH finished AS ("
                " UPDATE switchboard.turns SET status = %s, events = %s, completed_at = now()"
                " WHERE thread_id = %s AND client_message_id = %s)"
                " UPDATE switchboard.threads SET turn_lease = NULL, turn_lease_expires_at = NULL"
                " WHERE thread_id = %s AND turn_lease = %s",
                (status, Jsonb(events), thread_id, client_message_id, thread_id, lease),
            )


def _thread(row: dict) -> ThreadRecord:
    return ThreadRecord(
        thread_id=str(row["thread_id"]),
        customer_id=row["customer_id"],
        created_at=row["created_at"],
    )


async def caller_identity(pool: Pool, customer_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the caller's own e-mails and order ids, for the output guard.

    A reply may echo these back; any other customer's e-mail or order id in a
    reply is masked.
    """
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT c.email, array_remove(array_agg(o.order_id::text), NULL) AS order_ids"
            " FROM store.customers c LEFT JOIN store.orders o USING (customer_id)"
            " WHERE c.customer_id = %s GROUP BY c.email",
            (customer_id,),
        )
        row = await cursor.fetchone()
    if row is None:
        return (), ()
    return (row["email"],), tuple(row["order_ids"] or ())
