"""Remember what LangChain reads off a tool's functions, instead of reading it every call.

`BaseTool.arun` and `StructuredTool._arun` look up, on every tool call, which
parameters the tool's functions take (`inspect.signature`) and which one is
typed `RunnableConfig` (`typing.get_type_hints`, which compiles each string
annotation anew): four lookups a call, about 3 % of the CPU of the benchmark
turn with its two tool calls (docs/performance.md). A function's signature and
annotations do not change after it is defined, so each answer is kept per
function, for as long as the function lives (an annotation that could not be
resolved stays unresolved, as LangChain's own cached schema does).

`remember_tool_introspection()` swaps LangChain's two private helpers for
remembering ones; it is idempotent. Should a LangChain release rename them,
nothing is swapped and tools run as before (a warning says so, and
`tests/graph/test_tool_introspection.py` fails).
"""

from __future__ import annotations

import logging
import types
import weakref
from collections.abc import Callable
from typing import Any

import langchain_core.tools.base as tool_base
import langchain_core.tools.structured as structured_tool

logger = logging.getLogger(__name__)

_MODULES = (tool_base, structured_tool)
"""The modules whose globals name the helpers (each imported them by name)."""


class _Remembered:
    """A LangChain introspection helper whose answers are kept per function."""

    def __init__(self, lookup: Callable[..., Any], keyed_by_binding: bool) -> None:
        self.lookup = lookup
        # A bound method's signature leaves out `self`; its type hints do not.
        self.keyed_by_binding = keyed_by_binding
        self.answers: weakref.WeakKeyDictionary[types.FunctionType, dict[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, func: Any, **kwargs: Any) -> Any:
        function = func.__func__ if isinstance(func, types.MethodType) else func
        if not isinstance(function, types.FunctionType):
            return self.lookup(func, **kwargs)  # partials, classes, callables: as before
        key = (
            isinstance(func, types.MethodType) if self.keyed_by_binding else None,
            tuple(sorted(kwargs.items())),
        )
        answers = self.answers.setdefault(function, {})
        if key not in answers:
            answers[key] = self.lookup(func, **kwargs)
        answer = answers[key]
        # Callers read these; a dict is copied so that none can change the kept one.
        return dict(answer) if isinstance(answer, dict) else answer


_HELPERS = {"_get_type_hints": False, "_signature_parameters": True}
"""LangChain's helpers to swap, and whether a bound method's answer differs from its function's."""


def remember_tool_introspection() -> bool:
    """Make LangChain's tool calls read each function's signature and hints once.

    Returns whether the helpers are swapped (False when this LangChain has none).
    """
    if not all(hasattr(tool_base, name) for name in _HELPERS):
        logger.warning(
            "LangChain's tool helpers %s are gone: tool calls read signatures every call",
            sorted(_HELPERS),
        )
        return False
    for name, keyed_by_binding in _HELPERS.items():
        current = getattr(tool_base, name)
        if isinstance(current, _Remembered):
            continue
        swapped = _Remembered(current, keyed_by_binding)
        for module in _MODULES:
            if getattr(module, name, None) is current:
                setattr(module, name, swapped)
    return True
