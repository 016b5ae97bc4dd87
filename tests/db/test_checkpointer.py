"""The service's checkpointer.

A turn reads its thread's latest checkpoint once: its state read answers its run's
first read; a thread the turn created is not read at all. On a pool, one thread's
checkpoint query never waits for another's.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from db.checkpointer import LATEST_READ, LatestRead, TurnCheckpointer
from tests.conftest import only_cpu_worker_busy


class _State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _graph(saver: TurnCheckpointer, *, ask_first: bool = False) -> Any:
    def answer(state: _State) -> dict:
        if ask_first and len(state["messages"]) == 1:
            interrupt("approve?")
        return {"messages": [AIMessage(content=f"answer {len(state['messages'])}")]}

    graph = StateGraph(_State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=saver)


@pytest.fixture
async def saver(pool: AsyncConnectionPool) -> TurnCheckpointer:
    saver = TurnCheckpointer(pool)
    await saver.setup()
    return saver


@pytest.fixture
def reads(checkpoint_reads: list[dict]) -> list[dict]:
    """The checkpoint reads that reach Postgres."""
    return checkpoint_reads


def _turn_config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, LATEST_READ: LatestRead()}}


async def test_the_state_read_answers_the_runs_first_read(
    saver: TurnCheckpointer, reads: list[dict]
) -> None:
    graph = _graph(saver)
    thread = str(uuid.uuid4())
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": thread}})
    reads.clear()

    config = _turn_config(thread)
    before = await graph.aget_state(config)
    result = await graph.ainvoke({"messages": [HumanMessage("again")]}, config)

    assert len(reads) == 1
    assert [m.content for m in result["messages"]] == ["hi", "answer 1", "again", "answer 3"]
    # The run updated its own copy: the snapshot read first is as it was.
    assert [m.content for m in before.values["messages"]] == ["hi", "answer 1"]
    stored = await graph.aget_state({"configurable": {"thread_id": thread}})
    assert [m.content for m in stored.values["messages"]] == ["hi", "answer 1", "again", "answer 3"]


async def test_a_new_thread_is_read_once_too(saver: TurnCheckpointer, reads: list[dict]) -> None:
    graph = _graph(saver)
    config = _turn_config(str(uuid.uuid4()))
    assert (await graph.aget_state(config)).values == {}
    result = await graph.ainvoke({"messages": [HumanMessage("hi")]}, config)
    assert len(reads) == 1
    assert [m.content for m in result["messages"]] == ["hi", "answer 1"]


async def test_a_thread_the_turn_created_is_not_read(
    saver: TurnCheckpointer, reads: list[dict]
) -> None:
    graph = _graph(saver)
    thread = str(uuid.uuid4())
    config = _turn_config(thread)
    config["configurable"][LATEST_READ].new_thread(thread)

    assert (await graph.aget_state(config)).values == {}
    result = await graph.ainvoke({"messages": [HumanMessage("hi")]}, config)

    assert reads == []
    assert [m.content for m in result["messages"]] == ["hi", "answer 1"]
    # Its two reads answered, the next goes to Postgres and finds the run's checkpoint.
    again = await graph.ainvoke({"messages": [HumanMessage("again")]}, config)
    assert len(reads) == 1
    assert [m.content for m in again["messages"]] == ["hi", "answer 1", "again", "answer 3"]


async def test_a_checkpoint_with_pending_writes_is_read_again(
    saver: TurnCheckpointer, reads: list[dict]
) -> None:
    """A run paused by `interrupt()` left writes that a state read applies to what it read."""
    graph = _graph(saver, ask_first=True)
    thread = str(uuid.uuid4())
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": thread}})
    reads.clear()

    config = _turn_config(thread)
    assert (await graph.aget_state(config)).interrupts
    result = await graph.ainvoke({"messages": [HumanMessage("again")]}, config)
    assert len(reads) == 2
    assert [m.content for m in result["messages"]][-1] == "answer 2"


async def test_without_a_latest_read_every_read_goes_to_postgres(
    saver: TurnCheckpointer, reads: list[dict]
) -> None:
    graph = _graph(saver)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    await graph.aget_state(config)
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, config)
    assert len(reads) == 2


async def test_on_a_pool_a_read_does_not_wait_for_another_threads_stuck_write(
    saver: TurnCheckpointer, database_url: str
) -> None:
    graph = _graph(saver)
    reader, writer = str(uuid.uuid4()), str(uuid.uuid4())
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": reader}})

    async with await AsyncConnection.connect(database_url) as blocker:
        async with blocker.transaction():
            # Reads go on; a checkpoint that stores its messages waits for this lock.
            await blocker.execute("LOCK TABLE checkpoint_blobs IN EXCLUSIVE MODE")
            stuck = asyncio.create_task(
                graph.ainvoke(
                    {"messages": [HumanMessage("hello")]}, {"configurable": {"thread_id": writer}}
                )
            )
            await asyncio.sleep(0.3)
            assert not stuck.done()
            # AsyncPostgresSaver's instance-wide lock would hold this read behind the write.
            found = await asyncio.wait_for(
                saver.aget_tuple({"configurable": {"thread_id": reader, "checkpoint_ns": ""}}), 5
            )
            assert found is not None
            assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == [
                "hi",
                "answer 1",
            ]
        result = await asyncio.wait_for(stuck, 10)
    assert [m.content for m in result["messages"]] == ["hello", "answer 1"]


async def test_on_one_connection_queries_still_take_turns(database_url: str) -> None:
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        saver = TurnCheckpointer(conn)
        # A connection runs one query at a time: the saver keeps its lock.
        assert type(saver.lock) is asyncio.Lock


async def test_a_checkpoint_without_pending_writes_decodes_as_upstream_does(
    saver: TurnCheckpointer, pool: AsyncConnectionPool
) -> None:
    graph = _graph(saver)
    thread = str(uuid.uuid4())
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": thread}})
    config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}

    ours = await saver.aget_tuple(config)
    upstream = await AsyncPostgresSaver(pool).aget_tuple(config)

    assert ours is not None and upstream is not None
    assert ours.pending_writes == upstream.pending_writes == []
    assert ours == upstream
    assert ours.parent_config is not None


async def test_reading_a_finished_turns_checkpoint_does_not_wait_for_the_cpu_worker(
    saver: TurnCheckpointer,
) -> None:
    """The one CPU worker (api/worker_threads.py) may be busy with a guard scan."""
    graph = _graph(saver)
    thread = str(uuid.uuid4())
    await graph.ainvoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": thread}})
    async with only_cpu_worker_busy():
        state = await asyncio.wait_for(
            graph.aget_state({"configurable": {"thread_id": thread}}), timeout=10
        )
    assert [m.content for m in state.values["messages"]] == ["hi", "answer 1"]
