"""The threads beside the event loop: few for CPU work, separate ones for network calls.

Python code in a worker thread holds the GIL while it runs. Every time the event
loop lets go of the GIL (each psycopg send and receive, each poll for I/O), a busy
worker takes it, and the loop gets it back only when that worker blocks or its
switch interval (5 ms) runs out. Measured here (`python -m bench.gil_convoy`): a
`SELECT 1` on an async connection took 0.04–0.09 ms alone, 3.5–9 ms beside one
thread running Python, 80–90 ms beside three. The service's worker threads run
Python (the guards' detectors, LangGraph's checkpoint serialisation, a tool
result's scoring), and asyncio's default pool has up to `cores + 4` of them: under
`bench/load.py`'s 200 conversations, every database round trip of every turn
queued behind them.

So CPU work gets `SWITCHBOARD_WORKER_THREADS` threads (one by default) as the
loop's default executor (`asyncio.to_thread`, LangGraph, LangChain). One thread
still keeps the embedding models, which release the GIL, beside the loop.
Blocking network calls (a Chroma server, LangSmith) must not wait behind CPU work,
nor hold it up while a server is slow: `run_blocking_io` gives them threads of
their own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

CPU_THREAD_PREFIX = "switchboard-cpu"
"""Name prefix of the CPU worker threads (visible in py-spy and thread dumps)."""
IO_THREAD_PREFIX = "switchboard-io"
"""Name prefix of the threads that make blocking network calls."""
IO_THREADS = 8
"""Most blocking network calls in flight at once; they wait on sockets, not on the GIL."""

_IO_EXECUTOR = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix=IO_THREAD_PREFIX)
"""Its threads start on first use."""


@contextmanager
def cpu_workers(loop: asyncio.AbstractEventLoop, count: int) -> Iterator[ThreadPoolExecutor]:
    """Make `count` threads the default executor of `loop` for the block.

    On exit, work already handed to them finishes, and the loop gets a standard
    pool back (a test's loop outlives the app, and so may a server's shutdown).
    """
    executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix=CPU_THREAD_PREFIX)
    loop.set_default_executor(executor)
    try:
        yield executor
    finally:
        loop.set_default_executor(ThreadPoolExecutor())
        executor.shutdown(wait=False)


async def run_blocking_io(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking network call on the I/O threads, never on the CPU workers.

    Like `asyncio.to_thread`, the call sees the caller's context variables (log ids).
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await loop.run_in_executor(_IO_EXECUTOR, call)
