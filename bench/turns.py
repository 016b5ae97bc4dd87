"""Benchmark the server-side overhead of one full chat turn against a bare LangGraph floor.

Run with: python -m bench.turns [--quick] [--turns N]

Full turn: POST /v1/threads/{id}/messages over HTTP (httpx ASGITransport, SSE parsed
to `done`) through the real app: auth, thread lease, input guard, triage, handoff,
billing specialist, `search_knowledge_base` (retrieval), `explain_charge` (a store
tool), output guard, Postgres checkpoints, SSE. The model is `BenchScriptedModel`
with zero latency, so what is measured is Switchboard's own cost.

Floor, same run, same Postgres: a bare two-node LangGraph graph (`a → b`, each
appends one message) compiled with `AsyncPostgresSaver`, `ainvoke` per turn.
Reports p50/p95 of both and the ratio of p50s (target: ≤ 3).
Writes `bench/results/turns.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

import httpx
from asgi_lifespan import LifespanManager
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from api.app import create_app
from api.auth import mint_token
from bench.scripted import BenchScriptedModel
from evals.harness import eval_settings, scratch_database

RESULTS = Path(__file__).parent / "results" / "turns.json"
SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Bare(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def bare_graph() -> StateGraph:
    """The floor: two nodes, one message each."""
    graph = StateGraph(_Bare)
    graph.add_node("a", lambda state: {"messages": [AIMessage(content="a")]})
    graph.add_node("b", lambda state: {"messages": [AIMessage(content="b")]})
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", END)
    return graph


async def full_turn(
    client: httpx.AsyncClient, headers: dict[str, str], thread: str, n: int
) -> float:
    start = time.perf_counter()
    async with client.stream(
        "POST",
        f"/v1/threads/{thread}/messages",
        headers=headers,
        json={"content": "I was charged twice for order 1007", "client_message_id": f"m-{n}"},
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: done"):
                break
    return time.perf_counter() - start


async def run(turns: int, warmup: int) -> dict[str, Any]:
    async with scratch_database(SERVER, prefix="switchboard_bench") as url:
        # Hundreds of turns by one customer: the abuse limits (issue 8) would refuse them.
        settings = eval_settings(
            url,
            Path(".data/eval"),
            SWITCHBOARD_RATE_LIMIT_CUSTOMER=0,
            SWITCHBOARD_RATE_LIMIT_IP=0,
        )
        app = create_app(settings, model=BenchScriptedModel())
        async with LifespanManager(app, startup_timeout=300):
            headers = {
                "Authorization": "Bearer "
                + mint_token(
                    "cust-001",
                    "customer",
                    secret=settings.jwt_secret.get_secret_value(),
                    ttl_seconds=3600,
                )
            }
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                full: list[float] = []
                for n in range(warmup + turns):
                    created = await client.post("/v1/threads", headers=headers)
                    thread = created.json()["thread_id"]
                    took = await full_turn(client, headers, thread, n)
                    if n >= warmup:
                        full.append(took)
            floor_graph = bare_graph().compile(checkpointer=AsyncPostgresSaver(app.state.pool))
            floor: list[float] = []
            for n in range(warmup + turns):
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                start = time.perf_counter()
                await floor_graph.ainvoke({"messages": [HumanMessage(content="hi")]}, config)
                if n >= warmup:
                    floor.append(time.perf_counter() - start)
    summary = {
        name: {
            "p50_ms": round(_pct(values, 0.5) * 1000, 2),
            "p95_ms": round(_pct(values, 0.95) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
        }
        for name, values in (("full_turn", full), ("bare_langgraph", floor))
    }
    summary["ratio_p50"] = round(
        summary["full_turn"]["p50_ms"] / summary["bare_langgraph"]["p50_ms"], 2
    )
    summary["ratio_p95"] = round(
        summary["full_turn"]["p95_ms"] / summary["bare_langgraph"]["p95_ms"], 2
    )
    summary["turns"] = turns
    summary["target_ratio"] = 3
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 turns (smoke run)")
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    turns = 20 if args.quick else args.turns
    result = asyncio.run(run(turns, warmup=3 if args.quick else 10))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"{'':16} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9}")
    for name in ("full_turn", "bare_langgraph"):
        r = result[name]
        print(f"{name:16} {r['p50_ms']:>9} {r['p95_ms']:>9} {r['mean_ms']:>9}")
    print(
        f"ratio p50 {result['ratio_p50']} (target <= 3), p95 {result['ratio_p95']}; {turns} turns"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
