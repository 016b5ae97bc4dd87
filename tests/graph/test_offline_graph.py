"""The whole graph on the offline model: routing, handoffs and persistence."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from graph.context import SupportContext
from graph.llm.offline import OfflineChatModel
from graph.state import SupportState


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return build_graph(OfflineChatModel()).compile(checkpointer=InMemorySaver())


async def _turn(graph, thread: str, text: str) -> SupportState:  # type: ignore[no-untyped-def]
    return await graph.ainvoke(
        {"messages": [("user", text)]},
        {"configurable": {"thread_id": thread}},
        context=SupportContext(customer_id="cust-001", thread_id=thread),
    )


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("I was charged twice for order 1042", "billing"),
        ("Can I get a copy of my invoice INV-1042?", "billing"),
        ("where is my order 1042", "returns"),
        ("I want to return the shoes from order 1107", "returns"),
    ],
)
async def test_clear_requests_reach_the_right_specialist(graph, text: str, agent: str) -> None:  # type: ignore[no-untyped-def]
    state = await _turn(graph, f"route-{agent}-{hash(text)}", text)
    assert state["active_agent"] == agent
    final = state["messages"][-1]
    assert final.type == "ai" and final.name == agent and final.content
    assert not final.tool_calls


async def test_unclear_request_gets_a_clarifying_question_from_triage(graph) -> None:  # type: ignore[no-untyped-def]
    state = await _turn(graph, "unclear", "I have a problem")
    assert state.get("active_agent", "triage") == "triage"
    assert state["messages"][-1].content.rstrip().endswith("?")


async def test_specialist_keeps_the_thread_and_hands_over_when_the_topic_changes(graph) -> None:  # type: ignore[no-untyped-def]
    first = await _turn(graph, "persist", "why was I charged twice for order 1042?")
    assert first["active_agent"] == "billing"
    second = await _turn(graph, "persist", "also, where is my parcel for order 1107?")
    assert second["active_agent"] == "returns"
    handoffs = [m for m in second["messages"] if m.type == "tool"]
    assert [m.name for m in handoffs] == ["transfer_to_billing", "transfer_to_returns"]
    # Every tool call in the history has its ToolMessage: valid for the next model call.
    call_ids = [c["id"] for m in second["messages"] if m.type == "ai" for c in m.tool_calls]
    assert call_ids == [m.tool_call_id for m in handoffs]
