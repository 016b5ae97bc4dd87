"""A message's claim on its thread: run it, replay it, or refuse it while another runs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from psycopg_pool import AsyncConnectionPool

from api.thread_store import CallerIdentity, ThreadStore, TurnClaim, caller_identity
from tests.factories import make_customer, make_order


async def _thread(pool: AsyncConnectionPool, lease_seconds: float = 60) -> tuple[ThreadStore, str]:
    store = ThreadStore(pool, lease_seconds=lease_seconds)
    return store, (await store.create("cust-001")).thread_id


async def _turns_and_lease(pool: AsyncConnectionPool, thread: str) -> list[dict]:
    """The thread's turns (message id, status) with the thread's lease, by message id."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT t.client_message_id AS message, t.status, h.turn_lease::text AS lease"
            " FROM switchboard.turns t JOIN switchboard.threads h USING (thread_id)"
            " WHERE t.thread_id = %s ORDER BY t.client_message_id",
            (thread,),
        )
        return await cursor.fetchall()


async def test_a_new_message_on_an_idle_thread_runs(pool: AsyncConnectionPool) -> None:
    store, thread = await _thread(pool)
    claim = await store.claim_turn(thread, "m-1")
    assert claim.kind == "new" and claim.lease and not claim.resume
    assert await _turns_and_lease(pool, thread) == [
        {"message": "m-1", "status": "running", "lease": claim.lease}
    ]


async def test_while_a_message_runs_it_is_running_and_any_other_is_busy(
    pool: AsyncConnectionPool,
) -> None:
    store, thread = await _thread(pool)
    await store.claim_turn(thread, "m-1")
    assert (await store.claim_turn(thread, "m-1")).kind == "running"
    assert (await store.claim_turn(thread, "m-2")).kind == "busy"


async def test_a_finished_message_replays_its_events_and_frees_the_thread(
    pool: AsyncConnectionPool,
) -> None:
    store, thread = await _thread(pool)
    first = await store.claim_turn(thread, "m-1")
    events = [{"event": "message", "data": {"content": "Hello"}}]
    await store.finish_turn(thread, "m-1", first.lease or "", status="completed", events=events)
    again = await store.claim_turn(thread, "m-1")
    assert again.kind == "replay" and again.events == events and again.lease is None
    assert (await store.claim_turn(thread, "m-2")).kind == "new"


async def test_a_failed_message_may_run_again(pool: AsyncConnectionPool) -> None:
    store, thread = await _thread(pool)
    first = await store.claim_turn(thread, "m-1")
    await store.finish_turn(thread, "m-1", first.lease or "", status="failed", events=[])
    retry = await store.claim_turn(thread, "m-1")
    assert retry.kind == "new" and not retry.resume


async def test_an_expired_lease_is_taken_over_and_the_same_message_resumes(
    pool: AsyncConnectionPool,
) -> None:
    """A process that died mid-turn leaves its lease to expire; the retry continues the turn."""
    store, thread = await _thread(pool, lease_seconds=0.05)
    dead = await store.claim_turn(thread, "m-1")
    await asyncio.sleep(0.1)
    taken = await store.claim_turn(thread, "m-1")
    assert taken.kind == "new" and taken.resume and taken.lease != dead.lease
    # A late finish by the process that lost the lease neither frees the thread nor
    # records an outcome: the turn belongs to the new holder.
    await store.finish_turn(thread, "m-1", dead.lease or "", status="failed", events=[])
    assert (await store.claim_turn(thread, "m-2")).kind == "busy"
    assert (await store.claim_turn(thread, "m-1")).kind == "running"


async def test_of_concurrent_claims_exactly_one_runs(pool: AsyncConnectionPool) -> None:
    store, thread = await _thread(pool)
    claims = await asyncio.gather(*(store.claim_turn(thread, f"m-{n % 3}") for n in range(8)))
    assert sorted(c.kind for c in claims).count("new") == 1
    assert {c.kind for c in claims} <= {"new", "running", "busy"}


