"""Compose the offline model's answers in words.

Each reply is put together from the intent, the agent's role and the entities
found in the conversation, so the customer sees their own order numbers and
amounts echoed back rather than one canned sentence.
"""

from __future__ import annotations

from collections.abc import Mapping

from graph.llm.offline.bound_tools import AgentRole
from graph.llm.offline.entities import Entities

SCOPES: Mapping[str, str] = {
    "billing": "charges, invoices, refunds, payment methods and subscriptions",
    "returns": "orders, deliveries, returns, exchanges, cancellations and damaged items",
}

CLARIFYING_QUESTION = (
    "I want to get you to the right place. Is this about a charge, invoice or refund, "
    "or about an order, delivery or return?"
)

MISSING_ARGUMENT_QUESTIONS: Mapping[str, str] = {
    "order_id": "Which order is this about? You'll find the order number in your "
    "confirmation e-mail.",
    "invoice_id": "Which invoice do you mean? Invoice numbers start with INV-, for example "
    "INV-1042.",
    "rma_number": "What is your return number? It starts with RMA- and is in the e-mail we "
    "sent when the return was opened.",
    "amount": "How much is this about? Please include the currency, for example 45.20 USD.",
    "email": "Which e-mail address should I use?",
}


def scope(role: AgentRole) -> str:
    """Describe what the agent serving `role` can help with."""
    if role in SCOPES:
        return SCOPES[role]
    return f"billing ({SCOPES['billing']}) and with {SCOPES['returns']}"


def greeting(role: AgentRole) -> str:
    """Greet the customer and say what this agent can help with."""
    return f"Hello! I can help you with {scope(role)}. What can I do for you today?"


def goodbye() -> str:
    """Close the conversation politely."""
    return (
        "You're welcome, glad I could help. If anything else comes up about a charge, "
        "an order or a return, just write here. Have a good day!"
    )


def decline(role: AgentRole) -> str:
    """Decline a request outside customer support and restate the scope."""
    return (
        "Sorry, that's outside what I can help with here: I'm this shop's support assistant. "
        f"I can help with {scope(role)}. Is there anything like that I can do for you?"
    )


def clarify(role: AgentRole) -> str:
    """Ask which kind of problem the customer has, within this agent's scope."""
    if role == "billing":
        return (
            "Could you tell me a little more? Is it about a charge, an invoice, a refund, "
            "a payment method or your subscription?"
        )
    if role == "returns":
        return (
            "Could you tell me a little more? Is it about where an order is, a return, "
            "an exchange, a cancellation or a damaged item?"
        )
    return CLARIFYING_QUESTION


def ask_for(parameter: str) -> str:
    """Ask the customer for a value a tool needs."""
    question = MISSING_ARGUMENT_QUESTIONS.get(parameter)
    if question:
        return question
    return f"Could you tell me the {parameter.replace('_', ' ')}? Then I can look into it."


def which_of_these(listing: str) -> str:
    """Follow the list of the customer's orders with the question which one they mean."""
    return f"{listing}\n\nWhich of these orders is it? Tell me its number and I'll carry on."


OFFER_TO_CHECK: Mapping[str, str] = {
    "order_id": "If you tell me the order number, I can check your order itself.",
    "invoice_id": "If you tell me the invoice number (INV-…), I can check that invoice itself.",
    "rma_number": "If you tell me your return number (RMA-…), I can check that return itself.",
}


def with_offer_to_check(answer: str, parameter: str) -> str:
    """Follow a help-center answer with an offer to check the customer's own record.

    The offer goes before the answer's source lines; without a known offer for
    `parameter` the answer is returned as it is.
    """
    offer = OFFER_TO_CHECK.get(parameter)
    if offer is None:
        return answer
    body, sep, sources = answer.partition("\n\nSource: ")
    return f"{body}\n\n{offer}{sep}{sources}"


def human_agent(role: AgentRole) -> str:
    """Answer a request for a person when no escalation tool is bound."""
    return (
        "I can't connect you to a colleague from this chat, but I'd like to help right away. "
        f"I can help with {scope(role)}: tell me what happened and, if I can't solve it, "
        "I'll tell you so plainly."
    )


def no_knowledge_base(role: AgentRole) -> str:
    """Answer a policy question when the help center is not available."""
    return (
        "I don't have the help center at hand right now, so I won't guess at our policies. "
        f"I can help with {scope(role)}. Is your question about one of those?"
    )


