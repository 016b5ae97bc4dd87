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
class CallerIdentity:
    """The caller's own e-mails and order ids, which a reply may echo back.

    Any other customer's e-mail or order id in a reply is masked (the output guard).
    """

    emails: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnClaim:
    """Outcome of asking to run a client message.

    `kind` is `new` (run it), `replay` (already completed: send `events` again),
    `running` (the same message is being processed right now), `busy`
    (another message of this thread is running) or `not_found` (no such thread
    of the owner the claim named). `resume` is set on a `new` claim that takes
    over this same message from a process that died mid-turn (its lease
    expired): the turn continues from its last checkpoint. `created` is set when
    the claim created the thread (`create=True`). `identity` is the owner's,
    when the claim named one.
    """

    kind: Literal["new", "replay", "running", "busy", "not_found"]
    lease: str | None = None
    events: list[dict] | None = None
    resume: bool = False
    created: bool = False
    identity: CallerIdentity = CallerIdentity()


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

    async def claim_turn(
        self,
        thread_id: str,
        client_message_id: str,
        *,
        owner: str | None = None,
        create: bool = False,
    ) -> TurnClaim:
        """Decide whether `client_message_id` may run now, atomically.

        The lease (a row update with an expiry) works across API processes; an
        expired lease (a crashed process) is taken over. One statement (a
        data-modifying CTE): it locks the message's turn row, takes the thread's
        lease unless that turn is completed or another lease is live, and marks the
        turn running, all or nothing, in one round trip instead of a transaction's
        five. With `owner`, the same round trip checks that the thread is theirs
        (`not_found` when it is not, touching nothing) and reads their identity
        for the output guard.

        With `create` (and an `owner`), a thread id nobody has yet becomes the
        owner's new thread, created holding the lease, in the same statement: a
        conversation's first message needs no request of its own to create it.
        An id someone else holds is `not_found`, as without `create`.
        """
        if create and owner is None:
            raise ValueError("creating a thread needs its owner")
        try:
            key = uuid.UUID(thread_id)
        except ValueError:
            return TurnClaim(kind="not_found")
        row, lease = await self._claim(key, client_message_id, owner, create)
        if create and not row["owned"]:
            # Another request created this id between our snapshot and our insert
            # (the same first message retried, say): claim it as it now stands.
            row, lease = await self._claim(key, client_message_id, owner, False)
        if not row["owned"]:
            return TurnClaim(kind="not_found")
        identity = _identity(row)
        if row["status"] == "completed":
            return TurnClaim(kind="replay", events=list(row["events"]), identity=identity)
        crashed = row["status"] == "running"
        if not row["leased"]:
            return TurnClaim(kind="running" if crashed else "busy", identity=identity)
        return TurnClaim(
            kind="new",
            lease=str(lease),
            resume=crashed,
            created=bool(row["created"]),
            identity=identity,
        )

    async def _claim(
        self, key: uuid.UUID, client_message_id: str, owner: str | None, create: bool
    ) -> tuple[dict, uuid.UUID]:
        lease = uuid.uuid4()
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                _CLAIM,
                {
                    "thread": key,
                    "customer": owner,
                    "message": client_message_id,
                    "lease": lease,
                    "seconds": self.lease_seconds,
                    "create": create,
                },
            )
            row = await cursor.fetchone()
        assert row is not None
        return row, lease

    async def finish_turn(
        self,
        thread_id: str,
        client_message_id: str,
        lease: str,
        *,
        status: TurnStatus,
        events: list[dict],
    ) -> None:
        """Record the outcome of a turn and release the thread's lease, if still held.

        One statement (a data-modifying CTE), so both happen or neither, in one
        round trip instead of a transaction's four. A process whose lease expired
        and was taken over records nothing: the turn is the new holder's.
        """
        async with self.pool.connection() as conn:
            await conn.execute(
                "WITH released AS ("
                " UPDATE switchboard.threads SET turn_lease = NULL, turn_lease_expires_at = NULL"
                " WHERE thread_id = %s AND turn_lease = %s RETURNING thread_id)"
                " UPDATE switchboard.turns SET status = %s, events = %s, completed_at = now()"
                " WHERE thread_id = %s AND client_message_id = %s"
                " AND EXISTS (SELECT 1 FROM released)",
                (thread_id, lease, status, Jsonb(events), thread_id, client_message_id),
            )


