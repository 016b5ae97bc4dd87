"""A turn reads its thread's latest checkpoint once: its state read answers its run's first read."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from psycopg_pool import AsyncConnectionPool

from db.checkpointer import LATEST_READ, LatestRead, TurnCheckpointer


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
def reads(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The checkpoint reads that reach Postgres."""
    seen: list[dict] = []
    read = AsyncPostgresSaver.aget_tuple

    async def counted(self: AsyncPostgresSaver, config: Any) -> Any:
        seen.append(config)
        return await read(self, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    return seen


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
