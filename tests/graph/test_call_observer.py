"""A turn's model and tool calls reach the observer of its task, with no callbacks in the graph."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from api.observability.callbacks import TurnTelemetry
from api.observability.metrics import Metrics
from api.observability.pricing import PriceBook
from graph.builder import build_graph
from graph.context import SupportContext
from graph.llm.errors import AllModelsFailedError
from graph.llm.fallback import FallbackChatModel
from graph.llm.observer import observing
from tests.scripted_model import ScriptedChatModel, call, say


class Calls:
    """An observer that writes down what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def model_starting(self) -> None:
        self.seen.append(("starting",))

    def model_served(self, model: str) -> None:
        self.seen.append(("served", model))

    def model_finished(self, model: str, prompt_chars: int, message: BaseMessage | None) -> None:
        self.seen.append(("finished", model, prompt_chars > 0, message is not None))

    def model_event(self, name: str, data: dict[str, Any]) -> None:
        self.seen.append(("event", name, data.get("from"), data.get("to")))

    def tool_finished(self, name: str, outcome: str, seconds: float) -> None:
        self.seen.append(("tool", name, outcome, seconds >= 0))


class _Down(ScriptedChatModel):
    """A provider that is down: every call fails before the first token."""

    def _stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("provider unreachable")
        yield


async def _turn(graph: Any, text: str) -> dict:
    return await graph.ainvoke(
        {"messages": [("user", text)]},
        {"configurable": {"thread_id": "t-1"}},  # no callbacks at all
        context=SupportContext(customer_id="cust-001"),
    )


async def test_every_model_and_tool_call_of_a_turn_is_reported_without_callbacks() -> None:
    model = ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("search_knowledge_base", query="refund timing"),
            say("Refunds take 3-5 business days."),
        ]
    )
    graph = build_graph(model).compile(checkpointer=InMemorySaver())
    calls = Calls()
    with observing(calls):
        result = await _turn(graph, "when will my refund arrive?")

    finished = [s for s in calls.seen if s[0] == "finished"]
    assert finished == [("finished", model._llm_type, True, True)] * 3
    assert calls.seen.count(("starting",)) == 3
    # This graph has no help center, so the search fails: reported as it ended.
    searched = next(m for m in result["messages"] if m.name == "search_knowledge_base")
    outcome = "error" if searched.status == "error" else "ok"
    assert [s for s in calls.seen if s[0] == "tool"] == [
        ("tool", "search_knowledge_base", outcome, True)
    ]


async def test_outside_a_turn_nobody_is_told() -> None:
    graph = build_graph(ScriptedChatModel(replies=[say("Hello!")])).compile(
        checkpointer=InMemorySaver()
    )
    calls = Calls()
    with observing(calls):
        pass
    await _turn(graph, "hi")
    assert calls.seen == []


async def test_a_chain_counts_each_member_that_failed_and_the_one_that_answered() -> None:
    metrics = Metrics()
    telemetry = TurnTelemetry(metrics, PriceBook.load(None), token_budget=None)
    chain = FallbackChatModel(
        chain=[_Down(), ScriptedChatModel(replies=[say("Hello from the backup.")])],
        names=["openai:down", "backup"],
    )
    graph = build_graph(chain).compile(checkpointer=InMemorySaver())
    with observing(telemetry):
        await _turn(graph, "hi")

    assert metrics.model_calls.labels(model="openai:down", outcome="error")._value.get() == 1
    assert metrics.model_calls.labels(model="backup", outcome="ok")._value.get() == 1
    fallbacks = metrics.model_fallbacks.labels(from_model="openai:down", to_model="backup")
    assert fallbacks._value.get() == 1
    assert telemetry.usage["backup"].calls == 1 and "openai:down" not in telemetry.usage


async def test_when_every_member_fails_each_failure_is_counted() -> None:
    metrics = Metrics()
    telemetry = TurnTelemetry(metrics, PriceBook.load(None), token_budget=None)
    chain = FallbackChatModel(chain=[_Down(), _Down()], names=["openai:a", "openai:b"])
    graph = build_graph(chain).compile(checkpointer=InMemorySaver())
    with observing(telemetry), pytest.raises(AllModelsFailedError):
        await _turn(graph, "hi")

    for name in ("openai:a", "openai:b"):
        assert metrics.model_calls.labels(model=name, outcome="error")._value.get() == 1
    assert telemetry.usage == {}
