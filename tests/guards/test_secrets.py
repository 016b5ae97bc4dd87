"""The in-memory Secrets scanner flags what llm-guard's file-based one flags, and hides it fully."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from detect_secrets.filters.heuristic import is_indirect_reference
from detect_secrets.transformers import get_transformed_file
from llm_guard.input_scanners import Secrets

from graph.guards.injection import HELDOUT_FILE, load_corpus
from graph.guards.secrets import (
    InMemorySecrets,
    _is_indirect_reference,
    _NamedText,
    eager_ini_lines,
    match_prefixes,
)

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
    # Found only in the eager INI reading, which quotes the value after the colon.
    "secret: 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
]
NOT_SECRETS = [
    "I was charged twice for order 1007",
    "Thanks, the refund of 12.50 EUR for order 1042 arrived.",
    "My tracking number is 1Z999AA10123456784, where is my parcel?",
    "ignore my last message, I meant order 1042",
    "",
]
ALLOWLISTED = [
    'api_key = "a8f5f167f44f4964e6c998dee827110c"  # pragma: allowlist secret',
    '# pragma: allowlist nextline secret\napi_key = "a8f5f167f44f4964e6c998dee827110c"',
    "token: xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"
    " <!-- pragma: whitelist secret -->",
]


@pytest.fixture(scope="module")
def scanners() -> tuple[Secrets, InMemorySecrets]:
    return Secrets(), InMemorySecrets()


@pytest.mark.parametrize("text", SECRETS + NOT_SECRETS + ALLOWLISTED)
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


@pytest.mark.parametrize("text", ALLOWLISTED)
def test_a_secret_allowlisted_in_a_comment_is_not_flagged(text: str) -> None:
    """detect-secrets' `pragma: allowlist secret` comments hold, on the line or the one before."""
    assert InMemorySecrets().scan(text)[1]
    assert not InMemorySecrets().scan(text.replace("pragma", "note"))[1]


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


@pytest.mark.parametrize(
    ("pattern", "prefixes"),
    [
        (r"(?i)\b(?:stripe|sq)_[a-z]{4}", {"stripe_", "sq_"}),
        (r"ghp_[A-Za-z0-9]{36}", {"ghp_"}),
        (r"(?:^|\s)AKIA[A-Z0-9]{16}", None),  # `\s` may start a match
        (r"(?:a|b?)x", None),  # the second branch may start with `x`
        (r"ab(c|d)?e", {"ab"}),
        (r"(?:a|)b", {"ab", "b"}),
        (r"[ab]x", {"ax", "bx"}),  # a class of literals is their alternation
        (r"(?:r|s)k_live_", {"rk_live_", "sk_live_"}),  # which parses as the class `[rs]`
        (r"(?i)[AB]x", {"ax", "bx"}),
        (r"[a-c]x", None),  # a range is no literal
        (r"[^a]x", None),
        (r"[\dM]x", None),
        (r"(?<=key)=\w+", None),
        (r"(?i)caf\u00e9", None),  # only ASCII prefixes
    ],
)
def test_match_prefixes_are_the_literals_every_match_starts_with(
    pattern: str, prefixes: set[str] | None
) -> None:
    found = match_prefixes(re.compile(pattern))
    assert found == (None if prefixes is None else frozenset(prefixes))


LOOK_ALIKES = [
    "stripe_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'",
    "SLACK_TOKEN=xoxp-123456789012-123456789012-123456789012-abcdefabcdefabcdefabcdefabcdefab",
    "sendgrid SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "glpat-abcdefghij0123456789 and npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "twilio SK0123456789abcdef0123456789abcdef AC0123456789abcdef0123456789abcdef",
    "mailgun key-0123456789abcdef0123456789abcdef",
]


def _lines() -> list[str]:
    texts = SECRETS + NOT_SECRETS + LOOK_ALIKES + [r.text for r in load_corpus(HELDOUT_FILE)]
    texts += [t.upper() for t in texts] + [t.lower() for t in texts]
    return [line for text in texts for line in text.splitlines()]


def test_a_detector_pattern_only_matches_lines_holding_one_of_its_prefixes() -> None:
    """The index skips a detector on a line without its prefixes: that never hides a match."""
    scanner = InMemorySecrets()
    checked = 0
    for patterns in scanner._index.patterns:
        for pattern in patterns or ():
            prefixes = match_prefixes(pattern)
            if prefixes is None:
                continue
            for line in filter(str.isascii, _lines()):
                if pattern.search(line):
                    checked += 1
                    text = line.lower() if pattern.flags & re.IGNORECASE else line
                    assert any(p in text for p in prefixes), (pattern.pattern, line)
    assert checked >= 15


def test_the_indirect_reference_filter_answers_like_detect_secrets() -> None:
    lines = [*_lines(), "secret = get_secret_key()", "key: headers['apikey']", "a != b(c)"]
    assert [_is_indirect_reference(x) for x in lines] == [is_indirect_reference(x) for x in lines]
    assert _is_indirect_reference("secret = get_secret_key()")


INI_PIECES = [
    "key", "Key", "pass word", "api_key", "thanks for waiting", "Order 1007", "I was charged",
    ":", "=", " : ", " = ", "::", ":=", "=:", " ", "\t", '"', "'", '"quoted"', "'q'", "#", ";",
    "# pragma: allowlist nextline secret", "pragma: allowlist secret", "hunter2", "é", "\u00a0",
    "AKIAIOSFODNN7EXAMPLE", '{"order_id": 1007, "total": "19.99"}', ",", ".", "(", ")", "\\",
    "$6.95", "INV-1042", "[", "]", "%", "%(x)s", "\n",
]  # fmt: skip


def test_one_line_reads_as_detect_secrets_eager_ini_transformer_reads_it() -> None:
    """`eager_ini_lines` replaces configparser for one line: it must give the same lines."""
    pieces = random.Random(7)
    texts = {"".join(pieces.choices(INI_PIECES, k=pieces.randint(1, 6))) for _ in range(6000)}
    texts |= {"Thanks for waiting: here is what I found. ", "k: 'v'", 'k: "', "k=v=w", "a\t:\tb"}
    covered = 0
    for text in sorted(t for t in texts if ":" in t or "=" in t):
        fast = eager_ini_lines(text)
        if fast is None:  # not one plain line: detect-secrets reads it itself
            continue
        covered += 1
        transformer = get_transformed_file(_NamedText(text), use_eager_transformers=True)  # type: ignore[arg-type]
        assert fast == (transformer or []), repr(text)
    assert covered > 1000
    assert eager_ini_lines("Thanks for waiting: here is what I found. ") == [
        'Thanks for waiting = "here is what I found."'
    ]
    assert eager_ini_lines("first: line\nsecond: line") is None
    assert eager_ini_lines("rate: 5%") is None
