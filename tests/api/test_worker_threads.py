"""CPU work gets few threads beside the event loop; blocking network calls get their own.

Why (a thread running Python slows every database round trip of the loop): the
module docstring of `api/worker_threads.py`, measured by `python -m bench.gil_convoy`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from api.settings import Settings
from api.worker_threads import CPU_THREAD_PREFIX, IO_THREAD_PREFIX, run_blocking_io
from tests.conftest import make_settings, only_cpu_worker_busy, running_app


class _Overlap:
    """Record how many calls run at once, and on which threads."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def call(self) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.05)
        with self._lock:
            self.running -= 1


async def _overlap_of_to_thread_calls(calls: int = 6) -> _Overlap:
    overlap = _Overlap()
    await asyncio.gather(*(asyncio.to_thread(overlap.call) for _ in range(calls)))
    return overlap


@pytest.mark.parametrize("threads", [1, 2])
async def test_a_serving_app_runs_cpu_work_on_the_configured_number_of_threads(
    database_url: str, shared_data_dir: Path, threads: int
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_WORKER_THREADS=threads)

    async with running_app(settings):
        overlap = await _overlap_of_to_thread_calls()

    assert overlap.most == threads
    assert all(name.startswith(CPU_THREAD_PREFIX) for name in overlap.threads)


async def test_a_stopped_app_gives_the_event_loop_a_standard_pool_back(settings: Settings) -> None:
    async with running_app(settings):
        pass

    overlap = await _overlap_of_to_thread_calls()

    assert overlap.most > 1
    assert not any(name.startswith(CPU_THREAD_PREFIX) for name in overlap.threads)


async def test_a_blocking_network_call_does_not_wait_behind_busy_cpu_workers() -> None:
    async with only_cpu_worker_busy():
        name = await asyncio.wait_for(
            run_blocking_io(lambda: threading.current_thread().name), timeout=10
        )

    assert name.startswith(IO_THREAD_PREFIX)


def test_worker_threads_must_be_at_least_one(database_url: str, shared_data_dir: Path) -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_WORKER_THREADS"):
        make_settings(database_url, shared_data_dir, SWITCHBOARD_WORKER_THREADS=0)
