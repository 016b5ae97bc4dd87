"""The redaction shared by logs and traces."""

from __future__ import annotations

import pytest

from api.observability.pricing import PriceBook, PriceBookError
from api.observability.redaction import redact, redact_text
from api.observability.tracing import pseudonym, scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe@example.com now", "mail [email] now"),
        ("card 4111-1111-1111-1111.", "card [card]."),
        ("call +44 20 7946 0958", "call [phone]"),
        ("key sk-ant-api03-abcdefghijklmnop1234", "key [secret]"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "Authorization: [secret]"),
        (
            "order 1042 on 2026-11-23, version 2026-11-23.1",
            "order 1042 on 2026-11-23, version 2026-11-23.1",
        ),
        # A thread id whose first groups are all digits is an id, not a card number.
        (
            "thread 87001241-0424-4765-b300-9325b43417f7 card 4111 1111 1111 1111",
            "thread 87001241-0424-4765-b300-9325b43417f7 card [card]",
        ),
        ("ref-4111 1111 1111 1111", "ref-[card]"),
        # Our own hosts stay readable; a shopper's public address is personal data.
        ("Uvicorn running on http://127.0.0.1:8000", "Uvicorn running on http://127.0.0.1:8000"),
        ("10.0.3.7:51234 - GET /healthz", "10.0.3.7:51234 - GET /healthz"),
        ("db at 192.168.1.20:5432", "db at 192.168.1.20:5432"),
        ("client 81.2.69.160:443 rate-limited", "client [ip]:443 rate-limited"),
        ("call 020.7946.0958.12 now", "call [phone] now"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_scrub_hides_the_vault_and_keeps_service_ids() -> None:
    payload = {
        "pii_vault": {"[EMAIL_1]": "a@b.co"},
        "messages": [{"content": "I am a@b.co"}],
        "thread_id": "0000-1111-2222",
    }
    assert scrub(payload) == {
        "pii_vault": "[hidden]",
        "messages": [{"content": "I am [email]"}],
        "thread_id": "0000-1111-2222",
    }
    assert redact(("x@y.io", 3)) == ["[email]", 3]


def test_pseudonym_is_stable_and_secret_dependent() -> None:
    assert pseudonym("cust-1", "s1") == pseudonym("cust-1", "s1") != pseudonym("cust-1", "s2")
    assert "cust-1" not in pseudonym("cust-1", "s1")


def test_price_book_defaults_overrides_and_prefixes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    book = PriceBook.load(None)
    assert book.cost("offline", 1000, 1000) == 0
    assert float(book.cost("openai:gpt-4.1-mini-2025-04-14", 1_000_000, 0)) == 0.4
    toml = tmp_path / "prices.toml"
    toml.write_text("[my-model]\ninput = 1\noutput = 3\n")
    assert float(PriceBook.load(str(toml)).cost("my-model", 1_000_000, 1_000_000)) == 4
    with pytest.raises(PriceBookError):
        PriceBook.load("{not json")
