"""Run the support graph with a checkpoint at the end of a turn and before every action.

LangGraph's default (`durability="async"`) writes a checkpoint after every
super-step, and every task's writes: a conversation's first turn wrote 4
checkpoints and 3 sets of writes, each serialised in the CPU worker and sent
to Postgres (without them, a turn of `bench/turns.py` took a fifth to a third
less CPU, the load server's about a tenth less: docs/performance.md). A step that
only reads (the model, its inline lookups, a handoff) can run again after a
crash without harm, so a turn needs its checkpoint at the end, and before a
step with side effects: the action steps (`tools_node(agent)`, where refunds,
returns and approval requests run; read-only lookups run inline in the model
step, `graph/read_only.py`). Checkpointing there makes the model's tool calls
durable before they run; a process that dies inside the action leaves a
checkpoint whose next step is that action, the crashed turn resumes there
(`api/turns.py`), and the action's idempotency key (thread and tool-call id,
`tools/store.py`) stops it running twice. A process that dies in a read-only
step leaves the thread as the previous turn left it, and the message, sent
again, runs from its start.

So with `checkpoint_every="turn"` a turn runs with `durability="exit"` and
`interrupt_before` the action steps; a run that stopped there is continued
(input `None`) and persisted again at its end, or at its next action. A turn
with an action is therefore two or more runs of the graph, under one root run
in a trace. `checkpoint_every="step"` keeps LangGraph's default: a checkpoint per
step, for inspecting every step of a thread's history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_async_callback_manager_for_config, patch_config
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode

from db.checkpointer import LATEST_READ
from graph.state import AGENTS, tools_node

CheckpointEvery = Literal["turn", "step"]
"""When a turn is checkpointed: at its end and before each action, or after every step."""

ACTION_NODES: tuple[str, ...] = tuple(tools_node(agent) for agent in AGENTS)
"""The steps with side effects, checkpointed before they run."""

DEFAULT_RECURSION_LIMIT = 25
"""LangGraph's own default, for a config that sets none."""

_STOPPED_BEFORE_ACTION = {"__interrupt__": ()}
"""The update a run streams when it stops at an `interrupt_before` node (no `interrupt()` value)."""


async def astream_turn(
    graph: CompiledStateGraph,
    graph_input: Any,
    config: RunnableConfig,
    *,
    context: Any,
    stream_mode: Sequence[StreamMode],
    checkpoint_every: CheckpointEvery = "turn",
) -> AsyncIterator[tuple[str, Any]]:
    """Stream `(mode, chunk)` pairs of one turn's run(s), checkpointed per `checkpoint_every`.

    With `"turn"`, the stops before action steps are not streamed; the turn's
    steps, across runs, stay within the config's `recursion_limit`
    (`GraphRecursionError` beyond, as for one run). When the config has
    callbacks, the turn is one root run (the config's `run_id` and `run_name`)
    with the graph's run(s) under it, so a turn with an action is still one trace.
    """
    async with _root_run(config, graph_input) as run_config:
        if checkpoint_every == "step":
            async for mode, chunk in graph.astream(
                graph_input, run_config, context=context, stream_mode=list(stream_mode)
            ):
                yield mode, chunk
            return
        async for part in _checkpointed_per_turn(
            graph, graph_input, run_config, context=context, stream_mode=stream_mode
        ):
            yield part


async def _checkpointed_per_turn(
    graph: CompiledStateGraph,
    graph_input: Any,
    config: RunnableConfig,
    *,
    context: Any,
    stream_mode: Sequence[StreamMode],
) -> AsyncIterator[tuple[str, Any]]:
    wants_updates = "updates" in stream_mode
    modes = list(stream_mode) if wants_updates else [*stream_mode, "updates"]
    limit = int(config.get("recursion_limit") or DEFAULT_RECURSION_LIMIT)
    steps = 0
    while True:
        stopped_before_action = False
        async for mode, chunk in graph.astream(
            graph_input,
            {**config, "recursion_limit": limit - steps},
            context=context,
            stream_mode=modes,
            durability="exit",
            interrupt_before=ACTION_NODES,
        ):
            if mode == "updates":
                if chunk == _STOPPED_BEFORE_ACTION:
                    stopped_before_action = True
                    continue
                steps += 1
                if not wants_updates:
                    continue
            yield mode, chunk
        if not stopped_before_action:
            return
        if steps >= limit:
            raise GraphRecursionError(f"Recursion limit of {limit} reached across the turn's runs")
        graph_input = None
        # The continuation reads the checkpoint the stopped run wrote, not the
        # turn's first read (db/checkpointer.py).
        configurable = config.get("configurable") or {}
        config = {
            **config,
            "configurable": {k: v for k, v in configurable.items() if k != LATEST_READ},
        }


@asynccontextmanager
async def _root_run(config: RunnableConfig, graph_input: Any) -> AsyncIterator[RunnableConfig]:
    """Open the turn's root run for the config's callbacks; yield the graph runs' config."""
    if not config.get("callbacks"):
        yield config
        return
    manager = get_async_callback_manager_for_config(config)
    run = await manager.on_chain_start(
        None,
        graph_input if isinstance(graph_input, dict) else {"input": graph_input},
        run_id=config.get("run_id"),
        name=config.get("run_name") or "turn",
    )
    try:
        yield patch_config(config, callbacks=run.get_child())
    except BaseException as error:
        await run.on_chain_error(error)
        raise
    await run.on_chain_end({})
