"""Specification of `OfflineChatModel`: routing, tool calls, answers and streaming."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, tool

from graph.llm.offline import OfflineChatModel
from graph.llm.offline.render import NOT_IN_HELP_CENTER


def _handoff(target: str) -> BaseTool:
    @tool(f"transfer_to_{target}", description=f"Transfer the customer to {target}.")
    def handoff() -> str:
        return f"Transferred to {target}."

    return handoff


TRIAGE_TOOLS = [_handoff("billing"), _handoff("returns")]
BILLING_TOOLS = [_handoff("triage"), _handoff("returns")]
RETURNS_TOOLS = [_handoff("triage"), _handoff("billing")]


@tool
def get_order(order_id: int) -> str:
    """Look up one of the customer's orders."""
    return "{}"


@tool
def request_refund(order_id: int, amount: float | None = None, reason: str = "") -> str:
    """Ask for a refund on an order."""
    return "{}"


@tool
def search_knowledge_base(query: str) -> str:
    """Search the help center."""
    return "{}"


@pytest.fixture(scope="module")
def model() -> OfflineChatModel:
    return OfflineChatModel()


def ask(model: OfflineChatModel, tools: list[Any], *history: BaseMessage | str) -> AIMessage:
    messages: list[BaseMessage] = [SystemMessage("You are a support agent.")]
    messages += [HumanMessage(item) if isinstance(item, str) else item for item in history]
    reply = model.bind_tools(tools).invoke(messages)
    assert isinstance(reply, AIMessage)
    return reply


def called(reply: AIMessage) -> tuple[str, dict[str, Any]] | None:
    if not reply.tool_calls:
        return None
    assert len(reply.tool_calls) == 1
    return reply.tool_calls[0]["name"], reply.tool_calls[0]["args"]


def tool_turn(name: str, args: dict[str, Any], result: Any) -> list[BaseMessage]:
    """An agent's tool call and the tool's answer, as they appear in the history."""
    call_id = f"call_{name}"
    content = result if isinstance(result, str) else json.dumps(result)
    return [
        AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}]),
        ToolMessage(content, tool_call_id=call_id, name=name),
    ]


# --- Triage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["I was charged twice for order 1042", "can I get an invoice for my last order?"],
)
def test_clear_billing_request_is_transferred_to_billing(
    model: OfflineChatModel, text: str
) -> None:
    assert called(ask(model, TRIAGE_TOOLS, text)) == ("transfer_to_billing", {})


@pytest.mark.parametrize("text", ["where is my order 1042?", "I want to return these boots"])
def test_clear_returns_request_is_transferred_to_returns(
    model: OfflineChatModel, text: str
) -> None:
    assert called(ask(model, TRIAGE_TOOLS, text)) == ("transfer_to_returns", {})


def test_refund_requests_belong_to_billing(model: OfflineChatModel) -> None:
    reply = ask(model, TRIAGE_TOOLS, "I sent the shoes back, I want my money back")
    assert called(reply) == ("transfer_to_billing", {})


def test_unclear_message_gets_a_clarifying_question(model: OfflineChatModel) -> None:
    reply = ask(model, TRIAGE_TOOLS, "I have a problem")
    assert not reply.tool_calls
    assert "charge, invoice or refund" in reply.text
    assert reply.text.endswith("?")


@pytest.mark.parametrize(
    ("answer", "target"),
    [("billing", "billing"), ("the refund", "billing"), ("it's about a return", "returns")],
)
def test_answer_to_the_clarifying_question_is_routed(
    model: OfflineChatModel, answer: str, target: str
) -> None:
    first = ask(model, TRIAGE_TOOLS, "I have a problem")
    reply = ask(model, TRIAGE_TOOLS, "I have a problem", first, answer)
    assert called(reply) == (f"transfer_to_{target}", {})


def test_greeting_is_answered_with_what_the_assistant_can_do(model: OfflineChatModel) -> None:
    reply = ask(model, TRIAGE_TOOLS, "hello!")
    assert not reply.tool_calls
    assert "refunds" in reply.text and "returns" in reply.text


def test_out_of_scope_request_is_declined_politely(model: OfflineChatModel) -> None:
    reply = ask(model, TRIAGE_TOOLS, "write me a poem about the sea")
    assert not reply.tool_calls
    assert reply.text.startswith("Sorry") and "I can help with" in reply.text


def test_policy_question_searches_the_knowledge_base_when_bound(model: OfflineChatModel) -> None:
    reply = ask(model, [*TRIAGE_TOOLS, search_knowledge_base], "What is your return window?")
    assert called(reply) == ("search_knowledge_base", {"query": "What is your return window?"})


def test_handoff_reason_is_filled_when_the_schema_has_one(model: OfflineChatModel) -> None:
    @tool
    def transfer_to_billing(reason: str) -> str:
        """Transfer the customer to billing."""
        return "ok"

    reply = ask(model, [transfer_to_billing, _handoff("returns")], "I was charged twice")
    name, args = called(reply) or ("", {})
    assert name == "transfer_to_billing"
    assert set(args) == {"reason"} and "charged twice" in args["reason"]


