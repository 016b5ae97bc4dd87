"""Issue 8: old checkpoints are prunable, and every pruned thread stays usable."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from api.cli import main
from api.settings import get_settings
from db.checkpoints import checkpoint_usage, prunable_threads, prune_checkpoints
from graph.builder import build_graph
from graph.context import SupportContext
from tests.scripted_model import ScriptedChatModel, call, say

TURNS = 4


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return f"Order {order_id} shipped."


def _config(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


async def _converse(url: str, threads: list[str], turns: int) -> ScriptedChatModel:
    """Run `turns` turns on each thread (the first with a tool call); return the model."""
    replies = []
    for _ in threads:
        replies += [call("lookup_order", order_id="1042"), say("It shipped.")]
        replies += [say(f"Answer {n}.") for n in range(1, turns)]
    model = ScriptedChatModel(replies=replies)
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
        graph = build_graph(model, {"triage": [lookup_order]}).compile(checkpointer=saver)
        for thread in threads:
            for n in range(turns):
                await graph.ainvoke(
                    {"messages": [("user", f"question {n}")]},
                    _config(thread),
                    context=SupportContext(customer_id="cust-1"),
                )
    return model


async def _messages(url: str, thread: str) -> list:
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        graph = build_graph(ScriptedChatModel()).compile(checkpointer=saver)
        return (await graph.aget_state(_config(thread))).values["messages"]


async def test_prune_keeps_only_the_latest_checkpoint_and_threads_go_on(database_url: str) -> None:
    threads = [f"prune-{uuid.uuid4().hex[:8]}-{i}" for i in range(3)]
    await _converse(database_url, threads, TURNS)
    before = {t: await _messages(database_url, t) for t in threads}
    async with await AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        usage = {t: await checkpoint_usage(conn, t) for t in threads}
        assert all(u.checkpoints > TURNS for u in usage.values())
        assert not set(threads) & set(await prunable_threads(conn, older_than_days=1))
        async with AsyncPostgresSaver.from_conn_string(database_url) as saver:
            pruned = await prune_checkpoints(saver, conn)
        assert set(threads) <= set(pruned)
        for thread in threads:
            after = await checkpoint_usage(conn, thread)
            assert after.checkpoints == 1
            assert after.bytes < usage[thread].bytes
    for thread in threads:  # the history is intact ...
        assert await _messages(database_url, thread) == before[thread]
    model = await _converse(database_url, threads, 1)  # ... and the thread goes on
    for thread, prompt in zip(threads, model.seen[::2], strict=True):
        assert sum(isinstance(m, HumanMessage) for m in prompt) == TURNS + 1
        assert len(await _messages(database_url, thread)) == len(before[thread]) + 4


def test_the_prune_command_reports_what_it_pruned(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    thread = f"prune-cli-{uuid.uuid4().hex[:8]}"
    asyncio.run(_converse(database_url, [thread], 2))
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        assert main(["prune-checkpoints", "--older-than", "1"]) == 0
        assert "pruned 0 thread(s)" in capsys.readouterr().out
        assert main(["prune-checkpoints", "--dry-run"]) == 0
        assert "would prune" in capsys.readouterr().out
        assert main(["prune-checkpoints"]) == 0
        assert "pruned" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert len(asyncio.run(_messages(database_url, thread))) == 2 * 2 + 2
