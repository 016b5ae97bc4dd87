"""Pull order ids, invoice ids, RMA numbers, amounts and e-mails out of a message.

Pure regular expressions, no model. Order ids are the demo shop's integers
1000–99999; a bare number only counts as one when nothing marks it as an
amount, a year, a date, a phone number or part of another identifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

T = TypeVar("T")

ORDER_ID_MIN = 1000
"""Smallest order id in the demo shop."""

ORDER_ID_MAX = 99999
"""Largest order id in the demo shop."""


@dataclass(frozen=True)
class Money:
    """An amount of money with its ISO 4217 currency code."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        """Render as `45.20 USD`."""
        return f"{self.amount:.2f} {self.currency}"


@dataclass(frozen=True)
class Entities:
    """Everything `extract_entities` found, each kind in order of appearance."""

    order_ids: tuple[int, ...] = ()
    invoice_ids: tuple[str, ...] = ()
    rma_numbers: tuple[str, ...] = ()
    amounts: tuple[Money, ...] = ()
    emails: tuple[str, ...] = ()
    unpriced_amounts: tuple[Decimal, ...] = ()
    """Sums asked for without a currency ("a refund of 327"): too unclear to act on."""

    @property
    def order_id(self) -> int | None:
        """The first order id, if any."""
        return self.order_ids[0] if self.order_ids else None

    @property
    def invoice_id(self) -> str | None:
        """The first invoice id, if any."""
        return self.invoice_ids[0] if self.invoice_ids else None

    @property
    def rma_number(self) -> str | None:
        """The first RMA number, if any."""
        return self.rma_numbers[0] if self.rma_numbers else None

    @property
    def amount(self) -> Money | None:
        """The first amount, if any."""
        return self.amounts[0] if self.amounts else None

    @property
    def email(self) -> str | None:
        """The first e-mail address, if any."""
        return self.emails[0] if self.emails else None

    def merged_with(self, earlier: Entities) -> Entities:
        """Fill the kinds this message lacks from an earlier message's entities."""
        return Entities(
            order_ids=self.order_ids or earlier.order_ids,
            invoice_ids=self.invoice_ids or earlier.invoice_ids,
            rma_numbers=self.rma_numbers or earlier.rma_numbers,
            # "Actually, refund 30" after "refund 40 EUR": the new sum wins, unclear or not.
            amounts=self.amounts or (() if self.unpriced_amounts else earlier.amounts),
            emails=self.emails or earlier.emails,
            unpriced_amounts=self.unpriced_amounts
            or (() if self.amounts else earlier.unpriced_amounts),
        )


_NUMBER = r"\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CODES = {
    "usd": "USD",
    "us$": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}
_CODE_WORDS = "|".join(sorted((re.escape(code) for code in _CODES), key=len, reverse=True))

