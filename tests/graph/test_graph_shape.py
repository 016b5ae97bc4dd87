"""The support graph's shape: agents are nodes of one graph, handoffs move between them."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from graph.context import SupportContext
from tests.scripted_model import ScriptedChatModel, call, say


@tool
def explain_charge(order_id: str) -> str:
    """Explain the charges on an order."""
    return f"Order {order_id}: one charge of 40.00 EUR, one pending authorisation."


def _script() -> list[AIMessage]:
    return [
        call("transfer_to_billing"),
        call("explain_charge", order_id="1007"),
        say("The second line is a pending authorisation; it drops off in a few days."),
    ]


async def _turn(model: ScriptedChatModel) -> tuple[dict, InMemorySaver]:
    saver = InMemorySaver()
    graph = build_graph(model, {"billing": [explain_charge]}).compile(checkpointer=saver)
    state = await graph.ainvoke(
        {},
        {"configurable": {"thread_id": "t"}},
        context=SupportContext(
            customer_id="cust-001", thread_id="t", user_message="Charged twice for 1007?"
        ),
    )
    return state, saver


def _assert_a_full_billing_turn(state: dict) -> None:
    messages = state["messages"]
    assert isinstance(messages[0], HumanMessage)
    assert state["active_agent"] == "billing"
    assert [m.name for m in messages if isinstance(m, ToolMessage)] == [
        "transfer_to_billing",
        "explain_charge",
    ]
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert calls == answered, "every tool call in the history has its answer"
    assert messages[-1].name == "billing"
    assert "pending authorisation" in messages[-1].content


async def test_a_handoff_goes_on_to_the_target_agent_in_the_same_turn() -> None:
    state, _ = await _turn(ScriptedChatModel(replies=_script()))

    _assert_a_full_billing_turn(state)


async def test_the_turn_checkpoints_in_one_namespace_one_checkpoint_per_step() -> None:
    _, saver = await _turn(ScriptedChatModel(replies=_script()))

    checkpoints = list(saver.list({"configurable": {"thread_id": "t"}}))
    assert {c.config["configurable"]["checkpoint_ns"] for c in checkpoints} == {""}
    # -1 holds the input, 0 applies it; then one step per node: guard_input, triage
    # (its handoff carried out in the same step), billing, billing_tools, billing.
    assert sorted(c.metadata["step"] for c in checkpoints) == list(range(-1, 6))


async def test_a_model_that_cannot_stream_still_hands_off_calls_tools_and_answers() -> None:
    # LangChain then yields each reply whole, as one AIMessage.
    state, _ = await _turn(ScriptedChatModel(replies=_script(), disable_streaming=True))

    _assert_a_full_billing_turn(state)
