"""The service's LangGraph checkpointer: a turn reads its thread's latest checkpoint once.

A turn reads the thread's state before its run (the active agent, approvals
waiting, what the input guard needs: `api/turns.py`), and the run reads the same
latest checkpoint again as it starts: a query that returns every message of the
conversation, and their decoding, twice. A `LatestRead` in the run config's
`configurable` (under `LATEST_READ`) carries the first read to the second, once.
Nothing can write the thread in between: the turn holds the thread's lease
(`api/thread_store.py`).

A thread the turn's own claim just created has no checkpoint: `LatestRead.new_thread`
answers both reads with nothing, without a query.

The reuse is skipped when the checkpoint has pending writes (LangGraph applies
them to the checkpoint it read while building a state snapshot), and the run
gets its own copy of the checkpoint's dicts, which the run updates in place.

On a connection pool, checkpoint queries also run concurrently. `AsyncPostgresSaver`
takes one instance-wide `asyncio.Lock` around every query, which a single shared
connection needs but a pool does not (each query checks out its own connection):
with it, every checkpoint read and write of the process waits in one queue,
behind every other turn's. Under `bench/load.py`'s 200 conversations, reading a
thread's state before its turn waited 0.6 s (p50) in that queue. The upstream
report: langgraph issue #7259 (a fix is proposed in pull request #7269).

Decoding a checkpoint row hands its pending writes to a worker thread, even when
there are none, as after every finished turn. The service has one CPU worker
(`api/worker_threads.py`), often busy with a guard scan or another turn's
serialisation, so the state read before a turn waited behind it for nothing; a
row without pending writes is now decoded without the hop.
"""

from __future__ import annotations

import asyncio
from typing import cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple, copy_checkpoint
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver, Conn
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import AsyncPipeline
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

LATEST_READ = "__switchboard_latest_read"
"""The `configurable` key of a turn's `LatestRead` (LangGraph keeps `__` keys out of metadata)."""


class LatestRead:
    """A thread's latest checkpoint as a turn read it, kept for the next read of it."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], CheckpointTuple | None] = {}
        self._unwritten: dict[tuple[str, str], int] = {}

    def new_thread(self, thread_id: str) -> None:
        """Answer the turn's state read and the run's first read of `thread_id`: nothing yet.

        Only for a thread created by the turn's own claim (its lease held since):
        no run can have checkpointed it.
        """
        self._unwritten[(thread_id, "")] = 2

    def keep(self, key: tuple[str, str], found: CheckpointTuple | None) -> None:
        """Keep `found` for the next read of `key` (thread, namespace), unless unsafe to share."""
        if found is None:
            self._kept[key] = None
        elif not found.pending_writes:
            self._kept[key] = found._replace(checkpoint=copy_checkpoint(found.checkpoint))

    def take(self, key: tuple[str, str]) -> tuple[bool, CheckpointTuple | None]:
        """Return (whether one was kept, it), forgetting it: it answers one read."""
        if self._unwritten.get(key):
            self._unwritten[key] -= 1
            return True, None
        if key not in self._kept:
            return False, None
        return True, self._kept.pop(key)


class _NoLock(asyncio.Lock):
    """An `asyncio.Lock` that never waits: a pooled saver's queries each have a connection."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class TurnCheckpointer(AsyncPostgresSaver):
    """`AsyncPostgresSaver` that reads a turn's latest checkpoint once, and pools concurrently.

    The module docstring says when the second read is answered from the first,
    and why a pooled saver takes no instance-wide lock.
    """

    def __init__(
        self,
        conn: Conn,
        pipe: AsyncPipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(conn, pipe, serde)
        if isinstance(conn, AsyncConnectionPool):
            # The pool bounds the concurrency: a query waits for a free connection.
            self.lock = _NoLock()

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Read a checkpoint; see the module docstring for when it is not read again."""
        configurable = config.get("configurable") or {}
        latest = configurable.get(LATEST_READ)
        if not isinstance(latest, LatestRead) or configurable.get("checkpoint_id"):
            return await super().aget_tuple(config)
        key = (str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", "")))
        kept, found = latest.take(key)
        if kept:
            return found
        found = await super().aget_tuple(config)
        latest.keep(key, found)
        return found

    async def _load_checkpoint_tuple(self, value: DictRow) -> CheckpointTuple:
        """Decode a checkpoint row as upstream does, without a thread hop for no writes."""
        if value["pending_writes"]:
            return await super()._load_checkpoint_tuple(value)
        thread_id, namespace = value["thread_id"], value["checkpoint_ns"]
        parent = value["parent_checkpoint_id"]
        return CheckpointTuple(
            {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": namespace,
                    "checkpoint_id": value["checkpoint_id"],
                }
            },
            cast(
                Checkpoint,
                {
                    **value["checkpoint"],
                    "channel_values": {
                        **(value["checkpoint"].get("channel_values") or {}),
                        **self._load_blobs(value["channel_values"]),
                    },
                },
            ),
            value["metadata"],
            (
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": namespace,
                        "checkpoint_id": parent,
                    }
                }
                if parent
                else None
            ),
            [],
        )
