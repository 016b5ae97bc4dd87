"""Another customer's data in a reply: e-mails and order ids that are not the caller's."""

from __future__ import annotations

import re

from graph.guards.verdicts import OutputContext

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ORDER_ID = re.compile(
    r"(?:\border(?:s)?\s*(?:no\.?|number|id)?\s*[:#]?\s*|#)(\d{3,10})\b"
    r"(?:(?:\s*(?:,|and|&|or)\s*#?)(\d{3,10})\b)*",
    re.IGNORECASE,
)
_ORDER_NUMBER = re.compile(r"\d{3,10}")
HIDDEN_EMAIL = "[another customer's e-mail]"
HIDDEN_ORDER = "[another order]"


class ForeignDataMasker:
    """Mask e-mails and order ids in a reply that the caller does not own or mention.

    Ids and addresses of this turn's help-center passages stay: they are examples
    and the shop's own.
    """

    def mask(self, text: str, context: OutputContext) -> tuple[str, int]:
        """Return `text` with foreign e-mails and order ids replaced, and how many."""
        mentioned = f"{context.user_text}\n{context.public_text}".lower()
        count = 0

        def email(m: re.Match[str]) -> str:
            nonlocal count
            value = m.group(0).lower()
            if value in context.caller_emails or value in mentioned:
                return m.group(0)
            count += 1
            return HIDDEN_EMAIL

        def order_ids(m: re.Match[str]) -> str:
            nonlocal count
            chunk = m.group(0)

            def one(n: re.Match[str]) -> str:
                nonlocal count
                if n.group(0) in context.caller_order_ids or re.search(
                    rf"\b{n.group(0)}\b", mentioned
                ):
                    return n.group(0)
                count += 1
                return HIDDEN_ORDER

            return _ORDER_NUMBER.sub(one, chunk)

        text = _EMAIL.sub(email, text)
        text = ORDER_ID.sub(order_ids, text)
        return text, count
