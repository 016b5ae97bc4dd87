"""How much the LangGraph checkpoints take, and pruning them (issue 8).

Every super-step of a turn writes a checkpoint, and the `messages` channel is
stored whole each time it changes, so a thread's rows grow with every turn
(`bench/checkpoints.py` measures it). Only a thread's latest checkpoint is
needed to continue it and to serve its history; older ones are for
time travel and debugging. `switchboard prune-checkpoints` deletes them with
`AsyncPostgresSaver.aprune(strategy="keep_latest")`, which keeps, per thread
and namespace, the latest checkpoint with its pending writes (an approval
waiting on `interrupt()` survives) and the blobs it references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


@dataclass(frozen=True)
class CheckpointUsage:
    """Rows and bytes of the checkpoint tables."""

    checkpoints: int
    bytes: int


async def checkpoint_usage(
    conn: AsyncConnection[Any], thread_id: str | None = None
) -> CheckpointUsage:
    """Return the checkpoint count and the bytes of stored data, for one thread or all.

    Bytes are the sizes of the stored values (`pg_column_size` of the
    checkpoint, metadata, blob and write columns), which — unlike the tables'
    disk size — drop as soon as rows are deleted.
    """
    where, params = ("WHERE thread_id = %(t)s", {"t": thread_id}) if thread_id else ("", {})
    query = f"""
        SELECT
          (SELECT count(*) FROM checkpoints {where}) AS checkpoints,
          (SELECT coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)
             FROM checkpoints {where})
          + (SELECT coalesce(sum(coalesce(pg_column_size(blob), 0)), 0)
             FROM checkpoint_blobs {where})
          + (SELECT coalesce(sum(pg_column_size(blob)), 0) FROM checkpoint_writes {where})
          AS bytes
    """
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return CheckpointUsage(checkpoints=int(row["checkpoints"]), bytes=int(row["bytes"]))


async def prunable_threads(
    conn: AsyncConnection[Any], *, older_than_days: float | None = None
) -> list[str]:
    """Return the threads with more than their latest checkpoint.

    With `older_than_days`, only threads whose latest checkpoint is at least
    that old (idle conversations), so active ones keep their recent history.
    """
    idle = ""
    params: dict[str, object] = {}
    if older_than_days is not None:
        idle = "AND max((checkpoint ->> 'ts')::timestamptz) < now() - make_interval(secs => %(s)s)"
        params["s"] = older_than_days * 86400
    cur = await conn.execute(
        f"""
        SELECT thread_id FROM checkpoints
        GROUP BY thread_id
        HAVING count(*) > 1 {idle}
        ORDER BY thread_id
        """,
        params,
    )
    return [row["thread_id"] for row in await cur.fetchall()]


async def prune_checkpoints(
    saver: AsyncPostgresSaver,
    conn: AsyncConnection[Any],
    *,
    older_than_days: float | None = None,
    batch_size: int = 100,
) -> list[str]:
    """Keep only the latest checkpoint of each (or each idle) thread; return the pruned threads.

    Each thread is pruned in its own transaction on one snapshot, so a turn
    running meanwhile is safe (see `PostgresSaver.prune`); re-running is safe.
    """
    threads = await prunable_threads(conn, older_than_days=older_than_days)
    for start in range(0, len(threads), batch_size):
        await saver.aprune(threads[start : start + batch_size], strategy="keep_latest")
    return threads
