"""Presidio's regular expressions, matched without letting go of the GIL.

Presidio matches with the `regex` package, which releases the GIL while it
matches a `str`. Each release hands the GIL to a waiting thread; taking it back
then waits for that thread's switch interval (5 ms) if it is running Python.
The service runs the input guard on one CPU worker thread beside the event
loop, and the output guard's masker on the loop, so every match of a chat
message (microseconds of work) could cost the other side's 5 ms: a message's
PII scan took 0.8 ms alone and 22 ms beside a busy event loop, and 0.8 ms
again with the GIL held (`python -m bench.guards`, "beside a busy thread").

`hold_the_gil_in_presidio()` gives Presidio's matching modules
`gil_holding_regex`: `regex`, except that matching passes `concurrent=False`.
"""

from __future__ import annotations

import types
from typing import Any

import regex

PRESIDIO_MODULES = (
    "presidio_analyzer.pattern_recognizer",
    "presidio_analyzer.predefined_recognizers.iban_recognizer",
)
"""The Presidio modules that match text with `regex` (imported as `re`)."""


class HeldPattern:
    """A compiled `regex` pattern whose matching keeps the GIL."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: Any) -> None:
        self.pattern = pattern

    def finditer(self, string: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        return self.pattern.finditer(string, *args, concurrent=False, **kwargs)

    def search(self, string: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        return self.pattern.search(string, *args, concurrent=False, **kwargs)

    def match(self, string: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        return self.pattern.match(string, *args, concurrent=False, **kwargs)

    def fullmatch(self, string: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        return self.pattern.fullmatch(string, *args, concurrent=False, **kwargs)

    def findall(self, string: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        return self.pattern.findall(string, *args, concurrent=False, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)


def _compile(pattern: Any, flags: int = 0, **kwargs: Any) -> HeldPattern:
    return HeldPattern(regex.compile(pattern, flags, **kwargs))


def _held(name: str) -> Any:
    def call(pattern: Any, string: str, flags: int = 0, **kwargs: Any) -> Any:
        return getattr(regex, name)(pattern, string, flags, concurrent=False, **kwargs)

    call.__name__ = name
    return call


gil_holding_regex = types.ModuleType("gil_holding_regex", "`regex`, matching with the GIL held.")
gil_holding_regex.__dict__.update(
    {name: getattr(regex, name) for name in dir(regex) if not name.startswith("__")}
)
gil_holding_regex.__dict__.update(
    compile=_compile, **{name: _held(name) for name in ("finditer", "search", "match", "findall")}
)


def hold_the_gil_in_presidio() -> None:
    """Point Presidio's matching modules at `gil_holding_regex` (idempotent).

    Raises `RuntimeError` if a module no longer uses `regex` as `re` (a Presidio
    upgrade): then this needs looking at again, rather than silently doing nothing.
    """
    import importlib

    for name in PRESIDIO_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "re", None) not in (regex, gil_holding_regex):
            raise RuntimeError(f"{name} no longer matches with `regex` as `re`: revisit held_regex")
        module.re = gil_holding_regex  # type: ignore[attr-defined]
