"""What the user reads when a guard acts. Short, polite and revealing nothing about why."""

from __future__ import annotations

REFUSAL_INPUT = (
    "Sorry, I can't help with that request. I can help with your orders, billing and "
    "returns. What would you like to do?"
)
"""Reply to a blocked message: no scanner name, no hint about what tripped."""

REFUSAL_TOO_LONG = (
    "That message is too long for me to handle in one go. Could you shorten it or send "
    "the key details?"
)

REFUSAL_OUTPUT = "Sorry, I can't share that. Is there anything else I can help you with?"
"""Sent in place of the rest of a reply the output guard stopped."""

_NAMES = {
    "CARD": "card number",
    "IBAN": "bank account number",
    "SSN": "social security number",
    "NINO": "national insurance number",
    "EMAIL": "e-mail address",
    "PHONE": "phone number",
    "IP": "IP address",
    "SECRET": "password or key",
}


def redaction_notice(labels: list[str]) -> str | None:
    """Tell the user which of their details were hidden from the assistant, e.g.

    "I've hidden the card number you sent; I'll only use it where it's needed."
    """
    names = [_NAMES.get(label, "personal detail") for label in dict.fromkeys(labels)]
    if not names:
        return None
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if "password or key" in names and len(names) == 1:
        return "I've hidden the password or key you sent. Please never share secrets in chat."
    return f"I've hidden the {listed} you sent; I'll only use it where it's needed."
