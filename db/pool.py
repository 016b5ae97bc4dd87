"""The async connection pool shared by the checkpointer and the store."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


def connection_kwargs(prepare_threshold: int | None) -> dict[str, Any]:
    """Return the per-connection options LangGraph's Postgres saver requires.

    `autocommit` because `setup()` runs `CREATE INDEX CONCURRENTLY`; `dict_row`
    because rows are read by column name; `prepare_threshold=None` turns
    server-side prepared statements off for transaction-mode poolers.
    """
    return {"autocommit": True, "row_factory": dict_row, "prepare_threshold": prepare_threshold}


async def open_pool(
    url: str,
    *,
    min_size: int,
    max_size: int,
    prepare_threshold: int | None,
    timeout: float = 30.0,
) -> AsyncConnectionPool:
    """Open a pool to `url` and wait until its first connection works.

    Must be called inside the running event loop (the app's lifespan).

    Args:
        url: The Postgres connection string.
        min_size: Connections kept open.
        max_size: Most connections opened.
        prepare_threshold: See `connection_kwargs`.
        timeout: Seconds `connection()` waits before raising `PoolTimeout`.

    """
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs(prepare_threshold),
        open=False,
        name="switchboard",
        timeout=timeout,
        # After a database restart the idle connections are dead: check each one
        # on checkout so the first requests after an outage do not fail (issue 8).
        check=AsyncConnectionPool.check_connection,
    )
    await pool.open(wait=True, timeout=30)
    return pool
