"""Specification of the offline model's regex entity extraction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from graph.llm.offline import Money, extract_entities


@pytest.mark.parametrize(
    "text",
    [
        "where is order 1042?",
        "#1042 never arrived",
        "order no. 1042 is late",
        "my order number 1042",
        "Order ID: 1042",
        "order #1042",
        "it's 1042",
    ],
)
def test_order_id_is_found_in_the_usual_phrasings(text: str) -> None:
    assert extract_entities(text).order_ids == (1042,)


def test_several_order_ids_are_kept_in_order_of_appearance() -> None:
    assert extract_entities("orders 1042 and 3077, also #1042").order_ids == (1042, 3077)


@pytest.mark.parametrize(
    "text",
    [
        "I was charged $1042 yesterday",
        "I paid 1200 dollars",
        "I bought it in 2024",
        "call me on 555-123-4567",
        "my number is +44 20 7946 0958",
        "delivered on 2024-05-01",
        "I waited 1500 days",
        "order 999 and order 123456",
        "invoice INV-1042",
        "return RMA-1042",
    ],
)
def test_amounts_years_phones_dates_and_other_ids_are_not_orders(text: str) -> None:
    assert extract_entities(text).order_ids == ()


def test_a_year_counts_as_an_order_id_when_the_customer_says_order() -> None:
    assert extract_entities("order 2023 from 2024").order_ids == (2023,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("please send INV-1042", "INV-1042"),
        ("invoice inv 3310", "INV-3310"),
        ("invoice #3310", "INV-3310"),
        ("invoice number 3310", "INV-3310"),
    ],
)
def test_invoice_ids_are_normalised(text: str, expected: str) -> None:
    entities = extract_entities(text)
    assert entities.invoice_ids == (expected,)
    assert entities.order_ids == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("track RMA-8K2Q9", "RMA-8K2Q9"),
        ("my rma-77qx", "RMA-77QX"),
        ("RMA number RMA-5501", "RMA-5501"),
        ("RMA 12345", "RMA-12345"),
    ],
)
def test_rma_numbers_are_normalised_and_need_a_digit(text: str, expected: str) -> None:
    assert extract_entities(text).rma_numbers == (expected,)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("charged $45.20", "45.20", "USD"),
        ("45.20 USD twice", "45.20", "USD"),
        ("€30 missing", "30", "EUR"),
        ("30 euros", "30", "EUR"),
        ("EUR 12,50", "12.50", "EUR"),
        ("£9.99", "9.99", "GBP"),
        ("1,200.50 USD", "1200.50", "USD"),
        ("1.200,50 €", "1200.50", "EUR"),
        ("20 bucks", "20", "USD"),
    ],
)
def test_money_amounts_are_read_with_their_currency(text: str, amount: str, currency: str) -> None:
    assert extract_entities(text).amounts == (Money(Decimal(amount), currency),)


def test_an_amount_renders_with_two_decimals_and_the_currency_code() -> None:
    assert str(Money(Decimal("30"), "EUR")) == "30.00 EUR"


def test_emails_are_found() -> None:
    entities = extract_entities("write to Jo.Doe+shop@example.co.uk or ops@example.com")
    assert entities.emails == ("Jo.Doe+shop@example.co.uk", "ops@example.com")


def test_a_message_with_everything_gets_everything() -> None:
    entities = extract_entities(
        "Order #1042: charged $45.20 twice, see INV-1042; return RMA-7Q2X; mail me at a@b.io"
    )
    assert entities.order_id == 1042
    assert entities.amount == Money(Decimal("45.20"), "USD")
    assert entities.invoice_id == "INV-1042"
    assert entities.rma_number == "RMA-7Q2X"
    assert entities.email == "a@b.io"


def test_missing_kinds_are_filled_from_an_earlier_message() -> None:
    now = extract_entities("and the refund should be $10")
    merged = now.merged_with(extract_entities("it was order 1042, $45.20"))
    assert merged.order_id == 1042
    assert merged.amount == Money(Decimal("10"), "USD")


@pytest.mark.parametrize(
    ("text", "orders", "unpriced"),
    [
        ("I want a refund of 327 on order 1042", (1042,), ("327",)),
        ("refund me 40.50 for order 1042", (1042,), ("40.50",)),
        ("refund of 12,50 please", (), ("12.50",)),
        ("I only want 40 back", (), ("40",)),
        ("refund 1042", (1042,), ()),
        ("can I get a refund for 1042?", (1042,), ()),
        ("a refund for 3 items on 1042", (1042,), ()),
        ("Refund $45.20 on order 1042", (1042,), ()),
    ],
)
def test_a_sum_without_a_currency_is_kept_apart_from_order_ids_and_money(
    text: str, orders: tuple[int, ...], unpriced: tuple[str, ...]
) -> None:
    entities = extract_entities(text)
    assert entities.order_ids == orders
    assert entities.unpriced_amounts == tuple(Decimal(u) for u in unpriced)


def test_a_new_sum_replaces_an_earlier_one_with_or_without_a_currency() -> None:
    first = extract_entities("refund 40 EUR on order 1042")

    corrected = extract_entities("actually, refund of 30").merged_with(first)
    assert corrected.amounts == () and corrected.unpriced_amounts == (Decimal(30),)

    priced = extract_entities("30 EUR").merged_with(extract_entities("a refund of 30"))
    assert priced.amounts == (Money(Decimal(30), "EUR"),) and priced.unpriced_amounts == ()
