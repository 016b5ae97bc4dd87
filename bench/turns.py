"""Benchmark the server-side overhead of one full chat turn against a bare LangGraph floor.

Run with: python -m bench.turns [--quick] [--turns N]

Full turn: POST /v1/threads/{id}/messages over HTTP (httpx ASGITransport, SSE parsed
to `done`) through the real app: auth, thread lease, input guard, triage, handoff,
billing specialist, `search_knowledge_base` (retrieval), `explain_charge` (a store
tool), output guard, Postgres checkpoints, SSE. The model is `BenchScriptedModel`
with zero latency, so what is measured is Switchboard's own cost.

Floor, same run, same Postgres: a bare two-node LangGraph graph (`a → b`, each
appends one message) compiled with the service's checkpointer (`TurnCheckpointer`,
an `AsyncPostgresSaver`), `ainvoke` per turn.
Reports p50/p95 of both and the ratio of p50s (target: ≤ 3). The floor runs as
LangGraph runs a graph by default, checkpointing every super-step; the service
checkpoints a turn at its end (`SWITCHBOARD_CHECKPOINT_EVERY=turn`, `api/graph_runs.py`),
so for reference the floor is also timed that way (`durability="exit"`).

For reference, also a bare chain with as many super-steps as the full turn took
(read from its checkpoint): LangGraph's own cost of checkpointing that many
steps, which no node code can go under.
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
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Durability

from api.app import create_app
from api.auth import mint_token
from bench.scripted import BenchScriptedModel
from db.checkpointer import TurnCheckpointer
from evals.harness import eval_settings, scratch_database

RESULTS = Path(__file__).parent / "results" / "turns.json"
SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Bare(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def bare_graph(steps: int = 2) -> StateGraph:
    """The floor: a chain of `steps` nodes, one message each (two by default)."""
    graph = StateGraph(_Bare)
    previous = START
    for n in range(steps):
        graph.add_node(f"n{n}", lambda state, n=n: {"messages": [AIMessage(content=f"n{n}")]})
        graph.add_edge(previous, f"n{n}")
        previous = f"n{n}"
    graph.add_edge(previous, END)
    return graph


async def time_bare(
    graph: Any, turns: int, warmup: int, durability: Durability | None = None
) -> list[float]:
    """Time `ainvoke` of one message on a new thread, `turns` times after `warmup`."""
    took: list[float] = []
    for n in range(warmup + turns):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        await graph.ainvoke(
            {"messages": [HumanMessage(content="hi")]}, config, durability=durability
        )
        if n >= warmup:
            took.append(time.perf_counter() - start)
    return took


FULL_TURN_EVENTS = (
    ("handoff", "billing"),
    ("tool", "search_knowledge_base"),
    ("tool", "explain_charge"),
    ("message", "billing"),
)
"""What the measured turn must stream, or the benchmark measured something else."""


async def full_turn(
    client: httpx.AsyncClient, headers: dict[str, str], thread: str, n: int
) -> float:
    """Send one message and read its SSE stream to `done`; return the seconds taken.

    Raises RuntimeError when the turn did not run the whole scenario.
    """
    seen: set[tuple[str, str]] = set()
    event = ""
    start = time.perf_counter()
    async with client.stream(
        "POST",
        f"/v1/threads/{thread}/messages",
        headers=headers,
        json={"content": "I was charged twice for order 1007", "client_message_id": f"m-{n}"},
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
                if event == "done":
                    break
            elif line.startswith("data: ") and event in ("handoff", "tool", "message"):
                data = json.loads(line.removeprefix("data: "))
                seen.add((event, data.get("to") or data.get("name") or data.get("agent") or ""))
    took = time.perf_counter() - start
    if missing := [e for e in FULL_TURN_EVENTS if e not in seen]:
        raise RuntimeError(f"the benchmark turn did not run in full: no {missing} in {seen}")
    return took


async def run(
    turns: int, warmup: int, *, server: str = SERVER, data_dir: Path = Path(".data/eval")
) -> dict[str, Any]:
    """Time `turns` full turns and bare-graph turns on a scratch database of `server`."""
    async with scratch_database(server, prefix="switchboard_bench") as url:
        # Hundreds of turns by one customer: the abuse limits (issue 8) would refuse them.
        settings = eval_settings(
            url,
            data_dir,
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
            last = await app.state.graph.aget_state({"configurable": {"thread_id": thread}})
            # Step -1 holds the input and step 0 applies it; steps 1..n run the nodes.
            steps = last.metadata["step"]
            saver = TurnCheckpointer(app.state.pool)
            floor = await time_bare(bare_graph().compile(checkpointer=saver), turns, warmup)
            floor_at_exit = await time_bare(
                bare_graph().compile(checkpointer=saver), turns, warmup, durability="exit"
            )
            same_steps = await time_bare(
                bare_graph(steps).compile(checkpointer=saver), turns, warmup
            )
    summary: dict[str, Any] = {
        name: {
            "p50_ms": round(_pct(values, 0.5) * 1000, 2),
            "p95_ms": round(_pct(values, 0.95) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
        }
        for name, values in (
            ("full_turn", full),
            ("bare_langgraph", floor),
            ("bare_langgraph_exit", floor_at_exit),
            ("bare_same_steps", same_steps),
        )
    }
    summary["full_turn_steps"] = steps
    summary["ratio_p50"] = round(
        summary["full_turn"]["p50_ms"] / summary["bare_langgraph"]["p50_ms"], 2
    )
    summary["ratio_p95"] = round(
        summary["full_turn"]["p95_ms"] / summary["bare_langgraph"]["p95_ms"], 2
    )
    summary["ratio_p50_exit"] = round(
        summary["full_turn"]["p50_ms"] / summary["bare_langgraph_exit"]["p50_ms"], 2
    )
    summary["ratio_p50_same_steps"] = round(
        summary["full_turn"]["p50_ms"] / summary["bare_same_steps"]["p50_ms"], 2
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
    print(f"{'':19} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9}")
    for name in ("full_turn", "bare_langgraph", "bare_langgraph_exit", "bare_same_steps"):
        r = result[name]
        print(f"{name:19} {r['p50_ms']:>9} {r['p95_ms']:>9} {r['mean_ms']:>9}")
    print(
        f"ratio p50 {result['ratio_p50']} (target <= 3), p95 {result['ratio_p95']}; {turns} turns"
    )
    print(
        "bare_langgraph_exit: the floor checkpointed once, at its end, as the service checkpoints"
        f" a turn; full turn / it p50 {result['ratio_p50_exit']}"
    )
    print(
        f"bare_same_steps: a {result['full_turn_steps']}-step chain, as many super-steps as the"
        f" full turn; full turn / it p50 {result['ratio_p50_same_steps']}"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