# --- Specialists -----------------------------------------------------------------


def test_specialist_hands_off_to_the_other_specialist(model: OfflineChatModel) -> None:
    assert called(ask(model, BILLING_TOOLS, "where is my parcel? order 1042")) == (
        "transfer_to_returns",
        {},
    )
    assert called(ask(model, RETURNS_TOOLS, "why was I charged $45.20 twice?")) == (
        "transfer_to_billing",
        {},
    )


def test_no_second_handoff_in_the_same_turn(model: OfflineChatModel) -> None:
    # Triage sent a shipping question to billing; billing must not bounce it on.
    history = [
        "where is my parcel? order 1042",
        *tool_turn("transfer_to_billing", {}, "Transferred to billing."),
    ]
    reply = ask(model, BILLING_TOOLS, *history)
    assert not reply.tool_calls
    assert "1042" in reply.text


def test_specialist_answers_own_department_in_words_without_domain_tools(
    model: OfflineChatModel,
) -> None:
    reply = ask(model, BILLING_TOOLS, "I was charged twice for order 1042, $45.20 each")
    assert not reply.tool_calls
    assert "order 1042" in reply.text and "45.20 USD" in reply.text


def test_missing_order_id_is_asked_for(model: OfflineChatModel) -> None:
    reply = ask(model, [*RETURNS_TOOLS, get_order], "where is my order??")
    assert not reply.tool_calls
    assert reply.text.startswith("Which order is this about?")


def test_order_id_given_after_being_asked_for_is_used(model: OfflineChatModel) -> None:
    tools = [*BILLING_TOOLS, request_refund]
    first = ask(model, tools, "I want a refund")
    reply = ask(model, tools, "I want a refund", first, "it's 1042")
    assert called(reply) == (
        "request_refund",
        {"order_id": 1042, "reason": "it's 1042"},
    )


def test_domain_tool_called_when_bound_with_schema_arguments_only(model: OfflineChatModel) -> None:
    @tool
    def get_order(order_id: int) -> str:
        """Look up an order."""
        return "{}"

    reply = ask(model, [*RETURNS_TOOLS, get_order], "Where is order #1042? email me at a@b.io")
    assert called(reply) == ("get_order", {"order_id": 1042})

    text = "Refund $45.20 on order 1042 please, it arrived broken"
    reply = ask(model, [*BILLING_TOOLS, request_refund], text)
    assert called(reply) == ("request_refund", {"order_id": 1042, "amount": 45.2, "reason": text})


def test_a_refund_sum_without_a_currency_is_asked_about_not_refunded_in_full(
    model: OfflineChatModel,
) -> None:
    tools = [*BILLING_TOOLS, request_refund]
    first = ask(model, tools, "I want a refund of 327 on order 1042")
    assert called(first) is None
    assert "include the currency" in first.text

    reply = ask(model, tools, "I want a refund of 327 on order 1042", first, "327 EUR")
    assert called(reply) == (
        "request_refund",
        {"order_id": 1042, "amount": 327.0, "reason": "327 EUR"},
    )


def test_identity_is_never_filled_in(model: OfflineChatModel) -> None:
    @tool
    def get_order(order_id: int, customer_id: str) -> str:
        """Look up an order."""
        return "{}"

    reply = ask(model, [*RETURNS_TOOLS, get_order], "Where is order 1042?")
    assert not reply.tool_calls


def test_same_tool_is_not_called_twice_with_the_same_arguments(model: OfflineChatModel) -> None:
    history = [
        "where is order 1042?",
        *tool_turn("get_order", {"order_id": 1042}, {"status": "shipped"}),
        ToolMessage("Transferred to returns.", tool_call_id="call_x", name="transfer_to_returns"),
    ]
    reply = ask(model, [*RETURNS_TOOLS, get_order], *history)
    assert not reply.tool_calls


# --- Composing answers from tool results -----------------------------------------


def test_answer_is_composed_from_a_json_tool_result(model: OfflineChatModel) -> None:
    result = {"order_id": 1042, "status": "in_transit", "carrier": "DHL", "delivered": False}
    history = ["where is order 1042?", *tool_turn("get_order", {"order_id": 1042}, result)]
    reply = ask(model, [*RETURNS_TOOLS, get_order], *history)
    assert not reply.tool_calls
    assert "Status: in transit" in reply.text and "Carrier: DHL" in reply.text
    assert "Delivered: no" in reply.text


def test_tool_error_is_apologised_for_and_explained(model: OfflineChatModel) -> None:
    history = [
        "where is order 9999?",
        *tool_turn("get_order", {"order_id": 9999}, {"error": "order 9999 not found"}),
    ]
    reply = ask(model, [*RETURNS_TOOLS, get_order], *history)
    assert reply.text.startswith("Sorry") and "order 9999 not found" in reply.text
    assert "double-check" in reply.text


