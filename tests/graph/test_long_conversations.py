"""Issue 8, long conversations: the prompt stays bounded, the history stays whole."""

from __future__ import annotations

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from graph.context import SupportContext
from graph.window import fit_to_budget
from tests.scripted_model import ScriptedChatModel, call, say

BUDGET = 1500
TURNS = 300


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return f"Order {order_id}: shipped on Monday, arriving Thursday. " + "Details. " * 20


def _assert_prompt_is_well_formed(prompt: list[BaseMessage]) -> None:
    assert isinstance(prompt[0], SystemMessage)
    assert isinstance(prompt[1], HumanMessage), "the window opens on a customer message"
    for i, message in enumerate(prompt):
        if isinstance(message, AIMessage) and message.tool_calls:
            followers = []
            for follower in prompt[i + 1 :]:
                if not isinstance(follower, ToolMessage):
                    break
                followers.append(follower.tool_call_id)
            assert {c["id"] for c in message.tool_calls} <= set(followers)
        if isinstance(message, ToolMessage):
            owner = next(m for m in reversed(prompt[:i]) if isinstance(m, AIMessage))
            assert message.tool_call_id in {c["id"] for c in owner.tool_calls}


async def test_a_300_turn_thread_sends_a_bounded_prompt_and_keeps_every_message() -> None:
    replies: list[AIMessage] = []
    for n in range(TURNS):
        if n % 5 == 0:
            replies.append(call("lookup_order", order_id=str(1000 + n)))
        replies.append(say(f"Answer {n}: " + "here is what I found. " * 8))
    model = ScriptedChatModel(replies=replies)
    graph = build_graph(model, {"triage": [lookup_order]}, context_max_tokens=BUDGET).compile(
        checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t-long"}}
    for n in range(TURNS):
        await graph.ainvoke(
            {"messages": [("user", f"Question {n}: " + "where is my parcel? " * 6)]},
            config,
            context=SupportContext(customer_id="cust-1"),
        )

    assert len(model.seen) == TURNS + TURNS // 5
    for prompt in model.seen:
        assert count_tokens_approximately(prompt) <= BUDGET
        _assert_prompt_is_well_formed(prompt)
    # Late prompts are windows, not the whole thread ...
    assert len(model.seen[-1]) < 40
    # ... while the checkpointed state keeps every message.
    state = await graph.aget_state(config)
    messages = state.values["messages"]
    assert sum(isinstance(m, HumanMessage) for m in messages) == TURNS
    assert len(messages) == TURNS * 2 + (TURNS // 5) * 2
    assert messages[0].content.startswith("Question 0:")


def test_a_turn_larger_than_the_budget_is_still_sent_whole() -> None:
    history = [
        SystemMessage("system"),
        HumanMessage("old question"),
        AIMessage("old answer"),
        HumanMessage("new question " * 400),
    ]
    window = fit_to_budget(history, 500)
    assert window[0].content == "system"
    assert window[1:] == history[3:]


def test_the_window_never_opens_on_a_tool_result() -> None:
    calling = AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "c1"}])
    history = [
        SystemMessage("system"),
        HumanMessage("q1 " * 700),
        calling,
        ToolMessage("result " * 50, tool_call_id="c1"),
        AIMessage("a1"),
        HumanMessage("q2"),
        AIMessage("a2"),
    ]
    window = fit_to_budget(history, 600)
    assert isinstance(window[1], HumanMessage)
    assert window[1].content == "q2"


def test_a_conversation_that_fits_is_windowed_as_trim_messages_would() -> None:
    """The shortcut for a history within the budget gives trim_messages' own answer."""
    calling = AIMessage("", tool_calls=[{"name": "t", "args": {"q": "x"}, "id": "c1"}])
    turn = [HumanMessage("q " * 40), calling, ToolMessage("r " * 200, tool_call_id="c1")]
    histories = [
        [SystemMessage("system"), *turn, AIMessage("a1")],
        [SystemMessage("system"), AIMessage("a note before any question"), *turn],
        [SystemMessage("system"), *turn, AIMessage("a1"), HumanMessage("q2"), AIMessage("a2")],
        [SystemMessage("system " * 300), *turn * 3],
    ]
    for history in histories:
        for budget in (count_tokens_approximately(history), 12000):
            expected = trim_messages(
                history,
                max_tokens=budget,
                token_counter=count_tokens_approximately,
                strategy="last",
                start_on="human",
                include_system=True,
                allow_partial=False,
            )
            assert fit_to_budget(history, budget) == expected
