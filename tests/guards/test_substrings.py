"""Our substring scanners give llm-guard's verdicts, with one lowercasing per scan."""

from __future__ import annotations

import pytest
from llm_guard.input_scanners import BanSubstrings as LlmGuardBanSubstrings
from llm_guard.output_scanners import NoRefusalLight as LlmGuardNoRefusalLight

from graph.guards.substrings import BanSubstrings, NoRefusalLight

REPLIES = [
    "Your refund for order 1042 is on its way.",
    "I'm sorry, I can't help with that.",
    "SORRY for the wait: the parcel left today.",
    "As an assistant of the store I can check that.",
    "That would be unethical.",
    "",
    "Hello! How can I help?",
    "İstanbul office: I cannot change the address.",  # lowercasing changes the length
]


@pytest.mark.parametrize("reply", REPLIES)
def test_the_refusal_check_flags_what_llm_guard_flags(reply: str) -> None:
    assert NoRefusalLight().scan("", reply) == LlmGuardNoRefusalLight().scan("", reply)


@pytest.mark.parametrize(
    "settings",
    [
        {"match_type": "str", "case_sensitive": False},
        {"match_type": "str", "case_sensitive": True},
        {"match_type": "word", "case_sensitive": False},
        {"match_type": "str", "case_sensitive": False, "contains_all": True},
        {"match_type": "str", "case_sensitive": False, "redact": True},
    ],
)
@pytest.mark.parametrize("text", [*REPLIES, "use COMPETITOR-COUPON now", "competitor-couponing"])
def test_banned_substrings_give_llm_guards_verdicts(settings: dict, text: str) -> None:
    substrings = ["competitor-coupon", "Sorry", "i cannot"]
    ours = BanSubstrings(substrings=substrings, **settings)
    theirs = LlmGuardBanSubstrings(substrings=substrings, **settings)
    assert ours.scan(text) == theirs.scan(text)
