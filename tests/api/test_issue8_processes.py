"""Issue 8 with real `uvicorn` processes: crash safety and two processes sharing Postgres.

Each server is `uvicorn --factory tests.process_app:app` on a loopback port, on the
session's database, with Chroma pointed at a port nobody listens on (the help
center is not needed here, and the processes start faster without indexing it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from db.migrations import apply_migrations
from tests.conftest import TEST_JWT_SECRET, auth
from tests.factories import make_customer, make_order
from tests.process_app import OTHER_REPLY, REPLY
from tests.processes import free_port, stop, wait_until_ok
from tests.sse import parse_sse

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STAFF = auth("staff-ops", "staff")


@contextmanager
def server(database_url: str, data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run the app in a `uvicorn` process; yield its base URL once `/readyz` answers."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_JWT_SECRET": TEST_JWT_SECRET,
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "CHROMA_URL": f"http://127.0.0.1:{free_port()}",
        "SWITCHBOARD_KB_RECONNECT": "3600",
        "SWITCHBOARD_SHUTDOWN_GRACE": "1",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LANGSMITH_TRACING": "false",
        **env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.process_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{url}/readyz", process, timeout=180, what="the server", interval=0.3)
        yield url, process
    finally:
        stop(process)


@asynccontextmanager
async def db(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        await apply_migrations(conn)
        yield conn


async def _customer_with_order(database_url: str, price: str) -> tuple[str, int]:
    async with db(database_url) as conn:
        customer = await make_customer(conn)
        return customer, await make_order(conn, customer, prices=(price,))


async def _refunds(database_url: str, order_id: int) -> list[Decimal]:
    async with db(database_url) as conn:
        cursor = await conn.execute(
            "SELECT amount FROM store.refunds WHERE order_id = %s", (order_id,)
        )
        return [row["amount"] for row in await cursor.fetchall()]


def _post(client: httpx.AsyncClient, thread_id: str, text: str, headers: dict, key: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/v1/threads/{thread_id}/messages",
        json={"content": text, "client_message_id": key},
        headers=headers,
        timeout=60,
    )


async def _history(
    client: httpx.AsyncClient, thread_id: str, headers: dict
) -> list[tuple[str, str]]:
    response = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


@dataclass
class StalledRefund:
    """A refund turn in a server process, hanging in the reply after the refund ran."""

    order: int
    headers: dict
    thread_id: str
    turn: asyncio.Future
    process: subprocess.Popen
    env: dict


@asynccontextmanager
async def stalled_refund(
    database_url: str, tmp_path: Path, key: str
) -> AsyncIterator[StalledRefund]:
    """Start a server, send "Please refund my order" and wait until its reply hangs."""
    customer, order = await _customer_with_order(database_url, "300.00")
    headers = auth(customer)
    stall = tmp_path / "stall"
    stall.write_text("hang after the refund")
    env = {"TEST_ORDER_ID": str(order), "TEST_REFUND_AMOUNT": "50"}

    with server(database_url, tmp_path / "a", TEST_STALL_FILE=str(stall), **env) as (url, process):
        async with httpx.AsyncClient(base_url=url) as client:
            thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
            turn = asyncio.ensure_future(
                _post(client, thread_id, "Please refund my order", headers, key)
            )
            deadline = time.monotonic() + 60
            while not Path(f"{stall}.reached").exists():  # the refund ran, the reply hangs
                assert time.monotonic() < deadline and not turn.done()
                await asyncio.sleep(0.1)
            yield StalledRefund(order, headers, thread_id, turn, process, env)


async def test_killed_mid_turn_after_the_refund_the_retry_finishes_without_refunding_twice(
    database_url: str, tmp_path: Path
) -> None:
    key = str(uuid.uuid4())
    async with stalled_refund(database_url, tmp_path, key) as stalled:
        await asyncio.sleep(0.5)  # let the tool step's checkpoint land
        stalled.process.send_signal(signal.SIGKILL)
        stalled.process.wait(timeout=10)
        with pytest.raises(httpx.HTTPError):
            await stalled.turn
    order, headers, thread_id = stalled.order, stalled.headers, stalled.thread_id
    assert await _refunds(database_url, order) == [Decimal("50.00")]

    # Asked again, this model would refund 60 (a hosted model need not decide the
    # same twice): the retry must carry out the call made before the crash instead.
    with server(database_url, tmp_path / "b", **{**stalled.env, "TEST_REFUND_AMOUNT": "60"}) as (
        url,
        _,
    ):
        async with httpx.AsyncClient(base_url=url) as client:
            # The dead process still holds the thread's lease: the same message is "running".
            held = await _post(client, thread_id, "Please refund my order", headers, key)
            async with db(database_url) as conn:  # let the lease run out
                await conn.execute(
                    "UPDATE switchboard.threads SET turn_lease_expires_at = now() - interval '1 s'"
                    " WHERE thread_id = %s",
                    (thread_id,),
                )
            retried = await _post(client, thread_id, "Please refund my order", headers, key)
            replayed = await _post(client, thread_id, "Please refund my order", headers, key)
            history = await _history(client, thread_id, headers)

    assert held.status_code == 409
    events = parse_sse(retried.text)
    assert [e.data["content"] for e in events if e.event == "message"] == [REPLY]
    assert events[-1].event == "done"
    assert parse_sse(replayed.text)[-1].data.get("replayed") is True
    assert await _refunds(database_url, order) == [Decimal("50.00")]
    assert history == [("user", "Please refund my order"), ("assistant", REPLY)]


async def test_a_stream_waiting_on_a_turn_says_farewell_when_the_server_stops(
    database_url: str, tmp_path: Path
) -> None:
    """SIGTERM mid-turn: the open stream ends with `server_restarting`, not a dropped socket."""
    async with stalled_refund(database_url, tmp_path, str(uuid.uuid4())) as stalled:
        stalled.process.send_signal(signal.SIGTERM)
        response = await asyncio.wait_for(stalled.turn, 30)
        stalled.process.wait(timeout=30)

    events = parse_sse(response.text)
    assert ("tool", "request_refund") in [(e.event, e.data.get("name")) for e in events]
    assert events[-2].event == "error" and events[-2].data["code"] == "server_restarting"
    assert events[-1].event == "done"


async def test_two_processes_share_conversations_leases_and_approvals(
    database_url: str, tmp_path: Path
) -> None:
    customer, order = await _customer_with_order(database_url, "300.00")
    headers = auth(customer)
    stall = tmp_path / "stall"  # absent until the concurrency check
    env = {"TEST_ORDER_ID": str(order), "TEST_REFUND_AMOUNT": "250", "TEST_STALL_FILE": str(stall)}

    with (
        server(database_url, tmp_path / "a", **env) as (url_a, _),
        server(database_url, tmp_path / "b", **env) as (url_b, _),
    ):
        async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
            thread_id = (await a.post("/v1/threads", headers=headers)).json()["thread_id"]
            first = parse_sse((await _post(a, thread_id, "Refund 250 please", headers, "m1")).text)
            approval_id = next(e for e in first if e.event == "interrupt").data["approval_id"]

            # Staff on the other process approve; that process resumes the thread.
            decided = await b.post(
                f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
            )
            after_approval = await _history(a, thread_id, headers)

            # The conversation goes on through the other process.
            second = parse_sse((await _post(b, thread_id, "thanks!", headers, "m2")).text)

            # A message to the same thread through the other process while one is
            # being answered (its reply held back): refused with Retry-After.
            stall.write_text("hold the reply")
            running = asyncio.ensure_future(_post(a, thread_id, "one more thing", headers, "m3"))
            deadline = time.monotonic() + 30
            while not Path(f"{stall}.reached").exists():
                assert time.monotonic() < deadline and not running.done()
                await asyncio.sleep(0.05)
            refused = await _post(b, thread_id, "and another", headers, "m4")
            stall.unlink()
            answered = await running
            history = await _history(b, thread_id, headers)

    assert decided.status_code == 200 and decided.json()["outcome"]["status"] == "refunded"
    assert await _refunds(database_url, order) == [Decimal("250.00")]
    assert after_approval[-1] == ("assistant", REPLY)
    assert [e.data["content"] for e in second if e.event == "message"] == [OTHER_REPLY]
    assert refused.status_code == 409
    assert refused.headers["Retry-After"] and refused.json()["error"]["code"] == "conflict"
    assert [e.data["content"] for e in parse_sse(answered.text) if e.event == "message"] == [
        OTHER_REPLY
    ]
    # Never interleaved: every user message is followed by its own reply.
    assert [text for role, text in history if role == "user"] == [
        "Refund 250 please",
        "thanks!",
        "one more thing",
    ]
    assert history[-2:] == [("user", "one more thing"), ("assistant", OTHER_REPLY)]
