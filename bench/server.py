"""The benchmark server: the real app with `BenchScriptedModel`, plus a stats endpoint.

Run with: uvicorn --factory bench.server:create_bench_app   (bench/load.py starts it)

Benchmark-only, never a production path: the slow scripted model is selected by
choosing this factory, not by a `SWITCHBOARD_MODEL` value, so no setting can switch
a deployed service to it. `BENCH_MODEL_LATENCY_MS` sets the per-call latency.
`GET /bench/stats` reports event-loop lag (a 10 ms ticker's overshoot) and peak RSS.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time

from fastapi import FastAPI

from api.app import create_app
from bench.scripted import BenchScriptedModel

TICK = 0.01


def create_bench_app() -> FastAPI:
    """Build the app with the scripted model and the lag probe."""
    latency = float(os.environ.get("BENCH_MODEL_LATENCY_MS", "300"))
    app = create_app(model=BenchScriptedModel(latency_ms=latency))
    lags: list[float] = []
    probe: dict[str, asyncio.Task] = {}

    async def measure() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - start - TICK)

    @app.get("/bench/stats", include_in_schema=False)
    async def stats(reset: bool = False) -> dict:
        if "task" not in probe:
            probe["task"] = asyncio.create_task(measure())
        ordered = sorted(lags) or [0.0]
        result = {
            "loop_lag_p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "loop_lag_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
            "loop_lag_max_ms": round(ordered[-1] * 1000, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        if reset:
            lags.clear()
        return result

    return app
