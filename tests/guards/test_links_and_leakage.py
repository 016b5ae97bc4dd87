from __future__ import annotations

import pytest

from graph.guards.leakage import PromptLeakDetector
from graph.guards.links import LinkAllowList
from tests.guards.conftest import SYSTEM_PROMPT

LINKS = LinkAllowList(["example-store.com"])


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.example/claim",
        "http://example-store.com.evil.net/login",
        "www.freegifts.biz",
        "go to bit.ly/3xyz",
        "https://user@evil.example/",
    ],
)
def test_links_outside_the_allow_list_are_removed(text: str) -> None:
    cleaned, removed = LINKS.strip(text)
    assert removed == 1
    assert "[link removed]" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "https://example-store.com/returns",
        "https://help.example-store.com/track?id=1",
        "mail ann.lee@gmail.com",
        "e.g. version 3.5 or invoice.pdf",
    ],
)
def test_allowed_links_and_non_links_stay(text: str) -> None:
    assert LINKS.strip(text) == (text, 0)


def test_near_verbatim_prompt_copy_is_detected() -> None:
    leak = PromptLeakDetector([SYSTEM_PROMPT])
    reformatted = "- you are SWITCHBOARD; the support assistant of example store - help customers"
    assert leak.leaks(reformatted)


def test_stating_a_policy_briefly_is_not_a_leak() -> None:
    leak = PromptLeakDetector([SYSTEM_PROMPT])
    assert not leak.leaks("Refunds above 200 euros need approval, so I've asked our staff.")
    assert not leak.leaks("I'm the support assistant of Example Store, happy to help.")
