"""The async connection pool shared by the checkpointer and the store."""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]
"""The pool's type: its connections return rows as dicts (`connection_kwargs`)."""

ALIVE_BYPASS_SECONDS = 1.0
"""A connection returned to the pool less than this long ago is handed out unchecked."""


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
) -> Pool:
    """Open a pool to `url` and wait until its first connection works.

    Must be called inside the running event loop (the app's lifespan).

    Args:
        url: The Postgres connection string.
        min_size: Connections kept open.
        max_size: Most connections opened.
        prepare_threshold: See `connection_kwargs`.
        timeout: Seconds `connection()` waits before raising `PoolTimeout`.

    """
    recency = RecentUseCheck()
    pool = AsyncConnectionPool(
        url,
        connection_class=AsyncConnection[DictRow],
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs(prepare_threshold),
        open=False,
        name="switchboard",
        timeout=timeout,
        # After a database restart the idle connections are dead: check them on
        # checkout so the first requests after an outage do not fail (issue 8).
        check=recency.check,
        reset=recency.returned,
    )
    await pool.open(wait=True, timeout=30)
    return pool


class RecentUseCheck:
    """Check a connection on checkout, unless it was back in the pool a moment ago.

    The check is a round trip. A turn checks a connection out some 30 times (each
    checkpoint write takes one), so checking every checkout cost ~20 ms a turn
    (`bench/turns.py`). Like HikariCP's `aliveBypassWindowMs`, a connection that
    was in use within `bypass_seconds` is trusted: a busy pool checks almost
    nothing, an idle one (the case after a database restart) checks everything.
    A dead connection that slips through fails its query (a 503 for that one
    request) and the pool discards it.
    """

    def __init__(self, bypass_seconds: float = ALIVE_BYPASS_SECONDS) -> None:
        self.bypass_seconds = bypass_seconds
        self.checks = 0
        self._returned_at: weakref.WeakKeyDictionary[AsyncConnection, float] = (
            weakref.WeakKeyDictionary()
        )

    async def returned(self, conn: AsyncConnection[Any]) -> None:
        """Pool `reset` callback: remember when `conn` came back."""
        self._returned_at[conn] = time.monotonic()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        """Pool `check` callback: raise if `conn` is unusable."""
        returned = self._returned_at.get(conn)
        if returned is not None and time.monotonic() - returned < self.bypass_seconds:
            return
        self.checks += 1
        await AsyncConnectionPool.check_connection(conn)
