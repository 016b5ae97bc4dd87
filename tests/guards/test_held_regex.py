"""Presidio's matching keeps the GIL: no 5 ms waits for it beside a busy event loop."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
import regex
from presidio_analyzer import PatternRecognizer

from graph.guards import Guards
from graph.guards.held_regex import (
    PRESIDIO_MODULES,
    HeldPattern,
    gil_holding_regex,
    hold_the_gil_in_presidio,
)

PII_TEXT = (
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ann@example.org, "
    "SSN 078-05-1120, NI AB 12 34 56 C, call +44 20 7946 0958 from 192.168.1.20"
)


class Recording:
    """A compiled pattern that records the keyword arguments of each match call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def finditer(self, string: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return iter(())

    search = match = fullmatch = findall = finditer


def test_presidios_matching_modules_match_with_held_regex(guards: Guards) -> None:
    for name in PRESIDIO_MODULES:
        assert importlib.import_module(name).re is gil_holding_regex


def test_every_pattern_a_scan_compiled_keeps_the_gil(guards: Guards) -> None:
    assert guards.pii.find(PII_TEXT)  # compiles every recognizer's patterns
    recognizers = [
        r for r in guards.pii.analyzer.registry.recognizers if isinstance(r, PatternRecognizer)
    ]
    # The IBAN recognizer matches through its module's `re` instead (the next test).
    compiled = [p.compiled_regex for r in recognizers for p in r.patterns if p.compiled_regex]
    assert len(compiled) >= 5 and all(isinstance(c, HeldPattern) for c in compiled)


@pytest.mark.parametrize("method", ["finditer", "search", "match", "fullmatch", "findall"])
def test_a_held_pattern_matches_with_concurrent_false(method: str) -> None:
    recording = Recording()
    getattr(HeldPattern(recording), method)("text")
    assert recording.calls == [{"concurrent": False}]


def test_the_iban_recognizers_module_level_matching_keeps_the_gil(
    guards: Guards, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    real = regex.finditer

    def recording_finditer(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("concurrent"))
        return real(*args, **kwargs)

    monkeypatch.setattr(regex, "finditer", recording_finditer)
    found = guards.pii.find("Please refund to DE89 3704 0044 0532 0130 00.")

    assert [e.entity_type for e in found] == ["IBAN_CODE"]
    assert seen and set(seen) == {False}


def test_matches_are_those_of_regex_itself() -> None:
    pattern = r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"
    text = "ids 078-05-1120 and 123-45-6789, not 1078-05-11200"
    held = gil_holding_regex.compile(pattern, regex.IGNORECASE)
    assert [m.span() for m in held.finditer(text)] == [
        m.span() for m in regex.compile(pattern, regex.IGNORECASE).finditer(text)
    ]
    assert gil_holding_regex.escape("a.b") == regex.escape("a.b")


def test_a_presidio_that_stopped_using_regex_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(PRESIDIO_MODULES[0])
    monkeypatch.setattr(module, "re", re)
    with pytest.raises(RuntimeError, match="revisit held_regex"):
        hold_the_gil_in_presidio()
