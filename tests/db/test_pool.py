"""The pool checks connections that sat idle, and trusts ones that were just in use."""

from __future__ import annotations

import asyncio

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db.pool import RecentUseCheck, connection_kwargs


async def _pool(url: str, recency: RecentUseCheck) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=1,
        kwargs=connection_kwargs(None),
        open=False,
        check=recency.check,
        reset=recency.returned,
    )
    await pool.open(wait=True)
    return pool


async def test_a_connection_back_a_moment_ago_is_not_checked_again(database_url: str) -> None:
    recency = RecentUseCheck(bypass_seconds=60)
    pool = await _pool(database_url, recency)
    try:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        checks_after_first = recency.checks
        for _ in range(5):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
        assert recency.checks == checks_after_first
    finally:
        await pool.close()


async def test_an_idle_dead_connection_is_replaced_before_anyone_uses_it(
    database_url: str,
) -> None:
    recency = RecentUseCheck(bypass_seconds=0.05)
    pool = await _pool(database_url, recency)
    try:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
        async with await AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.1)  # idle past the bypass window
        checks = recency.checks
        async with pool.connection(timeout=10) as conn:
            assert (await (await conn.execute("SELECT 1 AS one")).fetchone())["one"] == 1
            assert conn.info.backend_pid != pid
        assert recency.checks > checks
    finally:
        await pool.close()
