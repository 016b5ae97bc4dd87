"""Measure event-loop lag while concurrent turns run through the real app (issue 8).

Run with: python -m bench.loop_lag [--concurrency 10] [--rounds 3]

The real app (offline model: intent classifier, entity rules, knowledge-base
retrieval, guards, Postgres checkpoints) answers `--concurrency` turns at once,
`--rounds` times, over httpx's ASGI transport. A probe task sleeps 10 ms in a loop
and records how late it wakes up: that is how long the event loop was blocked by
CPU work that should run in worker threads. Reports p50/p95/max lag idle and under
load, and the turns' latency. Writes `bench/results/loop_lag.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from api.app import create_app
from api.auth import mint_token
from evals.harness import eval_settings, scratch_database

RESULTS = Path(__file__).parent / "results" / "loop_lag.json"
SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
TICK = 0.01
QUESTIONS = (
    "I was charged twice for order 1007",
    "How long do refunds take?",
    "Where is my order 1003?",
    "Can I return the shoes I bought last week?",
    "Do gift cards expire?",
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(lags: list[float]) -> dict[str, float]:
    return {
        "samples": len(lags),
        "p50_ms": round(_pct(lags, 0.5) * 1000, 2),
        "p95_ms": round(_pct(lags, 0.95) * 1000, 2),
        "max_ms": round(max(lags or [0.0]) * 1000, 2),
    }


async def _probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(time.perf_counter() - start - TICK)


async def _turn(client: httpx.AsyncClient, customer: str, secret: str, question: str) -> float:
    headers = {
        "Authorization": "Bearer "
        + mint_token(customer, "customer", secret=secret, ttl_seconds=3600)
    }
    thread = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
    start = time.perf_counter()
    body = {"content": question, "client_message_id": f"lag-{time.time_ns()}"}
    async with client.stream(
        "POST", f"/v1/threads/{thread}/messages", headers=headers, json=body, timeout=300
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: done"):
                break
    return time.perf_counter() - start


async def run(concurrency: int, rounds: int) -> dict[str, Any]:
    async with scratch_database(SERVER, prefix="switchboard_lag") as url:
        settings = eval_settings(
            url,
            Path(".data/eval"),
            SWITCHBOARD_RATE_LIMIT_CUSTOMER=0,
            SWITCHBOARD_RATE_LIMIT_IP=0,
        )
        secret = settings.jwt_secret.get_secret_value()
        app = create_app(settings)  # the offline model
        async with LifespanManager(app, startup_timeout=300):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await _turn(client, "cust-001", secret, QUESTIONS[0])  # warm-up
                idle: list[float] = []
                stop = asyncio.Event()
                probe = asyncio.create_task(_probe(idle, stop))
                await asyncio.sleep(2)
                stop.set()
                await probe
                loaded: list[float] = []
                stop = asyncio.Event()
                probe = asyncio.create_task(_probe(loaded, stop))
                latencies: list[float] = []
                for round_ in range(rounds):
                    latencies += await asyncio.gather(
                        *(
                            _turn(
                                client,
                                f"cust-{1 + (round_ * concurrency + i) % 60:03d}",
                                secret,
                                QUESTIONS[i % len(QUESTIONS)],
                            )
                            for i in range(concurrency)
                        )
                    )
                stop.set()
                await probe
    return {
        "concurrency": concurrency,
        "rounds": rounds,
        "idle_lag": _summary(idle),
        "loaded_lag": _summary(loaded),
        "turn_p50_ms": round(_pct(latencies, 0.5) * 1000, 1),
        "turn_p95_ms": round(_pct(latencies, 0.95) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(run(args.concurrency, args.rounds))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
