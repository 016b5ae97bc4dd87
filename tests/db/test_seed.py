"""The demo store: deterministic, idempotent, and covering every case the demo needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from db.migrations import apply_migrations
from db.seed import build_orders, demo_customer_summaries, seed_demo_store
from tests.conftest import make_settings, running_app
from tests.scripted_model import ScriptedChatModel


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as connection:
        await apply_migrations(connection)
        yield connection


async def _scalar(conn: psycopg.AsyncConnection, sql: str) -> object:
    cursor = await conn.execute(sql)
    row = await cursor.fetchone()
    assert row is not None
    return next(iter(row.values()))


async def test_seed_is_idempotent_and_covers_the_demo_cases(conn) -> None:  # type: ignore[no-untyped-def]
    await seed_demo_store(conn)
    assert await seed_demo_store(conn) is False  # second call: no-op

    assert (
        await _scalar(conn, "SELECT count(*) FROM store.customers WHERE customer_id LIKE 'cust-%'")
        >= 50
    )
    assert (
        await _scalar(
            conn, "SELECT count(*) FROM store.orders WHERE order_id BETWEEN 1001 AND 1550"
        )
        == 550
    )
    statuses = await conn.execute(
        "SELECT DISTINCT status FROM store.orders WHERE order_id BETWEEN 1001 AND 1550"
    )
    assert {r["status"] for r in await statuses.fetchall()} >= {
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
        "partially_refunded",
    }
    for sql in (
        "SELECT count(*) FROM store.orders WHERE order_id <= 1550 AND total > 200",
        "SELECT count(*) FROM store.order_items WHERE order_id <= 1550 AND final_sale",
        "SELECT count(*) FROM store.orders WHERE order_id <= 1550"
        " AND delivered_at < now() - interval '30 days'",
        "SELECT count(*) FROM (SELECT order_id FROM store.payments WHERE order_id <= 1550"
        " AND status = 'captured' GROUP BY order_id HAVING count(*) > 1) d",
    ):
        assert await _scalar(conn, sql) > 0, sql
    assert (
        await _scalar(
            conn, "SELECT count(*) FROM store.invoices WHERE invoice_id <> 'INV-' || order_id"
        )
        == 0
    )
    showcase = await conn.execute(
        "SELECT order_id, customer_id, status FROM store.orders WHERE order_id = 1042"
    )
    assert await showcase.fetchone() == {
        "order_id": 1042,
        "customer_id": "cust-001",
        "status": "delivered",
    }
    customers = await demo_customer_summaries(conn)
    assert customers[0]["id"] == "cust-001" and customers[0]["order_ids"][0] == 1001
    assert {"id", "name", "email", "order_ids"} == set(customers[0])


def test_orders_are_the_same_on_every_build() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first, second = build_orders(now), build_orders(now)
    assert [(o.order_id, o.customer_id, o.status, o.total) for o in first] == [
        (o.order_id, o.customer_id, o.status, o.total) for o in second
    ]


async def test_development_start_seeds_the_demo_store(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_ENV="development")
    async with running_app(settings, ScriptedChatModel()):
        pass
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        cursor = await conn.execute("SELECT customer_id FROM store.orders WHERE order_id = 1042")
        assert await cursor.fetchone() == {"customer_id": "cust-001"}
