"""Mask PII and secrets in text bound for logs and traces.

Cheap regular expressions, not the guard pipeline (graph/guards): this runs on
every log line and every traced payload, so it must be fast and must never
fail. It errs on the side of masking: a masked order number in a log is a
smaller harm than a card number in a third-party trace store.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

_SECRETS = re.compile(
    r"""
    \b(?:sk|pk|rk)-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{16,}   # OpenAI / Anthropic / Stripe
    | \blsv2_[a-z]{2}_[A-Za-z0-9_]{16,}                             # LangSmith
    | \bgh[pousr]_[A-Za-z0-9]{20,}                                  # GitHub
    | \bxox[abposr]-[A-Za-z0-9-]{10,}                               # Slack
    | \bAKIA[0-9A-Z]{16}\b                                          # AWS access key id
    | \bAIza[0-9A-Za-z_-]{30,}                                      # Google API key
    | \beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}  # JWT
    | (?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}                         # Authorization header
    """,
    re.VERBOSE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(
    r"(?<![\w.-])(?!\d{4}-\d{2}-\d{2})"  # not ISO dates
    r"(?!(?:\d{1,3}\.){3}\d{1,3}(?![\w.]))"  # not IPv4 addresses (`_IPV4`)
    r"\+?\d[\d ().-]{7,}\d(?![\w-])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
"""An IPv4 address (a port may follow); `_PHONE` leaves these alone."""
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")

_UUID = re.compile(
    r"(?<![0-9A-Fa-f-])([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"
    r"(?![0-9A-Fa-f-])"
)
"""Thread, request and run ids: kept whole, or an id whose first groups happen to be
all digits would read as a card number and the log line would lose its id."""


def _mask_public_ip(match: re.Match[str]) -> str:
    """Keep loopback, private and unspecified addresses (our own hosts); mask the public ones.

    A shopper's public address is personal data; `127.0.0.1:8000`, a pod's
    `10.0.3.7` or the database's `192.168.1.20` is what an on-call engineer
    needs, and read as a phone number it became `[phone]:8000`.
    """
    try:
        address = ipaddress.IPv4Address(match.group(0))
    except ValueError:  # 999.1.1.1: not an address; leave it to the other rules
        return match.group(0)
    if address.is_loopback or address.is_private or address.is_unspecified:
        return match.group(0)
    return "[ip]"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_SECRETS, "[secret]"),
    (_EMAIL, "[email]"),
    (_IBAN, "[iban]"),
    (_CARD, "[card]"),
    (_IPV4, _mask_public_ip),
    (_PHONE, "[phone]"),
)


def redact_text(text: str) -> str:
    """Return `text` with secrets, e-mails, IBANs, card and phone numbers and public IPs masked.

    UUIDs are left as they are (`_UUID`).
    """
    # Split on the UUIDs: the odd parts are the ids, masked nothing in them.
    parts = _UUID.split(text)
    for index in range(0, len(parts), 2):
        for pattern, mask in _RULES:
            parts[index] = pattern.sub(mask, parts[index])
    return "".join(parts)


def redact(value: Any) -> Any:
    """Return `value` with every string inside it redacted (dicts, lists, tuples walked).

    Keys are kept as they are: they are field names, not user data.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
