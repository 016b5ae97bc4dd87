"""Regressions found by the evaluation suite (issue 9) in the offline model.

The texts here are not evaluation cases (evals/data/cases.jsonl): they test the
same behaviours with other words.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from graph.llm.offline import OfflineChatModel
from graph.llm.offline.entities import extract_entities
from graph.llm.offline.render import NOT_IN_HELP_CENTER, answer_from_passages, render_tool_result
from tests.graph.test_offline_model import (
    BILLING_TOOLS,
    RETURNS_TOOLS,
    TRIAGE_TOOLS,
    ask,
    called,
    get_order,
    request_refund,
    search_knowledge_base,
    tool_turn,
)


@tool
def check_return_eligibility(order_id: int) -> str:
    """Check whether an order can be returned."""
    return "{}"


@tool
def create_return(order_id: int, reason: str, item_ids: list[int] | None = None) -> str:
    """Open a return."""
    return "{}"


@tool
def explain_charge(order_id: int) -> str:
    """Explain an order's charges."""
    return "{}"


@pytest.fixture(scope="module")
def model() -> OfflineChatModel:
    return OfflineChatModel()


def _searched(query: str, *passages: dict[str, Any]) -> list[Any]:
    """A help-center search for `query` and its result, as they appear in the history."""
    return tool_turn(
        "search_knowledge_base", {"query": query}, {"query": query, "passages": list(passages)}
    )


def _said(reply: AIMessage) -> str:
    assert not reply.tool_calls
    return str(reply.content)


def test_rma_numbers_keep_the_stores_numbered_suffix() -> None:
    assert extract_entities("news on RMA-2210-3?").rma_numbers == ("RMA-2210-3",)


def test_off_topic_request_is_declined_instead_of_a_clarifying_question(model) -> None:  # type: ignore[no-untyped-def]
    text = _said(ask(model, TRIAGE_TOOLS, "recommend a podcast about astronomy"))
    assert text.startswith("Sorry") and "I can help with" in text


def test_off_topic_request_tries_the_help_center_first_and_declines_when_it_has_nothing(
    model,
) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    text = "recommend a podcast about astronomy"
    first = ask(model, tools, text)
    assert called(first) == ("search_knowledge_base", {"query": text})
    empty = _searched(text)
    reply = ask(model, tools, text, *empty)
    assert _said(reply).startswith("Sorry") and NOT_IN_HELP_CENTER not in reply.content


def test_unclear_store_request_still_gets_the_clarifying_question(model) -> None:  # type: ignore[no-untyped-def]
    assert "charge, invoice or refund" in _said(ask(model, TRIAGE_TOOLS, "I have a problem"))