# Per intent: what we understood, and what happens next. `{order}`, `{invoice}`,
# `{rma}` and `{amount}` are filled from the entities.
_DEPARTMENT_REPLIES: Mapping[str, tuple[str, str]] = {
    "invoice_request": (
        "I can help you get {invoice}.",
        "I can't send documents from this chat yet; a colleague from billing can e-mail it to "
        "the address on your account.",
    ),
    "payment_status": (
        "Let me help you check the payment{amount} for {order}.",
        "I can't see payment records from this chat yet. Bank transfers can take a few working "
        "days to show up, so please keep your bank's confirmation at hand.",
    ),
    "charge_explanation": (
        "I can look into the charge{amount} on {order}.",
        "I can't open payment records from this chat yet. If you were charged twice, one of the "
        "two is often a pending authorisation that your bank releases on its own.",
    ),
    "refund_request": (
        "I understand you'd like a refund{amount} for {order}.",
        "I can't issue refunds from this chat yet; refunds go back to the original payment "
        "method once approved.",
    ),
    "payment_method": (
        "I can help with your payment method.",
        "I can't change stored cards from this chat yet; you can manage them in your account "
        "settings, and I can answer questions about payment options here.",
    ),
    "subscription": (
        "I can help with your subscription.",
        "I can't change plans from this chat yet; tell me what you'd like to change and I'll "
        "explain the options.",
    ),
    "order_status": (
        "I'll help you find out where {order} is.",
        "I can't see live tracking from this chat yet; the tracking link is in your shipping "
        "confirmation e-mail.",
    ),
    "return_request": (
        "I can help you return items from {order}.",
        "I can't open returns from this chat yet; whether an item can go back depends on the "
        "return window and its condition.",
    ),
    "return_status": (
        "I'll help you check on {rma}.",
        "I can't see the warehouse's progress from this chat yet; returns are inspected after "
        "they arrive and the outcome is e-mailed to you.",
    ),
    "cancel_order": (
        "I understand you want to cancel {order}.",
        "I can't cancel orders from this chat yet; an order can usually only be cancelled "
        "before it ships.",
    ),
    "exchange": (
        "I can help you exchange an item from {order}.",
        "I can't set up exchanges from this chat yet; tell me the size or model you'd like "
        "instead so the returns team has everything.",
    ),
    "damaged_item": (
        "I'm sorry that {order} arrived damaged or incomplete.",
        "I can't open a claim from this chat yet; please keep the packaging and take a photo "
        "of the damage, which speeds things up.",
    ),
}

_ASKS_FOR: Mapping[str, str] = {
    "invoice_request": "order_id",
    "payment_status": "order_id",
    "charge_explanation": "order_id",
    "refund_request": "order_id",
    "order_status": "order_id",
    "return_request": "order_id",
    "return_status": "rma_number",
    "cancel_order": "order_id",
    "exchange": "order_id",
    "damaged_item": "order_id",
}


def department_answer(intent: str, entities: Entities, role: AgentRole) -> str:
    """Answer a department request in words when no tool for it is bound.

    Args:
        intent: The classified intent (billing or returns).
        entities: Entities from the conversation.
        role: The agent answering, for the fallback scope.

    """
    template = _DEPARTMENT_REPLIES.get(intent)
    if template is None:
        return clarify(role)
    slots = {
        "order": f"order {entities.order_id}" if entities.order_id else "your order",
        "invoice": (
            f"invoice {entities.invoice_id}"
            if entities.invoice_id
            else f"the invoice for order {entities.order_id}"
            if entities.order_id
            else "your invoice"
        ),
        "rma": f"return {entities.rma_number}" if entities.rma_number else "your return",
        "amount": f" of {entities.amount}" if entities.amount else "",
    }
    understood, next_step = (part.format(**slots) for part in template)
    follow_up = ""
    wanted = _ASKS_FOR.get(intent)
    if wanted == "order_id" and not (entities.order_id or entities.invoice_id):
        follow_up = " " + ask_for("order_id")
    elif wanted == "rma_number" and not (entities.rma_number or entities.order_id):
        follow_up = " " + ask_for("rma_number")
    return f"{understood} {next_step}{follow_up}"
