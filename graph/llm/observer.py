"""Who is told about a turn's model and tool calls: the API's turn telemetry.

The graph reports calls to the observer of the current context (set for a turn's
task by `report_calls_to`), not through LangChain callbacks: a callback handler in the
graph's config fires events on every step, node, edge and streamed token (~100 a
turn), which cost a `bench/turns.py` turn 5.5 % of its CPU time (`docs/performance.md`).
Callbacks stay for tracing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage


class CallObserver(Protocol):
    """Told about each model and tool call of a turn."""

    def model_starting(self) -> None:
        """Before a model call; may raise to refuse it (the turn's token budget)."""

    def model_served(self, model: str) -> None:
        """Note which member of a fallback chain answers the current call."""

    def model_finished(self, model: str, prompt_chars: int, message: BaseMessage | None) -> None:
        """Count a model call that answered `message` (None: failed) to a prompt this long."""

    def model_event(self, name: str, data: dict[str, Any]) -> None:
        """Count a fallback, retry or circuit-breaker event (`graph/llm/fallback.py`)."""

    def tool_finished(self, name: str, outcome: str, seconds: float) -> None:
        """Count a tool call that ended `ok` or `error` after `seconds`."""


_current: ContextVar[CallObserver | None] = ContextVar("switchboard_call_observer", default=None)


def current_observer() -> CallObserver | None:
    """Return the observer of the running turn, if any."""
    return _current.get()


def report_calls_to(observer: CallObserver | None) -> None:
    """Report the calls made in the rest of this task (and the tasks it starts) to `observer`.

    For a task of its own, as a turn's: its context ends with it.
    """
    _current.set(observer)


@contextmanager
def observing(observer: CallObserver | None) -> Iterator[None]:
    """Report the calls made in this context (and the tasks it starts) to `observer`."""
    token = _current.set(observer)
    try:
        yield
    finally:
        _current.reset(token)


_TYPE_NAMES = {"switchboard-offline": "offline"}


def model_label(model: BaseChatModel) -> str:
    """Return the name a model's calls are counted under: its model name, else its type."""
    try:
        name = model._get_ls_params().get("ls_model_name")
    except Exception:  # a model whose params need a call's arguments
        name = None
    if name:
        return str(name)
    kind = model._llm_type
    return _TYPE_NAMES.get(kind, kind)