async def test_a_turn_reads_ownership_and_the_callers_identity_with_its_claim(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        customer = await make_customer(conn)
        orders = {str(await make_order(conn, customer)) for _ in range(2)}
    store = ThreadStore(pool, lease_seconds=60)
    thread = (await store.create(customer)).thread_id

    claim = await store.claim_turn(thread, "m-1", owner=customer)

    assert claim.kind == "new"
    assert claim.identity.emails == (f"{customer}@example.com",)
    assert set(claim.identity.order_ids) == orders
    assert claim.identity == await caller_identity(pool, customer)
    busy = await store.claim_turn(thread, "m-2", owner=customer)
    assert busy.kind == "busy" and busy.identity == claim.identity


async def test_a_claim_on_someone_elses_thread_is_not_found_and_touches_nothing(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        customer = await make_customer(conn)
        stranger = await make_customer(conn)
    store = ThreadStore(pool, lease_seconds=60)
    thread = (await store.create(customer)).thread_id
    first = await store.claim_turn(thread, "m-1", owner=customer)
    await store.finish_turn(
        thread, "m-1", first.lease or "", status="completed", events=[{"event": "done"}]
    )

    for message in ("m-1", "m-2"):  # a finished message's events are not replayed either
        refused = await store.claim_turn(thread, message, owner=stranger)
        assert refused == TurnClaim(kind="not_found")
    assert (await store.claim_turn("not-a-uuid", "m-1", owner=customer)).kind == "not_found"
    assert (await store.claim_turn(str(uuid.uuid4()), "m-1", owner=customer)).kind == "not_found"
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT client_message_id, status FROM switchboard.turns WHERE thread_id = %s"
            " ORDER BY client_message_id",
            (thread,),
        )
        assert await cursor.fetchall() == [{"client_message_id": "m-1", "status": "completed"}]
        cursor = await conn.execute(
            "SELECT turn_lease FROM switchboard.threads WHERE thread_id = %s", (thread,)
        )
        assert await cursor.fetchone() == {"turn_lease": None}
    assert (await store.claim_turn(thread, "m-2", owner=customer)).kind == "new"


async def test_a_caller_without_a_store_record_owns_threads_with_an_empty_identity(
    pool: AsyncConnectionPool,
) -> None:
    store = ThreadStore(pool, lease_seconds=60)
    thread = await store.create("sso-only-customer")
    claim = await store.claim_turn(thread.thread_id, "m-1", owner="sso-only-customer")
    assert claim.kind == "new" and claim.identity == CallerIdentity()


async def test_a_first_message_creates_its_thread_holding_the_lease(
    pool: AsyncConnectionPool,
) -> None:
    async with pool.connection() as conn:
        customer = await make_customer(conn)
    store = ThreadStore(pool, lease_seconds=60)
    thread = str(uuid.uuid4())

    claim = await store.claim_turn(thread, "m-1", owner=customer, create=True)

    assert claim.kind == "new" and claim.created and not claim.resume
    assert claim.identity == await caller_identity(pool, customer)
    assert await store.get_owned(thread, customer) is not None
    assert await _turns_and_lease(pool, thread) == [
        {"message": "m-1", "status": "running", "lease": claim.lease}
    ]
    # The thread now exists: asking to create it again claims it as it stands.
    again = await store.claim_turn(thread, "m-1", owner=customer, create=True)
    assert again.kind == "running" and not again.created
    assert (await store.claim_turn(thread, "m-2", owner=customer, create=True)).kind == "busy"
    await store.finish_turn(thread, "m-1", claim.lease or "", status="completed", events=[])
    later = await store.claim_turn(thread, "m-2", owner=customer, create=True)
    assert later.kind == "new" and not later.created


async def test_creating_an_id_someone_else_holds_is_not_found_and_touches_nothing(
    pool: AsyncConnectionPool,
) -> None:
    store, thread = await _thread(pool)  # cust-001's

    refused = await store.claim_turn(thread, "m-1", owner="cust-002", create=True)

    assert refused == TurnClaim(kind="not_found")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT h.customer_id, h.turn_lease, count(t.*) AS turns FROM switchboard.threads h"
            " LEFT JOIN switchboard.turns t USING (thread_id) WHERE h.thread_id = %s"
            " GROUP BY h.customer_id, h.turn_lease",
            (thread,),
        )
        assert await cursor.fetchall() == [
            {"customer_id": "cust-001", "turn_lease": None, "turns": 0}
        ]


async def test_without_create_a_new_id_is_not_found_and_nothing_is_created(
    pool: AsyncConnectionPool,
) -> None:
    store = ThreadStore(pool, lease_seconds=60)
    thread = str(uuid.uuid4())
    assert (await store.claim_turn(thread, "m-1", owner="cust-001")).kind == "not_found"
    assert await store.get_owned(thread, "cust-001") is None


async def test_of_concurrent_first_messages_creating_one_thread_exactly_one_runs(
    pool: AsyncConnectionPool,
) -> None:
    """A first message retried while it is still in flight: one creates and runs it."""
    store = ThreadStore(pool, lease_seconds=60)
    thread = str(uuid.uuid4())

    claims = await asyncio.gather(
        *(store.claim_turn(thread, f"m-{n % 2}", owner="cust-001", create=True) for n in range(6))
    )

    assert [c.kind for c in claims].count("new") == 1
    assert [c.created for c in claims].count(True) == 1
    assert {c.kind for c in claims} <= {"new", "running", "busy"}


async def test_creating_a_thread_needs_its_owner(pool: AsyncConnectionPool) -> None:
    store = ThreadStore(pool, lease_seconds=60)
    with pytest.raises(ValueError, match="owner"):
        await store.claim_turn(str(uuid.uuid4()), "m-1", create=True)
