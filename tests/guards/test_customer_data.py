"""The output guard hides other customers' order ids and e-mails, not the shop's examples.

Help-center articles use example order numbers ("order #1042"); in the demo store
those are real orders of some customer, so an answer quoting the article showed
"Your Switchboard order #[another order]" to everyone else.
"""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from graph.guarding import texts_of_this_turn
from graph.guards import OutputContext
from graph.guards.customer_data import HIDDEN_EMAIL, HIDDEN_ORDER, ForeignDataMasker

ARTICLE = (
    'Your order number is in the subject of the confirmation email ("Your order #1042"). '
    "Write to support@shop.example for anything else."
)


def _context(**extra: str) -> OutputContext:
    return OutputContext.build(
        caller_emails=["ann@example.com"],
        caller_order_ids=[1077],
        user_text=extra.get("user_text", "Where do I find my order number?"),
        public_text=extra.get("public_text", ""),
    )


def test_another_customers_order_and_email_are_hidden() -> None:
    text, count = ForeignDataMasker().mask(
        "Order #1042 belongs to bob@example.com; yours is order 1077.", _context()
    )
    assert text == f"Order #{HIDDEN_ORDER} belongs to {HIDDEN_EMAIL}; yours is order 1077."
    assert count == 2


def test_what_the_customer_typed_may_be_echoed() -> None:
    text, count = ForeignDataMasker().mask(
        "Order #1042 is not on your account.", _context(user_text="Where is order 1042?")
    )
    assert text == "Order #1042 is not on your account." and count == 0


def test_the_help_centers_examples_and_addresses_are_kept() -> None:
    text, count = ForeignDataMasker().mask(ARTICLE, _context(public_text=ARTICLE))
    assert text == ARTICLE and count == 0


def test_an_id_not_in_the_article_is_still_hidden() -> None:
    text, _ = ForeignDataMasker().mask("Your order #1187 shipped.", _context(public_text=ARTICLE))
    assert HIDDEN_ORDER in text


def test_the_public_text_is_this_turns_passages_not_the_query_or_earlier_turns() -> None:
    def search(query: str, passage: str, call_id: str) -> list:
        result = {"query": query, "passages": [{"title": "Help", "text": passage}]}
        return [
            AIMessage(
                "", tool_calls=[{"name": "search_knowledge_base", "args": {}, "id": call_id}]
            ),
            ToolMessage(json.dumps(result), tool_call_id=call_id, name="search_knowledge_base"),
        ]

    messages = [
        HumanMessage("earlier question"),
        *search("earlier", "An earlier article about order #1500.", "c1"),
        HumanMessage("Where do I find my order number?"),
        *search("bob@example.com order 1999", ARTICLE, "c2"),
    ]
    user_text, public_text = texts_of_this_turn(messages)
    assert user_text == "Where do I find my order number?"
    assert public_text == ARTICLE