KNOWLEDGE = {
    "query": "how long do I have to return an item",
    "passages": [
        {
            "title": "Returns policy",
            "source": "help/returns.md",
            "section": "Return window",
            "text": "Our shop was founded in 2009. You can return most items within 30 days "
            "of delivery. Items must be unused and in their original packaging. "
            "Gift cards cannot be returned.",
            "score": 0.82,
        },
        {
            "title": "Shipping",
            "source": "help/shipping.md",
            "section": None,
            "text": "We ship to 30 countries. Express delivery takes two working days.",
            "score": 0.31,
        },
    ],
}


def test_answer_composed_from_knowledge_passages_cites_source(model: OfflineChatModel) -> None:
    question = "how long do I have to return an item?"
    history = [question, *tool_turn("search_knowledge_base", {"query": question}, KNOWLEDGE)]
    reply = ask(model, [*TRIAGE_TOOLS, search_knowledge_base], *history)
    assert not reply.tool_calls
    assert "within 30 days of delivery" in reply.text
    assert "founded in 2009" not in reply.text
    assert "Source: Returns policy (help/returns.md)" in reply.text


@pytest.mark.parametrize(
    "passages",
    [
        [],
        [
            {
                "title": "Cookies",
                "source": "help/cookies.md",
                "section": None,
                "text": "We use cookies to remember your language preference.",
                "score": 0.12,
            }
        ],
    ],
)
def test_no_relevant_passage_says_so(
    model: OfflineChatModel, passages: list[dict[str, Any]]
) -> None:
    question = "do you ship to Antarctica by submarine?"
    result = {"query": question, "passages": passages}
    history = [question, *tool_turn("search_knowledge_base", {"query": question}, result)]
    reply = ask(model, [*TRIAGE_TOOLS, search_knowledge_base], *history)
    assert reply.text == NOT_IN_HELP_CENTER
    assert "Source:" not in reply.text


# --- Streaming, async, determinism -----------------------------------------------


def test_streaming_yields_words_and_tool_call_chunks(model: OfflineChatModel) -> None:
    messages = [SystemMessage("triage"), HumanMessage("hello")]
    chunks = list(model.bind_tools(TRIAGE_TOOLS).stream(messages))
    assert len(chunks) > 5
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks) == ask(model, TRIAGE_TOOLS, "hello").text

    messages = [SystemMessage("triage"), HumanMessage("I was charged twice")]
    chunks = list(model.bind_tools(TRIAGE_TOOLS).stream(messages))
    with_calls = [chunk for chunk in chunks if chunk.tool_call_chunks]
    assert len(with_calls) == 1  # LangChain may add an empty closing chunk
    (tool_chunk,) = with_calls[0].tool_call_chunks
    assert tool_chunk["name"] == "transfer_to_billing"
    assert json.loads(tool_chunk["args"] or "") == {}
    assert tool_chunk["id"] and tool_chunk["id"].startswith("call_")
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert [call["name"] for call in merged.tool_calls] == ["transfer_to_billing"]


async def test_ainvoke_and_astream_work(model: OfflineChatModel) -> None:
    bound = model.bind_tools(TRIAGE_TOOLS)
    messages = [SystemMessage("triage"), HumanMessage("where is order 1042?")]
    reply = await bound.ainvoke(messages)
    assert called(reply) == ("transfer_to_returns", {})
    words = [chunk.text async for chunk in bound.astream([HumanMessage("thanks, bye")])]
    assert len(words) > 3


def test_tool_call_ids_are_unique_and_answers_deterministic(model: OfflineChatModel) -> None:
    first = ask(model, TRIAGE_TOOLS, "I was charged twice for order 1042")
    second = ask(model, TRIAGE_TOOLS, "I was charged twice for order 1042")
    assert first.tool_calls[0]["id"] != second.tool_calls[0]["id"]
    assert called(first) == called(second)
    assert (
        ask(model, BILLING_TOOLS, "refund 1042").text
        == ask(model, BILLING_TOOLS, "refund 1042").text
    )


def test_a_call_takes_milliseconds_once_warm(model: OfflineChatModel) -> None:
    ask(model, TRIAGE_TOOLS, "warm up")
    start = time.perf_counter()
    for index in range(20):
        ask(model, TRIAGE_TOOLS, f"where is order {1000 + index}?")
    per_call = (time.perf_counter() - start) / 20
    print(f"offline model latency: {per_call * 1000:.1f} ms per call")
    assert per_call < 0.5


def test_model_reports_its_type(model: OfflineChatModel) -> None:
    assert model._llm_type == "switchboard-offline"


def test_tool_error_tags_are_not_shown_to_the_customer() -> None:
    from graph.llm.offline.render import render_tool_result

    reply = render_tool_result(
        "get_order",
        "Error: [not_found, retryable] Order 999 was not found. Check the arguments and try again.",
        "where is order 999",
    )
    assert "[not_found" not in reply and "retryable" not in reply
    assert "Order 999 was not found" in reply