def _thread(row: dict) -> ThreadRecord:
    return ThreadRecord(
        thread_id=str(row["thread_id"]),
        customer_id=row["customer_id"],
        created_at=row["created_at"],
    )


_IDENTITY = (
    " SELECT c.email, array_remove(array_agg(o.order_id::text), NULL) AS order_ids"
    " FROM store.customers c LEFT JOIN store.orders o USING (customer_id)"
    " WHERE c.customer_id = %(customer)s GROUP BY c.email"
)

# `%(customer)s` NULL (no owner given) matches any owner and reads no identity.
# `created` inserts the thread, lease held, when `%(create)s` and the id is free:
# the statement's other parts cannot see that row (one snapshot), so `started`
# takes the turn on `leased` or `created`, whichever returned the thread.
_CLAIM = (
    "WITH owned AS ("
    " SELECT thread_id FROM switchboard.threads WHERE thread_id = %(thread)s"
    " AND customer_id = COALESCE(%(customer)s::text, customer_id)),"
    " created AS ("
    " INSERT INTO switchboard.threads"
    " (thread_id, customer_id, turn_lease, turn_lease_expires_at)"
    " SELECT %(thread)s, %(customer)s, %(lease)s, now() + make_interval(secs => %(seconds)s)"
    " WHERE %(create)s"
    " AND NOT EXISTS (SELECT 1 FROM switchboard.threads WHERE thread_id = %(thread)s)"
    " ON CONFLICT (thread_id) DO NOTHING RETURNING thread_id),"
    " caller AS (" + _IDENTITY + "),"
    " prior AS ("
    " SELECT status, events FROM switchboard.turns"
    " WHERE thread_id = %(thread)s AND client_message_id = %(message)s"
    " AND EXISTS (SELECT 1 FROM owned) FOR UPDATE),"
    " leased AS ("
    " UPDATE switchboard.threads SET turn_lease = %(lease)s,"
    " turn_lease_expires_at = now() + make_interval(secs => %(seconds)s),"
    " updated_at = now()"
    " WHERE thread_id = (SELECT thread_id FROM owned)"
    " AND (turn_lease IS NULL OR turn_lease_expires_at < now())"
    " AND NOT EXISTS (SELECT 1 FROM prior WHERE status = 'completed')"
    " RETURNING thread_id),"
    " started AS ("
    " INSERT INTO switchboard.turns (thread_id, client_message_id, status)"
    " SELECT thread_id, %(message)s, 'running'"
    " FROM (SELECT thread_id FROM leased UNION ALL SELECT thread_id FROM created) AS taken"
    " ON CONFLICT (thread_id, client_message_id)"
    " DO UPDATE SET status = 'running', events = '[]'::jsonb, completed_at = NULL)"
    " SELECT EXISTS (SELECT 1 FROM owned UNION ALL SELECT 1 FROM created) AS owned,"
    " (SELECT status FROM prior) AS status,"
    " (SELECT events FROM prior WHERE status = 'completed') AS events,"
    " EXISTS (SELECT 1 FROM leased UNION ALL SELECT 1 FROM created) AS leased,"
    " EXISTS (SELECT 1 FROM created) AS created, caller.email, caller.order_ids"
    " FROM (VALUES (1)) AS one LEFT JOIN caller ON true"
)


async def caller_identity(pool: Pool, customer_id: str) -> CallerIdentity:
    """Return the caller's own e-mails and order ids, for the output guard."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_IDENTITY, {"customer": customer_id})
        return _identity(await cursor.fetchone())


def _identity(row: dict | None) -> CallerIdentity:
    if row is None or row["email"] is None:
        return CallerIdentity()
    return CallerIdentity(emails=(row["email"],), order_ids=tuple(row["order_ids"] or ()))
