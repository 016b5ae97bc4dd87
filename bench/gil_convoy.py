"""Measure what threads running Python cost the event loop's database round trips.

Run with: python -m bench.gil_convoy [--queries 300]

An event loop sends `SELECT 1` on one async psycopg connection, over and over,
while 0, 1 or 3 other threads run pure-Python work; once at CPython's default
switch interval (5 ms) and once at 0.5 ms. Each round trip lets go of the GIL;
a busy thread takes it and keeps it until its switch interval runs out. This is
why the service gives CPU work one thread by default (`api/worker_threads.py`).
Prints ms per round trip and writes `bench/results/gil_convoy.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path

import psycopg

RESULTS = Path(__file__).parent / "results" / "gil_convoy.json"
SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
BUSY_THREADS = (0, 1, 3)
SWITCH_INTERVALS = (0.005, 0.0005)


def _spin(stop: threading.Event) -> None:
    """Run Python bytecode (holding the GIL) until told to stop."""
    total = 0
    while not stop.is_set():
        for i in range(1000):
            total += i * i


SPINNER_NAME = "gil-convoy-spinner"
"""The busy threads' name prefix (the test checks none outlives its measurement)."""


async def round_trip_ms(url: str, queries: int, busy_threads: int) -> float:
    """Return the mean ms of one `SELECT 1` while `busy_threads` threads spin."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(50):  # warm the connection up
            await conn.execute("SELECT 1")
        stop = threading.Event()
        spinners = [
            threading.Thread(target=_spin, args=(stop,), name=f"{SPINNER_NAME}-{n}")
            for n in range(busy_threads)
        ]
        for spinner in spinners:
            spinner.start()
        try:
            start = time.perf_counter()
            for _ in range(queries):
                await conn.execute("SELECT 1")
            return (time.perf_counter() - start) * 1000 / queries
        finally:
            stop.set()
            for spinner in spinners:
                spinner.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    default_interval = sys.getswitchinterval()
    rows = []
    try:
        for interval in SWITCH_INTERVALS:
            sys.setswitchinterval(interval)
            for busy in BUSY_THREADS:
                ms = asyncio.run(round_trip_ms(SERVER, args.queries, busy))
                rows.append({"switch_interval_ms": interval * 1000, "busy_threads": busy, "ms": ms})
    finally:
        sys.setswitchinterval(default_interval)
    print("switch interval | threads running Python | ms per SELECT 1")
    for row in rows:
        interval, busy, ms = row["switch_interval_ms"], row["busy_threads"], row["ms"]
        print(f"{interval:>12.1f} ms | {busy:>22} | {ms:.3f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"queries": args.queries, "rows": rows}, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
