from __future__ import annotations

import pytest

from graph.guards import Guards, Vault, restore
from graph.guards.pii import MASKED_IN_OUTPUT

PHONES = [
    "+44 20 7946 0958",
    "(555) 010-1234",
    "+49 30 901820",
    "0612345678",
    "06 12 34 56 78",
    "+33 1 42 68 53 00",
    "07700 900123",
    "+1-212-555-0199",
    "212.555.0199",
    "+31 20 123 4567",
    "+49 (0)89 1234567",
    "0044 20 7946 0321",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_in_many_formats_are_redacted(guards: Guards, phone: str) -> None:
    result = guards.redact(f"Call me on {phone} after five.")
    assert result.text == "Call me on [PHONE_1] after five."
    assert result.entities[0].value == phone


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("4111 1111 1111 1111", "CARD"),
        ("5555555555554444", "CARD"),
        ("ann.lee@gmail.com", "EMAIL"),
        ("DE89 3704 0044 0532 0130 00", "IBAN"),
        ("GB29 NWBK 6016 1331 9268 19", "IBAN"),
        ("536-22-8843", "SSN"),
        ("JG103721A", "NINO"),
    ],
)
def test_other_entities_are_redacted(guards: Guards, value: str, label: str) -> None:
    result = guards.redact(f"Here it is: {value}. Thanks")
    assert result.text == f"Here it is: [{label}_1]. Thanks"


@pytest.mark.parametrize(
    "text",
    [
        "Where is order 1042? It was due on 2024-03-15.",
        "Tracking 1Z999AA10123456784 hasn't moved since 15/03/2024.",
        "Total was 154.99 EUR; postcode 75011; ref 8f2a-11c0.",
        "The card 4111 1111 1111 1112 fails the Luhn check.",
        "Orders #55120 and #55121, invoice INV-2024-00871.",
        # A thread id whose digits "47741142-0581-45" pass the card check (Luhn).
        "turn failed in thread 47741142-0581-45ca-9067-54397c96b3c1",
    ],
)
def test_order_ids_dates_and_invalid_cards_are_not_pii(guards: Guards, text: str) -> None:
    assert guards.redact(text).text == text


def test_redaction_round_trips_through_the_vault(guards: Guards) -> None:
    vault = Vault()
    text = "Email ann.lee@gmail.com or call +44 20 7946 0958; card 4111 1111 1111 1111."
    result = guards.redact(text, vault)
    assert "ann.lee" not in result.text and "7946" not in result.text
    assert restore(result.text, vault) == text


def test_same_value_gets_the_same_placeholder_across_turns(guards: Guards) -> None:
    vault = Vault()
    first = guards.redact("I'm ann.lee@gmail.com", vault)
    second = guards.redact("again: ann.lee@gmail.com, and j.smith@outlook.co.uk", vault)
    assert first.text == "I'm [EMAIL_1]"
    assert second.text == "again: [EMAIL_1], and [EMAIL_2]"


def test_restore_fills_tool_arguments_only(guards: Guards) -> None:
    vault = Vault()
    guards.redact("send it to ann.lee@gmail.com", vault)
    args = {"email": "[EMAIL_1]", "order_ids": ["1042"], "note": "for [EMAIL_1]", "n": 2}
    assert restore(args, vault) == {
        "email": "ann.lee@gmail.com",
        "order_ids": ["1042"],
        "note": "for ann.lee@gmail.com",
        "n": 2,
    }
    assert restore("[EMAIL_9] is unknown", vault) == "[EMAIL_9] is unknown"


def test_output_masking_keeps_only_the_last_four(guards: Guards) -> None:
    masked, found = guards.pii.mask_for_output("Charged to 4111 1111 1111 1111 today.")
    assert masked == "Charged to •••• 1111 today."
    assert [e.entity_type for e in found] == ["CREDIT_CARD"]


@pytest.mark.parametrize(
    "text",
    [
        "Charged to 4111 1111 1111 1111, call +44 20 7946 0958 or mail ann@shop.example.",
        "IBAN GB82 WEST 1234 5698 7654 32 and SSN 078-05-1120 on file.",
        "Your NI number QQ 12 34 56 C; order 1042, thread 6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b.",
        "Card 5555555555554444 (phone 555-010-4444).",
        "No numbers here at all.",
        "Order 7 of 9.",
    ],
)
def test_output_masking_finds_what_a_full_scan_finds(guards: Guards, text: str) -> None:
    _, found = guards.pii.mask_for_output(text)
    full = [e for e in guards.pii.find(text) if e.entity_type in MASKED_IN_OUTPUT]
    assert found == full
