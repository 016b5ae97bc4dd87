"""Carry a request over from the previous turn when the customer confirms it.

"Yes, please open the return" after an eligibility check that said yes, or
"please refund the extra charge" after a charge explanation that found a
duplicate: the next step follows from the last tool result, not from the new
message's intent (issue 9: the evaluation found the offline model could never
open a return or refund just a duplicate charge).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from graph.llm.offline.bound_tools import BoundTools
from graph.llm.offline.conversation import Turn

AFFIRMATIVE = re.compile(
    r"^\W*(?:yes|yeah|yep|sure|ok(?:ay)?|please(?: do)?|go ahead|do it|proceed|that would be great)"
    r"\b|\b(?:go ahead|proceed|open (?:the|a|my) return|start (?:the|a|my) return|"
    r"create (?:the|a|my) return|(?:refund|return) the (?:extra|duplicate|double|second))",
    re.IGNORECASE,
)
NEGATIVE = re.compile(r"^\W*(?:no|nope|don'?t|do not|never ?mind|cancel that)\b", re.IGNORECASE)


def follow_up(turn: Turn, tools: BoundTools) -> tuple[str, dict[str, Any]] | None:
    """Return the tool call that continues the previous turn, or None.

    Only a confirming message continues, only into a bound tool, and never twice
    in one turn (the current turn must not have called a tool yet).
    """
    previous = turn.previous_result
    if previous is None or turn.calls or NEGATIVE.search(turn.user_text):
        return None
    if not AFFIRMATIVE.search(turn.user_text):
        return None
    data = _parse(previous.content)
    if not isinstance(data, dict) or not isinstance(data.get("order_id"), int):
        return None
    order_id = data["order_id"]
    reason = (turn.earlier_user_texts[0] if turn.earlier_user_texts else turn.user_text)[:500]
    if previous.name == "check_return_eligibility" and data.get("eligible") is True:
        if tools.get("create_return") is not None:
            return "create_return", {"order_id": order_id, "reason": reason}
    if previous.name == "explain_charge" and data.get("duplicate_charges"):
        if tools.get("request_refund") is not None:
            extra = _total(data["duplicate_charges"])
            if extra is not None and extra > 0:
                return "request_refund", {
                    "order_id": order_id,
                    "amount": float(extra),
                    "reason": "duplicate charge",
                }
    return None


def _total(charges: Any) -> Decimal | None:
    try:
        return sum((Decimal(str(c["amount"])) for c in charges), Decimal(0))
    except (InvalidOperation, KeyError, TypeError):
        return None


def _parse(content: str) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return None
