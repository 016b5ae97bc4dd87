"""The load benchmark: its overhead subtracts the model calls each turn made, it spreads
requests over several server processes, and it tells apart whose CPU a turn cost."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from api.app import create_app
from api.auth import mint_token
from bench.load import Balancer, CpuMeter, first_orders, one_turn
from bench.scripted import BenchScriptedModel
from evals.harness import eval_settings, scratch_database

LATENCY_MS = 50.0


@asynccontextmanager
async def _bench_app(
    server_url: str, data_dir: Path, customer: str, latency_ms: float
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], str, FastAPI]]:
    """The benchmark's app on a scratch database: a client, `customer`'s headers, a new thread."""
    async with scratch_database(server_url, prefix="switchboard_loadtest") as url:
        settings = eval_settings(url, data_dir)
        app = create_app(settings, model=BenchScriptedModel(latency_ms=latency_ms))
        async with LifespanManager(app, startup_timeout=300):
            secret = settings.jwt_secret.get_secret_value()
            token = mint_token(customer, "customer", secret=secret, ttl_seconds=600)
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://load") as client:
                thread = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
                yield client, headers, thread, app


async def test_a_conversations_first_turn_waits_four_model_calls_and_a_follow_up_three(
    postgres_server_url: str, shared_data_dir: Path
) -> None:
    async with _bench_app(postgres_server_url, shared_data_dir, "cust-001", LATENCY_MS) as (
        client,
        headers,
        thread,
        _,
    ):
        first = await one_turn(client, headers, thread, "charged twice", LATENCY_MS)
        again = await one_turn(client, headers, thread, "and again?", LATENCY_MS)

    # Triage hands off, then billing searches, explains the charge and answers; the
    # follow-up starts at billing.
    assert (first["model_calls"], again["model_calls"]) == (4, 3)
    for turn in (first, again):
        waited = turn["model_calls"] * LATENCY_MS
        assert turn["overhead_ms"] > 0, "the model's latency was subtracted too often"
        assert turn["overhead_ms"] < turn["total"] * 1000 - waited + 1
        assert turn["reply"]


async def test_the_loads_messages_name_an_order_of_the_callers_so_its_tool_call_succeeds(
    postgres_server_url: str, shared_data_dir: Path
) -> None:
    orders = first_orders()
    customer = "cust-023"
    async with _bench_app(postgres_server_url, shared_data_dir, customer, 0) as (
        client,
        headers,
        thread,
        app,
    ):
        async with app.state.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT customer_id, min(order_id) AS first FROM store.orders GROUP BY customer_id"
            )
            seeded = {row["customer_id"]: row["first"] for row in await cursor.fetchall()}
        named = await one_turn(
            client, headers, thread, f"charged twice for order {orders[customer]}", 0
        )
        foreign = await one_turn(client, headers, thread, "and charged twice again?", 0)

    assert orders == seeded
    assert named["failed_tools"] == 0
    # Naming no order, the model asks about cust-001's order 1007: not this caller's.
    assert foreign["failed_tools"] == 1


def _stats_app(name: str, lag_p99_ms: float, rss_mb: float) -> FastAPI:
    """A stand-in server process: it names itself and reports fixed stats."""
    app = FastAPI()

    @app.get("/who")
    async def who() -> str:
        return name

    @app.get("/bench/stats")
    async def stats(reset: bool = False) -> dict:
        return {"loop_lag_p99_ms": lag_p99_ms, "peak_rss_mb": rss_mb}

    return app


async def test_requests_go_to_each_server_process_in_turn_and_their_stats_merge_worst_first() -> (
    None
):
    apps = [_stats_app("a", 4.0, 900.0), _stats_app("b", 9.0, 700.0)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p")
        for app in apps
    ]
    servers = Balancer(clients)

    answered = [(await servers.next().get("/who")).json() for _ in range(5)]
    stats = await servers.stats()
    for client in clients:
        await client.aclose()

    assert answered == ["a", "b", "a", "b", "a"]
    assert stats == {
        "loop_lag_p99_ms": 9.0,
        "peak_rss_mb": 900.0,
        "peak_rss_mb_all_processes": 1600.0,
    }


def test_the_cpu_meter_tells_the_servers_the_drivers_and_postgress_cpu_apart(
    postgres_server_url: str,
) -> None:
    # This process plays the server (and is the driver); a query makes Postgres work.
    # The connection stays open, as the servers' pools do: a backend that has exited
    # is no longer counted.
    meter = CpuMeter([os.getpid()])
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    with psycopg.connect(postgres_server_url) as conn:
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
        per_turn = meter.per_turn(turns=2)

    assert per_turn["server_cpu_ms_per_turn"] >= 90  # 200 ms over two turns, tick-rounded
    # Read one after the other: a clock tick (10 ms, 5 ms a turn) may fall between them.
    assert abs(per_turn["driver_cpu_ms_per_turn"] - per_turn["server_cpu_ms_per_turn"]) <= 10
    assert per_turn["postgres_cpu_ms_per_turn"] > 20
    assert CpuMeter([os.getpid()]).per_turn(turns=0) == {}