_MONEY_PATTERNS = (
    # "$45.20", "€ 30", "US$ 12"
    re.compile(rf"(?P<cur>US\$|[$€£])\s?(?P<num>{_NUMBER})", re.IGNORECASE),
    # "EUR 12,50", "USD 45"
    re.compile(rf"\b(?P<cur>USD|EUR|GBP)\s?(?P<num>{_NUMBER})(?![\d])", re.IGNORECASE),
    # "45.20 USD", "30 euros", "12€"
    re.compile(
        rf"(?<![\w.,])(?P<num>{_NUMBER})\s?(?P<cur>(?:{_CODE_WORDS})\b|[$€£])", re.IGNORECASE
    ),
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_INVOICE = re.compile(r"\bINV[-\s#]?(?P<id>\d{3,})\b", re.IGNORECASE)
_INVOICE_BY_WORD = re.compile(
    r"\binvoice\s*(?:no\.?|number|nr\.?|id)?\s*[:#]?\s*(?P<id>\d{3,})\b", re.IGNORECASE
)
# The store's RMA numbers are RMA-<order>-<n> (db/seed.py, tools/store.py): keep the suffix.
_RMA = re.compile(r"\bRMA[-\s#]?(?P<id>(?=[A-Z0-9]*\d)[A-Z0-9]{3,}(?:-\d{1,3})?)\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?:\+\d{1,3}[\s.-]?)?\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b"  # 555-123-4567, (555) 123 4567
    r"|\+\d[\d\s().-]{7,}\d"  # +44 20 7946 0958
)
_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")
_DECIMAL = re.compile(r"\d+[.,]\d+")
_SUM = r"(?P<num>\d{1,3}(?:[.,]\d{1,2})?|\d+[.,]\d{1,2})(?![\w.,%])"
"""A sum with no currency: up to 3 digits, or any number with cents (4-5 digit
integers stay order numbers)."""
_UNPRICED_PATTERNS = (
    # "a refund of 327", "refund me 40.50", "credit 12", "reimburse only 9.99"
    re.compile(
        rf"\b(?:refund(?:ed)?|credit(?:ed)?|reimburse(?:d)?)\s+(?:(?:me|of|for|just|only)\s+){{0,2}}{_SUM}",
        re.IGNORECASE,
    ),
    # "I want 40 back"
    re.compile(rf"(?<![\w.,#$€£]){_SUM}\s+back\b", re.IGNORECASE),
)
_ORDER_BY_WORD = re.compile(
    r"\border(?:s)?\s*(?:no\.?|number|num\.?|nr\.?|id|ref(?:erence)?)?\s*(?:is|was|=)?\s*[:#]?\s*"
    r"(?P<id>\d{4,5})\b",
    re.IGNORECASE,
)
_ORDER_BY_HASH = re.compile(r"(?<![\w&])#\s?(?P<id>\d{4,5})\b")
_BARE_NUMBER = re.compile(r"(?<![\w.,#$€£-])(?P<id>\d{4,5})(?![\w%-]|[.,]\d)")
_UNIT_AFTER = re.compile(
    r"\s*(?:items?|pieces?|pcs|units?|days?|weeks?|months?|years?|hours?|minutes?|km|miles?|"
    r"points?|calories|mah|gb|tb|mb|w|watts?|rpm|cents?|usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b",
    re.IGNORECASE,
)


def extract_entities(text: str) -> Entities:
    """Find the identifiers, amounts and e-mail addresses in `text`.

    Args:
        text: One customer message.

    Returns:
        The entities, each kind de-duplicated and in order of appearance.

    """
    taken: list[tuple[int, int]] = []

    emails = _collect(_EMAIL, text, taken, lambda m: m.group(0))
    invoices = _collect(_INVOICE, text, taken, lambda m: f"INV-{m.group('id')}")
    invoices += _collect(_INVOICE_BY_WORD, text, taken, lambda m: f"INV-{m.group('id')}")
    rmas = _collect(_RMA, text, taken, lambda m: f"RMA-{m.group('id').upper()}")
    amounts: list[tuple[int, Money | None]] = []
    for pattern in _MONEY_PATTERNS:
        amounts += _collect(pattern, text, taken, _money)
    amounts.sort(key=lambda pair: pair[0])
    _collect(_PHONE, text, taken, lambda m: m.group(0))
    _collect(_DATE, text, taken, lambda m: m.group(0))
    unpriced: list[tuple[int, Decimal | None]] = []
    for pattern in _UNPRICED_PATTERNS:
        unpriced += _collect(pattern, text, taken, _unpriced_sum, group="num")

    orders = _collect(_ORDER_BY_WORD, text, taken, _order_id, group="id")
    orders += _collect(_ORDER_BY_HASH, text, taken, _order_id, group="id")
    _collect(_DECIMAL, text, taken, lambda m: m.group(0))
    orders += _collect(_BARE_NUMBER, text, taken, _bare_order_id, group="id")
    orders.sort(key=lambda pair: pair[0])

    return Entities(
        order_ids=_unique(value for _, value in orders if value is not None),
        invoice_ids=_unique(value for _, value in sorted(invoices)),
        rma_numbers=_unique(value for _, value in rmas),
        amounts=_unique(value for _, value in amounts if value is not None),
        emails=_unique(value for _, value in emails),
        unpriced_amounts=_unique(value for _, value in sorted(unpriced) if value is not None),
    )


def _collect(
    pattern: re.Pattern[str],
    text: str,
    taken: list[tuple[int, int]],
    convert: Callable[[re.Match[str]], T],
    group: int | str = 0,
) -> list[tuple[int, T]]:
    """Return `(position, value)` for matches not overlapping earlier spans; claim them."""
    found: list[tuple[int, T]] = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        found.append((match.start(group), convert(match)))
        taken.append((start, end))
    return found


def _money(match: re.Match[str]) -> Money | None:
    currency = match.group("cur").lower()
    code = _SYMBOLS.get(currency) or _CODES.get(currency)
    amount = _parse_number(match.group("num"))
    if code is None or amount is None:
        return None
    return Money(amount=amount, currency=code)


_SUM_FILLER = re.compile(
    r"\b(?:it'?s|it\s+is|that'?s|sure|yes|ok|in|make\s+it|the\s+amount\s+is|please)\b",
    re.IGNORECASE,
)


def is_bare_sum(text: str) -> bool:
    """Whether `text` is only a sum with its currency, e.g. "327 EUR" answering "How much?"."""
    for pattern in _MONEY_PATTERNS:
        if match := pattern.search(text):
            rest = _SUM_FILLER.sub(" ", f"{text[: match.start()]} {text[match.end() :]}")
            return not re.sub(r"\W", "", rest)
    return False


def _unpriced_sum(match: re.Match[str]) -> Decimal | None:
    if _UNIT_AFTER.match(match.string, match.end()):
        return None  # "a refund for 3 items"
    return _parse_number(match.group("num"))


def _parse_number(raw: str) -> Decimal | None:
    """Read `1,200.50`, `1.200,50`, `12,50` and `45.20` the way people mean them."""
    text = raw.replace(" ", "").replace("'", "")
    last_comma, last_dot = text.rfind(","), text.rfind(".")
    decimal_mark = max(last_comma, last_dot)
    if decimal_mark != -1 and len(text) - decimal_mark - 1 in (1, 2):
        integer, fraction = text[:decimal_mark], text[decimal_mark + 1 :]
    else:
        integer, fraction = text, ""
    integer = integer.replace(",", "").replace(".", "")
    try:
        return Decimal(f"{integer}.{fraction}" if fraction else integer)
    except InvalidOperation:
        return None


def _order_id(match: re.Match[str]) -> int | None:
    value = int(match.group("id"))
    return value if ORDER_ID_MIN <= value <= ORDER_ID_MAX else None


def _bare_order_id(match: re.Match[str]) -> int | None:
    value = _order_id(match)
    if value is None:
        return None
    if 1900 <= value <= 2100:  # reads as a year unless the customer says "order"
        return None
    if _UNIT_AFTER.match(match.string, match.end()):
        return None
    return value


def _unique(values: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(values))
