"""The support graph's shape: agents are nodes of one graph, handoffs move between them."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from graph.context import SupportContext
from graph.read_only import MAX_INLINE_TOOL_ROUNDS, mark_read_only
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


@tool
def invoice_pdf(order_id: str) -> str:
    """Look up the invoice of an order."""
    return f"https://shop.example/invoices/{order_id}.pdf"


@tool
def resend_invoice(order_id: str) -> str:
    """E-mail the invoice of an order again (an action: not read-only)."""
    return f"Invoice of {order_id} sent."


@tool
def broken_lookup(order_id: str) -> str:
    """Look up an order in a system that is down."""
    raise ConnectionError("the order system did not answer")


mark_read_only(invoice_pdf, broken_lookup)


async def _turn(model: ScriptedChatModel, tools: list | None = None) -> tuple[dict, InMemorySaver]:
    state, saver, _ = await _turn_nodes(model, tools)
    return state, saver


async def _turn_nodes(
    model: ScriptedChatModel, tools: list | None = None
) -> tuple[dict, InMemorySaver, list[str]]:
    """Run one turn; return its final state, the saver and the nodes run, step by step."""
    saver = InMemorySaver()
    toolkit = {"billing": tools or [explain_charge]}
    graph = build_graph(model, toolkit).compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    nodes: list[str] = []
    async for update in graph.astream(
        {},
        config,
        context=SupportContext(
            customer_id="cust-001", thread_id="t", user_message="Charged twice for 1007?"
        ),
        stream_mode="updates",
    ):
        nodes += list(update)
    return (await graph.aget_state(config)).values, saver, nodes


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


async def test_read_only_lookups_run_inside_the_agents_model_step() -> None:
    state, saver, nodes = await _turn_nodes(
        ScriptedChatModel(
            replies=[
                call("transfer_to_billing"),
                call("invoice_pdf", order_id="1007"),
                call("invoice_pdf", order_id="1008"),
                say("Here are both invoices."),
            ]
        ),
        [invoice_pdf, resend_invoice],
    )

    messages = state["messages"]
    assert [m.content for m in messages if isinstance(m, ToolMessage)][1:] == [
        "https://shop.example/invoices/1007.pdf",
        "https://shop.example/invoices/1008.pdf",
    ]
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls == [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    # Triage hands off; billing runs both lookups and answers: no tools step.
    assert nodes == ["guard_input", "triage", "billing"]
    steps = [c.metadata["step"] for c in saver.list({"configurable": {"thread_id": "t"}})]
    assert sorted(steps) == list(range(-1, 4))


async def test_an_action_runs_in_the_tools_step_even_beside_a_lookup() -> None:
    both = AIMessage(
        content="",
        tool_calls=[
            {"name": "invoice_pdf", "args": {"order_id": "1007"}, "id": "call_pdf"},
            {"name": "resend_invoice", "args": {"order_id": "1007"}, "id": "call_send"},
        ],
    )
    state, _, nodes = await _turn_nodes(
        ScriptedChatModel(replies=[call("transfer_to_billing"), both, say("Sent again.")]),
        [invoice_pdf, resend_invoice],
    )

    assert nodes == ["guard_input", "triage", "billing", "billing_tools", "billing"]
    answered = {m.tool_call_id: m.content for m in state["messages"] if isinstance(m, ToolMessage)}
    assert answered["call_send"] == "Invoice of 1007 sent."
    assert answered["call_pdf"].endswith("1007.pdf")


async def test_a_model_that_keeps_looking_things_up_is_stepped_after_the_limit() -> None:
    # A turn runs MAX_INLINE_TOOL_ROUNDS lookup rounds inside model steps; each later
    # round is a tools step, so the turn's recursion limit still bounds the model calls.
    extra = 3
    lookups = [
        call("invoice_pdf", order_id=str(1000 + n)) for n in range(MAX_INLINE_TOOL_ROUNDS + extra)
    ]
    state, _, nodes = await _turn_nodes(
        ScriptedChatModel(replies=[call("transfer_to_billing"), *lookups, say("Done.")]),
        [invoice_pdf],
    )

    assert nodes == ["guard_input", "triage", *["billing", "billing_tools"] * extra, "billing"]
    assert len([m for m in state["messages"] if isinstance(m, ToolMessage)]) == len(lookups) + 1
    assert state["messages"][-1].content == "Done."


async def test_a_failing_lookup_in_the_model_step_becomes_an_error_the_model_answers() -> None:
    state, _, nodes = await _turn_nodes(
        ScriptedChatModel(
            replies=[
                call("transfer_to_billing"),
                call("broken_lookup", order_id="1007"),
                say("Our order system is not answering; please try again in a minute."),
            ]
        ),
        [broken_lookup],
    )

    assert nodes == ["guard_input", "triage", "billing"]
    failed = [m for m in state["messages"] if isinstance(m, ToolMessage)][-1]
    assert failed.status == "error"
    assert "the order system did not answer" in failed.content
    assert state["messages"][-1].content.startswith("Our order system is not answering")