def test_an_unclear_question_is_looked_up_in_the_help_center_before_asking_back(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    text = "Someone else is using my login, what can I do?"
    assert called(ask(model, tools, text)) == ("search_knowledge_base", {"query": text})


def test_an_unclear_question_the_help_center_cannot_answer_gets_the_clarifying_question(
    model,
) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    text = "Someone else is using my login, what can I do?"
    empty = _searched(text)
    reply = _said(ask(model, tools, text, *empty))
    assert "charge, invoice or refund" in reply and NOT_IN_HELP_CENTER not in reply


def test_an_unclear_statement_is_not_searched_but_clarified(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    assert "charge, invoice or refund" in _said(ask(model, tools, "I have a problem"))


def test_specialist_looks_up_a_general_question_no_tool_serves(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_TOOLS, search_knowledge_base]
    text = "Do you take PayPal or Apple Pay?"
    assert called(ask(model, tools, text)) == ("search_knowledge_base", {"query": text})


def test_specialist_without_the_help_center_still_answers_in_words(model) -> None:  # type: ignore[no-untyped-def]
    reply = _said(ask(model, BILLING_TOOLS, "Do you take PayPal or Apple Pay?"))
    assert "payment method" in reply


def test_specialist_does_not_look_up_a_statement_about_the_customers_own_card(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_TOOLS, search_knowledge_base]
    reply = ask(model, tools, "I want to change the card on my account")
    assert not reply.tool_calls


def test_specialist_answers_a_policy_question_from_the_help_center(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, get_order, check_return_eligibility, search_knowledge_base]
    text = "How long after delivery can things be sent back?"
    assert called(ask(model, tools, text)) == ("search_knowledge_base", {"query": text})


OWN_QUESTION = "How long does a refund take to reach my card?"
REFUND_PASSAGE = {
    "title": "Refund timing",
    "source": "help_center/refund-timing.md",
    "section": "Timing",
    "text": "A refund takes 5 to 10 business days to reach your card after we issue it.",
    "score": 0.82,
}


BILLING_RECORD_TOOLS = [*BILLING_TOOLS, get_order, explain_charge, request_refund]


def test_specialist_looks_up_a_question_about_the_customers_own_money_first(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_RECORD_TOOLS, search_knowledge_base]
    assert called(ask(model, tools, OWN_QUESTION)) == (
        "search_knowledge_base",
        {"query": OWN_QUESTION},
    )


def test_the_policy_answer_to_an_own_question_offers_to_check_the_order(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_RECORD_TOOLS, search_knowledge_base]
    found = _searched(OWN_QUESTION, REFUND_PASSAGE)
    reply = _said(ask(model, tools, OWN_QUESTION, *found))
    answer, offer, source = reply.split("\n\n")
    assert "5 to 10 business days" in answer
    assert offer == "If you tell me the order number, I can check your order itself."
    assert source == "Source: Refund timing (help_center/refund-timing.md)"


def test_specialist_asks_for_the_order_when_the_help_center_has_nothing(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, get_order, check_return_eligibility, search_knowledge_base]
    text = "can my order be returned?"
    assert called(ask(model, tools, text)) == ("search_knowledge_base", {"query": text})
    empty = _searched(text)
    assert _said(ask(model, tools, text, *empty)).startswith("Which order")


def test_specialist_still_asks_for_the_order_of_a_personal_question_without_the_help_center(
    model,
) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, get_order, check_return_eligibility]
    assert _said(ask(model, tools, "can my order be returned?")).startswith("Which order")


def _eligible(order_id: int) -> list[Any]:
    return tool_turn(
        "check_return_eligibility",
        {"order_id": order_id},
        {"order_id": order_id, "eligible": True, "returnable_item_ids": [1]},
    )


def test_confirming_after_an_eligible_check_opens_the_return(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, check_return_eligibility, create_return]
    first = "I'd like to give back order 2210, wrong colour"
    history = [first, *_eligible(2210), AIMessage("It can be returned.")]
    reply = ask(model, tools, *history, "sure, start the return please")
    assert called(reply) == ("create_return", {"order_id": 2210, "reason": first})


def test_declining_after_an_eligible_check_opens_nothing(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, check_return_eligibility, create_return]
    history = ["return order 2210", *_eligible(2210), AIMessage("It can be returned.")]
    reply = ask(model, tools, *history, "no, I'll keep it after all")
    assert (called(reply) or ("", {}))[0] != "create_return"


def test_confirming_after_a_duplicate_charge_refunds_only_the_extra_charge(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_TOOLS, explain_charge, request_refund]
    explained = tool_turn(
        "explain_charge",
        {"order_id": 2210},
        {"order_id": 2210, "duplicate_charges": [{"payment_id": "PAY-2210-2", "amount": "64.80"}]},
    )
    history = ["order 2210 shows up twice on my card", *explained, AIMessage("Found it.")]
    reply = ask(model, tools, *history, "yes please, refund the extra one")
    name, args = called(reply) or ("", {})
    assert name == "request_refund"
    assert args["order_id"] == 2210 and args["amount"] == pytest.approx(64.80)


def _passage(source: str, text: str, score: float) -> dict[str, Any]:
    return {"source": source, "title": source.title(), "text": text, "score": score}


def test_the_answer_is_built_on_the_best_ranked_article_and_cites_it() -> None:
    passages = [
        _passage(
            "bikes",
            "Bicycles ship within the country in 3 days. Assembly is free for every bicycle.",
            0.71,
        ),
        # Ranked second, but one of its lines repeats the question's words almost exactly.
        _passage(
            "abroad",
            "How long does delivery take for a bicycle abroad? Parcels abroad take 10 days.",
            0.69,
        ),
    ]

    answer = answer_from_passages(passages, "How long does delivery take for a bicycle?")

    assert answer.startswith("Bicycles ship within the country in 3 days")
    assert "Source: Bikes (bikes)" in answer


def test_a_lower_ranked_article_answers_when_the_best_ranked_has_nothing_relevant() -> None:
    passages = [
        _passage("weather", "It rained all week in the harbour town.", 0.71),
        _passage("bikes", "Bicycles ship within the country in 3 days.", 0.69),
    ]

    answer = answer_from_passages(passages, "How long does bicycle delivery take?")

    assert "Bicycles ship within the country in 3 days." in answer
    assert "Source: Bikes (bikes)" in answer and "weather" not in answer


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it() -> None:
    passages = [
        _passage(
            "plus",
            "Our Plus programme started in 2019 for frequent shoppers. It costs $59 per year.",
            0.8,
        )
    ]

    answer = answer_from_passages(passages, "How much does it cost per year?")

    # Not "It costs $59 per year." alone: the customer would not know what "it" is.
    assert answer.startswith("Our Plus programme started in 2019 for frequent shoppers. It costs")


def test_a_passage_that_opens_on_such_a_sentence_lends_it_its_heading() -> None:
    passage = _passage("returns", "There are none: every item can be returned within 30 days.", 0.8)
    passage["section"] = "Shorter return windows"

    answer = answer_from_passages([passage], "Do some items have a shorter return window?")

    assert answer.startswith("Shorter return windows: There are none: every item can be")


def test_bold_text_at_the_start_of_a_sentence_keeps_both_markers() -> None:
    passages = [
        _passage("plus", "- **Plus** members have a 45-day return window.", 0.8),
    ]

    answer = answer_from_passages(passages, "How long is the return window for Plus members?")

    assert answer.startswith("**Plus** members have a 45-day return window.")


def _section(source: str, section: str, text: str, score: float) -> dict[str, Any]:
    return {**_passage(source, text, score), "section": section}


PAYMENT_SECTIONS = [
    _section(
        "payment-methods",
        "What we do not accept",
        "Cash on delivery, cheques and bank transfers are not accepted.",
        0.70,
    ),
    _section(
        "payment-methods",
        "What we accept",
        "We accept cards, PayPal, Apple Pay and gift cards.",
        0.64,
    ),
]


def test_a_what_question_is_answered_with_what_is_so_before_what_is_not() -> None:
    answer = answer_from_passages(PAYMENT_SECTIONS, "What payment methods do you accept?")
    assert answer.startswith("We accept cards, PayPal, Apple Pay and gift cards.")


def test_a_yes_no_question_may_be_answered_by_a_negation() -> None:
    answer = answer_from_passages(PAYMENT_SECTIONS, "Do you accept bank transfers?")
    assert answer.startswith("Cash on delivery, cheques and bank transfers are not accepted.")


def test_another_article_does_not_take_the_lead_from_a_negation() -> None:
    other_article = [PAYMENT_SECTIONS[0], {**PAYMENT_SECTIONS[1], "source": "gift-cards"}]
    answer = answer_from_passages(other_article, "What payment methods do you accept?")
    assert answer.startswith("Cash on delivery, cheques and bank transfers are not accepted.")


# --- How-it-works questions, and questions no tool serves ----------------------------


@tool
def list_invoices() -> str:
    """List the customer's invoices."""
    return "[]"


INVOICE_TOOLS = [*BILLING_TOOLS, list_invoices, explain_charge, search_knowledge_base]
HOW_TO_QUESTION = "How do I get an invoice with my business tax number on it?"


def test_a_how_to_question_is_looked_up_before_the_customers_records_are_listed(model) -> None:  # type: ignore[no-untyped-def]
    assert called(ask(model, INVOICE_TOOLS, HOW_TO_QUESTION)) == (
        "search_knowledge_base",
        {"query": HOW_TO_QUESTION},
    )


@pytest.mark.parametrize("text", ["Show me my invoices", "Can I see all my invoices?"])
def test_asking_to_see_the_records_still_lists_them(model, text: str) -> None:  # type: ignore[no-untyped-def]
    assert called(ask(model, INVOICE_TOOLS, text)) == ("list_invoices", {})


def test_a_how_to_question_the_help_center_cannot_answer_gets_the_list(model) -> None:  # type: ignore[no-untyped-def]
    empty = _searched(HOW_TO_QUESTION)
    assert called(ask(model, INVOICE_TOOLS, HOW_TO_QUESTION, *empty)) == ("list_invoices", {})


def test_a_how_to_question_the_help_center_answers_gets_the_answer(model) -> None:  # type: ignore[no-untyped-def]
    passage = {
        "title": "Invoices",
        "source": "help_center/invoices.md",
        "text": "To get an invoice with your business tax number, add the number in your "
        "account before you order; it is printed on every invoice.",
        "score": 0.8,
    }
    found = _searched(HOW_TO_QUESTION, passage)
    reply = _said(ask(model, INVOICE_TOOLS, HOW_TO_QUESTION, *found))
    assert "business tax number" in reply
    assert reply.endswith("Source: Invoices (help_center/invoices.md)")


OWN_CARD_QUESTION = "Is my card kept safe when I save it on my account?"


def test_an_own_question_no_tool_serves_is_looked_up(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_TOOLS, search_knowledge_base]
    assert called(ask(model, tools, OWN_CARD_QUESTION)) == (
        "search_knowledge_base",
        {"query": OWN_CARD_QUESTION},
    )


def test_an_own_question_the_help_center_cannot_answer_gets_what_the_chat_can_do(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*BILLING_TOOLS, search_knowledge_base]
    empty = _searched(OWN_CARD_QUESTION)
    reply = _said(ask(model, tools, OWN_CARD_QUESTION, *empty))
    assert reply == _said(ask(model, BILLING_TOOLS, OWN_CARD_QUESTION))
    assert reply != NOT_IN_HELP_CENTER


CONTACT_QUESTION = "Do you have a support phone line?"


def test_a_question_about_how_to_reach_the_shop_is_looked_up(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    assert called(ask(model, tools, CONTACT_QUESTION)) == (
        "search_knowledge_base",
        {"query": CONTACT_QUESTION},
    )


def test_asking_for_a_person_is_not_looked_up(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    reply = _said(ask(model, tools, "Can I talk to a real person please?"))
    assert "colleague" in reply


def test_a_contact_question_the_help_center_cannot_answer_gets_the_person_answer(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    empty = _searched(CONTACT_QUESTION)
    reply = _said(ask(model, tools, CONTACT_QUESTION, *empty))
    assert reply == _said(ask(model, TRIAGE_TOOLS, "Can I talk to a real person please?"))


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("refund policy", BILLING_RECORD_TOOLS),
        ("Tell me your cancellation policy", [*RETURNS_TOOLS, get_order]),
    ],
)
def test_a_message_naming_a_policy_is_looked_up_not_answered_with_a_question(
    model, text: str, tools: list[Any]
) -> None:  # type: ignore[no-untyped-def]
    assert called(ask(model, [*tools, search_knowledge_base], text)) == (
        "search_knowledge_base",
        {"query": text},
    )


def test_a_complaint_naming_the_rules_still_gets_the_question_for_the_order(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, get_order, check_return_eligibility, search_knowledge_base]
    text = "Your rules are stupid, the item was broken when it arrived!"
    assert _said(ask(model, tools, text)).startswith("Which order")


def test_words_of_both_departments_go_where_the_classifier_leans(model) -> None:  # type: ignore[no-untyped-def]
    # "total" is billing's word, "order" returns'; the classifier leans to billing but
    # too narrowly to act on alone.
    text = "Could you go through the total of order 7001 line by line?"
    assert called(ask(model, TRIAGE_TOOLS, text)) == ("transfer_to_billing", {})


def test_an_unsure_message_closest_to_an_off_topic_one_is_declined(model) -> None:  # type: ignore[no-untyped-def]
    # Closest to the off-topic examples, but by too little to be sure: no clarifying
    # question ("charge or order?") for a translation request.
    tools = [*TRIAGE_TOOLS, search_knowledge_base]
    text = "Put 'good morning' into Hindi"
    assert called(ask(model, tools, text)) == ("search_knowledge_base", {"query": text})
    empty = _searched(text)
    assert "outside what I can help with" in _said(ask(model, tools, text, *empty))


# --- Records read like a person wrote them -------------------------------------------


def test_sums_carry_their_currency_and_times_read_as_dates() -> None:
    invoices = {
        "invoices": [
            {
                "invoice_id": "INV-1001",
                "amount": "117.7",
                "currency": "USD",
                "status": "open",
                "issued_at": "2026-11-23T09:30:00+00:00",
            }
        ]
    }
    text = render_tool_result("list_invoices", json.dumps(invoices), "my invoices")
    assert "amount 117.70 USD" in text
    assert "issued at 23 Nov 2026, 09:30 UTC" in text
    assert "currency" not in text.lower()


def test_a_records_currency_goes_with_the_sums_of_its_nested_records() -> None:
    payments = {
        "order_id": 1042,
        "currency": "EUR",
        "paid": "313.17",
        "placed_on": "2026-11-02",
        "payments": [{"payment_id": "pay-1", "amount": "313.17", "status": "captured"}],
    }
    text = render_tool_result("payment_status", json.dumps(payments), "order 1042")
    assert "- Paid: 313.17 EUR" in text
    assert "- Placed on: 2 Nov 2026" in text
    assert "payment id pay-1, amount 313.17 EUR, status captured" in text


def test_a_long_list_says_how_many_records_it_leaves_out() -> None:
    invoices = {"invoices": [{"invoice_id": f"INV-{1000 + i}"} for i in range(8)]}
    text = render_tool_result("list_invoices", json.dumps(invoices), "my invoices")
    assert "INV-1004" in text and "INV-1005" not in text
    assert text.endswith("…and 3 more")


def test_a_list_heading_without_room_for_its_records_is_left_out() -> None:
    many = {f"field_{i}": i for i in range(7)} | {"payments": [{"payment_id": "pay-1"}]}
    text = render_tool_result("payment_status", json.dumps(many), "order 1042")
    assert not text.endswith(":")


# --- "My order" without its number: the customer picks from their orders -------------


@tool
def list_orders() -> str:
    """List the customer's orders."""
    return "{}"


ORDER_TOOLS = [*RETURNS_TOOLS, list_orders, get_order, check_return_eligibility]
ORDERS = {
    "orders": [
        {"order_id": 1062, "status": "shipped", "total": "52.10", "currency": "USD"},
        {"order_id": 1002, "status": "delivered", "total": "19.99", "currency": "USD"},
    ]
}


@pytest.mark.parametrize("text", ["Where is my order?", "I want to send my parcel back"])
def test_speaking_of_my_order_without_its_number_lists_the_orders(model, text: str) -> None:  # type: ignore[no-untyped-def]
    assert called(ask(model, [*ORDER_TOOLS, search_knowledge_base], text)) == ("list_orders", {})


def test_the_list_ends_with_the_question_which_order(model) -> None:  # type: ignore[no-untyped-def]
    listed = tool_turn("list_orders", {}, ORDERS)
    reply = _said(ask(model, ORDER_TOOLS, "Where is my order?", *listed))
    assert "order id 1062, status shipped, total 52.10 USD" in reply
    assert reply.endswith("Which of these orders is it? Tell me its number and I'll carry on.")


def test_the_number_picked_from_the_list_carries_the_request_on(model) -> None:  # type: ignore[no-untyped-def]
    listed = tool_turn("list_orders", {}, ORDERS)
    asked = AIMessage(_said(ask(model, ORDER_TOOLS, "Where is my order?", *listed)))
    reply = ask(model, ORDER_TOOLS, "Where is my order?", *listed, asked, "1062")
    assert called(reply) == ("get_order", {"order_id": 1062})


def test_no_orders_to_choose_from_gets_no_question_about_them(model) -> None:  # type: ignore[no-untyped-def]
    listed = tool_turn("list_orders", {}, {"orders": []})
    assert "Which of these" not in _said(ask(model, ORDER_TOOLS, "Where is my order?", *listed))


def test_without_the_list_the_order_number_is_asked_for(model) -> None:  # type: ignore[no-untyped-def]
    tools = [*RETURNS_TOOLS, get_order, check_return_eligibility, search_knowledge_base]
    assert _said(ask(model, tools, "Where is my order?")).startswith("Which order")


def test_a_policy_question_about_my_order_is_still_looked_up_first(model) -> None:  # type: ignore[no-untyped-def]
    text = "How long does my order take to arrive?"
    assert called(ask(model, [*ORDER_TOOLS, search_knowledge_base], text)) == (
        "search_knowledge_base",
        {"query": text},
    )


def test_a_number_that_could_be_a_year_is_an_order_when_picked_from_the_list(model) -> None:  # type: ignore[no-untyped-def]
    orders = {"orders": [{"order_id": 2031, "status": "shipped"}, {"order_id": 1002}]}
    listed = tool_turn("list_orders", {}, orders)
    asked = AIMessage(_said(ask(model, ORDER_TOOLS, "Where is my order?", *listed)))
    reply = ask(model, ORDER_TOOLS, "Where is my order?", *listed, asked, "2031")
    assert called(reply) == ("get_order", {"order_id": 2031})
