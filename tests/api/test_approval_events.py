"""Approval changes reach staff and the waiting shopper as they happen (LISTEN/NOTIFY).

Every new, decided or expired approval sends a NOTIFY naming its thread
(migrations 0004, 0005); each API process listens on a connection of its own and
streams the changes over SSE: every approval to staff (`GET /v1/approvals/events`),
a conversation's own to its customer (`GET /v1/threads/{id}/events`). A dropped
connection is reopened, and subscribers are told they missed changes in between.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg

from api.approval_events import ApprovalChange, ApprovalEvents
from api.settings import Settings
from db.migrations import apply_migrations
from evals.harness import scratch_database
from tests.conftest import auth, make_settings, running_app
from tests.live_server import serve

STAFF = auth("staff-ana", "staff")


@asynccontextmanager
async def _db(url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await apply_migrations(conn)
        yield conn


async def _request_approval(conn: psycopg.AsyncConnection, thread_id: str | None = None) -> str:
    """Insert a pending approval on `thread_id` (a new random one by default)."""
    approval_id = f"appr-{uuid.uuid4().hex[:12]}"
    await conn.execute(
        "INSERT INTO switchboard.approvals (approval_id, thread_id, tool_call_id, customer_id,"
        " action, args, summary, expires_at) VALUES (%s, %s, %s, 'cust-001', 'request_refund',"
        " '{}', 'Refund 250.00 USD', now() + interval '1 day')",
        (approval_id, thread_id or str(uuid.uuid4()), f"call-{approval_id}"),
    )
    return approval_id


async def _thread_of(conn: psycopg.AsyncConnection, approval_id: str) -> str:
    cursor = await conn.execute(
        "SELECT thread_id FROM switchboard.approvals WHERE approval_id = %s", (approval_id,)
    )
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


async def _approve(conn: psycopg.AsyncConnection, approval_id: str) -> None:
    await conn.execute(
        "UPDATE switchboard.approvals SET status = 'approved', decided_at = now(),"
        " decided_by = 'staff-ana' WHERE approval_id = %s",
        (approval_id,),
    )


@asynccontextmanager
async def _served(server_url: str, data_dir: Path) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """A real server on a scratch database: yield the database URL and a client."""
    async with scratch_database(server_url, prefix="switchboard_events") as url:
        with serve(url, data_dir, None) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                yield url, client


@asynccontextmanager
async def _frames(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> AsyncIterator[asyncio.Queue[tuple[str, dict]]]:
    """Read the SSE stream at `path` while the context is open; yield its (event, data)."""
    frames: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()

    async def read() -> None:
        async with client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    await frames.put((event, json.loads(line.removeprefix("data: "))))

    reader = asyncio.create_task(read())
    try:
        yield frames
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _next(changes: asyncio.Queue[ApprovalChange]) -> ApprovalChange:
    return await asyncio.wait_for(changes.get(), timeout=10)


async def _next_about(changes: asyncio.Queue[ApprovalChange], approval_id: str) -> ApprovalChange:
    """Skip changes to other approvals (other tests share the database)."""
    while (change := await _next(changes)).approval_id != approval_id:
        pass
    return change


async def test_every_subscriber_hears_an_approval_requested_then_decided(
    database_url: str,
) -> None:
    async with _db(database_url) as conn:
        events = ApprovalEvents(database_url)
        await events.start()
        try:
            assert events.listening
            async with events.subscribe() as first, events.subscribe() as second:
                approval_id = await _request_approval(conn)
                await _approve(conn, approval_id)
                thread_id = await _thread_of(conn, approval_id)

                for changes in (first, second):
                    assert await _next_about(changes, approval_id) == ApprovalChange(
                        "approval", approval_id, "pending", thread_id
                    )
                    assert await _next_about(changes, approval_id) == ApprovalChange(
                        "approval", approval_id, "approved", thread_id
                    )
        finally:
            await events.stop()


async def test_a_thread_subscriber_hears_its_own_approvals_only(database_url: str) -> None:
    async with _db(database_url) as conn:
        events = ApprovalEvents(database_url)
        await events.start()
        try:
            mine = str(uuid.uuid4())
            async with events.subscribe(mine) as changes, events.subscribe() as everything:
                elsewhere = await _request_approval(conn)
                own = await _request_approval(conn, mine)

                assert await _next_about(everything, elsewhere) == ApprovalChange(
                    "approval", elsewhere, "pending", await _thread_of(conn, elsewhere)
                )
                assert await _next_about(everything, own) == ApprovalChange(
                    "approval", own, "pending", mine
                )
                # The other thread's change was published first, yet never queued here.
                assert await _next(changes) == ApprovalChange("approval", own, "pending", mine)
                assert changes.empty()
        finally:
            await events.stop()


async def test_a_dropped_listener_says_down_then_resync_and_hears_changes_again(
    database_url: str,
) -> None:
    async with _db(database_url) as conn:
        events = ApprovalEvents(database_url, retry_seconds=0.05)
        await events.start()
        try:
            async with events.subscribe() as changes:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND query = 'LISTEN switchboard_approvals'"
                )

                assert (await _next(changes)).kind == "down"
                assert (await _next(changes)).kind == "resync"
                assert events.listening
                approval_id = await _request_approval(conn)
                assert (await _next_about(changes, approval_id)).status == "pending"
        finally:
            await events.stop()


async def test_staff_stream_the_changes_over_sse_and_customers_cannot(
    postgres_server_url: str, shared_data_dir: Path
) -> None:
    async with _served(postgres_server_url, shared_data_dir) as (url, client):
        refused = await client.get("/v1/approvals/events", headers=auth("cust-001"))
        assert refused.status_code == 403

        async with _frames(client, "/v1/approvals/events", STAFF) as frames:
            assert await asyncio.wait_for(frames.get(), 10) == ("ready", {"live": True})
            async with _db(url) as conn:
                approval_id = await _request_approval(conn)
                thread_id = await _thread_of(conn, approval_id)
            assert await asyncio.wait_for(frames.get(), 10) == (
                "approval",
                {
                    "approval_id": approval_id,
                    "status": "pending",
                    "thread_id": thread_id,
                    "answered": False,
                },
            )


async def test_a_customer_streams_the_approvals_of_their_own_conversation_only(
    postgres_server_url: str, shared_data_dir: Path
) -> None:
    async with _served(postgres_server_url, shared_data_dir) as (url, client):
        created = await client.post("/v1/threads", headers=auth("cust-001"))
        thread_id = created.json()["thread_id"]
        path = f"/v1/threads/{thread_id}/events"
        assert (await client.get(path, headers=auth("cust-002"))).status_code == 404
        assert (await client.get(path, headers=STAFF)).status_code == 403

        async with _frames(client, path, auth("cust-001")) as frames:
            assert await asyncio.wait_for(frames.get(), 10) == ("ready", {"live": True})
            async with _db(url) as conn:
                await _request_approval(conn)  # someone else's conversation
                approval_id = await _request_approval(conn, thread_id)
                await _approve(conn, approval_id)
                await conn.execute(  # what ApprovalFlow does once the outcome is posted
                    "UPDATE switchboard.approvals SET customer_notified_at = now()"
                    " WHERE approval_id = %s",
                    (approval_id,),
                )
            for status, answered in (
                ("pending", False),
                ("approved", False),
                ("approved", True),
            ):
                assert await asyncio.wait_for(frames.get(), 10) == (
                    "approval",
                    {
                        "approval_id": approval_id,
                        "status": status,
                        "thread_id": thread_id,
                        "answered": answered,
                    },
                )


async def test_with_live_updates_off_the_stream_says_how_to_poll(
    database_url: str, shared_data_dir: Path
) -> None:
    settings: Settings = make_settings(
        database_url, shared_data_dir, SWITCHBOARD_APPROVAL_EVENTS=False
    )
    async with running_app(settings) as client:
        response = await client.get("/v1/approvals/events", headers=STAFF)
        thread_id = (await client.post("/v1/threads", headers=auth("cust-001"))).json()["thread_id"]
        widget = await client.get(f"/v1/threads/{thread_id}/events", headers=auth("cust-001"))

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "approval_events_off"
    assert "GET /v1/approvals" in error["message"]
    assert widget.status_code == 503
    assert f"GET /v1/threads/{thread_id}/messages" in widget.json()["error"]["message"]
