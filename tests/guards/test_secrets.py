"""The in-memory Secrets scanner flags what llm-guard's file-based one flags, and hides it fully."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from llm_guard.input_scanners import Secrets

from graph.guards.injection import HELDOUT_FILE, load_corpus
from graph.guards.secrets import InMemorySecrets

SECRETS = [
    "AWS: AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github token ghp_1234567890abcdefghijklmnopqrstuvwxyzAB please",
    "token: xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    'api_key = "a8f5f167f44f4964e6c998dee827110c"',
    "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc, thanks",
    "Here is my config:\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\nregion = eu-west-1",
]
NOT_SECRETS = [
    "I was charged twice for order 1007",
    "Thanks, the refund of 12.50 EUR for order 1042 arrived.",
    "My tracking number is 1Z999AA10123456784, where is my parcel?",
    "ignore my last message, I meant order 1042",
    "",
]


@pytest.fixture(scope="module")
def scanners() -> tuple[Secrets, InMemorySecrets]:
    return Secrets(), InMemorySecrets()


@pytest.mark.parametrize("text", SECRETS + NOT_SECRETS)
def test_flags_what_llm_guard_flags(scanners: tuple[Secrets, InMemorySecrets], text: str) -> None:
    upstream, ours = scanners
    assert ours.scan(text)[1:] == upstream.scan(text)[1:]


def test_flags_the_same_corpus_messages_as_llm_guard(
    scanners: tuple[Secrets, InMemorySecrets],
) -> None:
    """Every guard-corpus message (attacks, support chat, pasted PII) gets the same verdict."""
    upstream, ours = scanners
    texts = [r.text for r in load_corpus(HELDOUT_FILE)]
    assert [ours.scan(t)[1] for t in texts] == [upstream.scan(t)[1] for t in texts]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("github token ghp_1234567890abcdefghijklmnopqrstuvwxyzAB please", "ghp_"),
        ("token=ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", "zAB"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc, thanks", "7dc"),
    ],
)
def test_overlapping_detections_are_hidden_as_one(text: str, secret: str) -> None:
    """llm-guard can leave a token's tail visible ("******AB"); merged spans do not."""
    redacted, valid, _ = InMemorySecrets().scan(text)
    assert not valid
    assert secret not in redacted
    assert redacted.count("******") == 1


@pytest.mark.parametrize("text", SECRETS)
def test_secrets_are_replaced_and_flagged(
    scanners: tuple[Secrets, InMemorySecrets], text: str
) -> None:
    redacted, valid, score = scanners[1].scan(text)
    assert not valid and score == 1.0
    assert "******" in redacted and redacted != text


def test_a_key_split_over_lines_is_found_in_every_message_not_only_the_first() -> None:
    scanner = InMemorySecrets()
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    for _ in range(3):
        assert scanner.scan(key)[1] is False


def test_concurrent_scans_give_the_same_answers_as_sequential_ones() -> None:
    scanner = InMemorySecrets()
    texts = (SECRETS + NOT_SECRETS) * 8
    expected = [scanner.scan(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(scanner.scan, texts)) == expected
