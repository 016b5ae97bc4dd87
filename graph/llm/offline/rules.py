"""The rule table: which domain tool serves an intent, and its arguments.

To teach the offline model a new tool, add its name to the intent's entry in
`TOOL_RULES` (candidates are tried in order) and, if it takes a parameter no
existing source fills, a source to `ARGUMENT_SOURCES`. Arguments are built only
for properties in the tool's JSON schema, and identity (customer id, role) is
never filled in: it is injected server-side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graph.llm.offline.bound_tools import BoundTools, ToolSpec
from graph.llm.offline.conversation import call_key
from graph.llm.offline.entities import Entities


@dataclass(frozen=True)
class Facts:
    """What a rule may build arguments from."""

    text: str
    """The customer's latest message."""
    entities: Entities


ArgumentSource = Callable[[Facts], Any]
"""Return a value for a parameter from the facts, or None when there is none."""

TOOL_RULES: Mapping[str, tuple[str, ...]] = {
    "order_status": ("get_order", "track_order"),
    "return_request": ("check_return_eligibility", "create_return"),
    "exchange": ("check_return_eligibility", "create_exchange"),
    "damaged_item": ("check_return_eligibility", "get_order"),
    "return_status": ("track_return", "get_return"),
    "cancel_order": ("cancel_order",),
    "refund_request": ("request_refund", "get_refund_status"),
    "invoice_request": ("get_invoice", "list_invoices"),
    "charge_explanation": ("explain_charge", "payment_status", "get_payment_status"),
    "payment_status": ("payment_status", "get_payment_status", "explain_charge"),
    "payment_method": ("list_payment_methods",),
    "subscription": ("get_subscription",),
    "policy_question": ("search_knowledge_base",),
    "human_agent": ("escalate_to_human", "request_human"),
}
"""Intent → candidate tool names, most specific first."""


def _amount(facts: Facts) -> Any:
    return facts.entities.amount.amount if facts.entities.amount else None


ARGUMENT_SOURCES: Mapping[str, ArgumentSource] = {
    "order_id": lambda facts: facts.entities.order_id,
    "invoice_id": lambda facts: facts.entities.invoice_id,
    "rma_number": lambda facts: facts.entities.rma_number,
    "rma": lambda facts: facts.entities.rma_number,
    "return_id": lambda facts: facts.entities.rma_number,
    "amount": _amount,
    "currency": lambda facts: facts.entities.amount.currency if facts.entities.amount else None,
    "email": lambda facts: facts.entities.email,
    "reason": lambda facts: facts.text or None,
    "query": lambda facts: facts.text or None,
    "question": lambda facts: facts.text or None,
}
"""Schema property name → where its value comes from."""

ASK_WHEN_UNCLEAR: Mapping[str, Callable[[Facts], bool]] = {
    "amount": lambda facts: bool(facts.entities.unpriced_amounts),
}
"""Optional parameters to ask for rather than leave out when the customer gave
an unclear value: a refund "of 327" with no currency must not become a refund
of everything that is left."""

IDENTITY_PARAMETERS = frozenset({"customer_id", "user_id", "account_id", "customer", "role"})
"""Never filled by the model, even if a schema exposes them."""


@dataclass(frozen=True)
class ToolPlan:
    """The outcome of matching an intent against the bound tools.

    Exactly one of `call` (a tool name and arguments ready to go) or `missing`
    (a required parameter to ask the customer for) is set, or neither when no
    rule's tool is bound.
    """

    call: tuple[str, dict[str, Any]] | None = None
    missing: str | None = None


def build_arguments(spec: ToolSpec, facts: Facts) -> tuple[dict[str, Any], list[str]]:
    """Fill a tool's schema properties from the facts.

    Returns:
        The arguments that could be filled, and the required ones that could not.

    """
    arguments: dict[str, Any] = {}
    missing: list[str] = []
    for name, schema in spec.properties.items():
        source = ARGUMENT_SOURCES.get(name)
        value = None
        if name not in IDENTITY_PARAMETERS and source is not None:
            value = _coerce(source(facts), schema)
        if value is not None:
            arguments[name] = value
        elif name in spec.required or (
            (unclear := ASK_WHEN_UNCLEAR.get(name)) is not None and unclear(facts)
        ):
            missing.append(name)
    return arguments, missing


def plan_tool_call(
    intent: str,
    tools: BoundTools,
    facts: Facts,
    already_called: set[tuple[str, str]],
) -> ToolPlan:
    """Pick the first bound candidate for `intent` whose required arguments are known.

    Args:
        intent: The classified intent.
        tools: What is bound to the model.
        facts: The message and its entities.
        already_called: `call_key`s of the calls made this turn; none is repeated.

    """
    missing: str | None = None
    for name in TOOL_RULES.get(intent, ()):
        spec = tools.get(name)
        if spec is None:
            continue
        arguments, lacking = build_arguments(spec, facts)
        if lacking:
            missing = missing or lacking[0]
            continue
        if call_key(name, arguments) in already_called:
            continue
        return ToolPlan(call=(name, arguments))
    return ToolPlan(missing=missing)


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Convert a value to the schema's type, or None when it does not fit."""
    if value is None:
        return None
    kind = schema.get("type")
    if kind is None and "anyOf" in schema:
        kinds = [option.get("type") for option in schema["anyOf"] if option.get("type") != "null"]
        kind = kinds[0] if kinds else None
    try:
        if kind == "integer":
            value = int(value)
        elif kind == "number":
            value = float(value)
        elif kind == "string":
            value = str(value)
    except (TypeError, ValueError):
        return None
    if "enum" in schema and value not in schema["enum"]:
        return None
    return value
