"""Measure how a thread's checkpoints grow per turn, and what pruning gives back.

Run with: python -m bench.checkpoints [--turns 200] [--every 20] [--checkpoint-every turn|step]

One thread, `--turns` turns through the real support graph compiled with
`AsyncPostgresSaver` on a scratch database (`DATABASE_URL`'s server, else the
embedded one under `.data/postgres`), run as the API runs them (`api/graph_runs.py`):
checkpointed at the end of each turn (the service's default), or after every
super-step with `--checkpoint-every step`. The model is scripted (a 40-word answer,
and a lookup with its result every fifth turn, run inside the model's step), so what is
measured is LangGraph's storage: the `messages` channel is stored whole in each
checkpoint that changes it, so the bytes a turn adds grow with the length of the
thread. Prints checkpoints and bytes of stored data (`db/checkpoints.py`) every
`--every` turns, then prunes with
`switchboard prune-checkpoints`' code (keep the latest checkpoint) and prints
what is left. Writes `bench/results/checkpoints.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from api.graph_runs import CheckpointEvery, astream_turn
from db.checkpoints import checkpoint_usage, prune_checkpoints
from db.embedded import start_embedded_postgres
from evals.harness import scratch_database
from graph.builder import build_graph
from graph.context import SupportContext
from graph.read_only import mark_read_only

ANSWER = "Thanks for waiting: your parcel left our warehouse and should arrive soon. " * 3


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order's delivery status."""
    return f"Order {order_id}: shipped Monday with UPS, tracking 1Z999AA10123456784, due Thursday."


mark_read_only(lookup_order)  # a lookup, as the store's order tools are: no step of its own


class CheckpointBenchModel(BaseChatModel):
    """Answer in ~40 words; on every fifth human turn, look the order up first."""

    @property
    def _llm_type(self) -> str:
        return "bench-checkpoints"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turns = sum(isinstance(m, HumanMessage) for m in messages)
        if turns % 5 == 1 and not isinstance(messages[-1], ToolMessage):
            call = {"name": "lookup_order", "args": {"order_id": "1042"}, "id": uuid.uuid4().hex}
            reply = AIMessage(content="", tool_calls=[call])
        else:
            reply = AIMessage(content=ANSWER)
        return ChatResult(generations=[ChatGeneration(message=reply)])


async def run(turns: int, every: int, checkpoint_every: CheckpointEvery = "turn") -> dict[str, Any]:
    """Run the benchmark; return the measurements."""
    server = os.environ.get("DATABASE_URL") or await asyncio.to_thread(
        start_embedded_postgres, Path(".data/postgres")
    )
    rows: list[dict[str, Any]] = []
    async with scratch_database(server, prefix="switchboard_bench_ckpt") as url:
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            graph = build_graph(CheckpointBenchModel(), {"triage": [lookup_order]}).compile(
                checkpointer=saver
            )
            thread = f"bench-{uuid.uuid4().hex[:8]}"
            config = {"configurable": {"thread_id": thread}}
            async with await AsyncConnection.connect(
                url, autocommit=True, row_factory=dict_row
            ) as conn:
                previous = 0
                started = time.perf_counter()
                for n in range(1, turns + 1):
                    turn_started = time.perf_counter()
                    async for _ in astream_turn(
                        graph,
                        {"messages": [("user", f"Where is my order 1042? (turn {n})")]},
                        config,
                        context=SupportContext(customer_id="cust-001"),
                        stream_mode=["updates"],
                        checkpoint_every=checkpoint_every,
                    ):
                        pass
                    turn_ms = (time.perf_counter() - turn_started) * 1000
                    if n % every == 0 or n == 1:
                        usage = await checkpoint_usage(conn, thread)
                        row = {
                            "turn": n,
                            "checkpoints": usage.checkpoints,
                            "bytes": usage.bytes,
                            "bytes_per_turn_since_last": (usage.bytes - previous)
                            // (every if n > 1 else 1),
                            "turn_ms": round(turn_ms, 1),
                        }
                        previous = usage.bytes
                        rows.append(row)
                        print(
                            f"turn {n:4d}: {usage.checkpoints:5d} checkpoints, "
                            f"{usage.bytes / 1e6:8.2f} MB, "
                            f"+{row['bytes_per_turn_since_last'] / 1e3:7.1f} kB/turn, "
                            f"last turn {turn_ms:6.1f} ms",
                            flush=True,
                        )
                elapsed = time.perf_counter() - started
                before = await checkpoint_usage(conn, thread)
                await prune_checkpoints(saver, conn)
                after = await checkpoint_usage(conn, thread)
                state = await graph.aget_state(config)
    print(
        f"pruned: {before.checkpoints} -> {after.checkpoints} checkpoints, "
        f"{before.bytes / 1e6:.2f} -> {after.bytes / 1e6:.2f} MB; "
        f"{len(state.values['messages'])} messages still in the thread"
    )
    return {
        "turns": turns,
        "checkpoint_every": checkpoint_every,
        "seconds": round(elapsed, 1),
        "growth": rows,
        "before_prune": {"checkpoints": before.checkpoints, "bytes": before.bytes},
        "after_prune": {"checkpoints": after.checkpoints, "bytes": after.bytes},
        "messages_after_prune": len(state.values["messages"]),
    }


def main() -> None:
    """Parse arguments, run, write `bench/results/checkpoints.json`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="print every N turns")
    parser.add_argument(
        "--checkpoint-every",
        choices=["turn", "step"],
        default="turn",
        help="when a turn is checkpointed (SWITCHBOARD_CHECKPOINT_EVERY)",
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.turns, args.every, args.checkpoint_every))
    out = Path(__file__).parent / "results" / "checkpoints.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
