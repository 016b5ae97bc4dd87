"""LangChain's per-call reading of a tool's signature and type hints is done once per function."""

from __future__ import annotations

import functools
from typing import Any

import langchain_core.tools.base as tool_base
import langchain_core.tools.structured as structured_tool
import pytest
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool

from graph.tool_introspection import _Remembered, remember_tool_introspection


@pytest.fixture(autouse=True)
def remembered() -> None:
    assert remember_tool_introspection() is True


def _make_tool() -> StructuredTool:
    async def lookup(order_id: int, config: RunnableConfig) -> str:
        """Look an order up."""
        return f"{order_id} for {config['configurable']['thread_id']}"

    return StructuredTool.from_function(coroutine=lookup)


def test_this_langchain_gets_the_remembering_helpers_in_both_modules() -> None:
    for module in (tool_base, structured_tool):
        assert isinstance(module._signature_parameters, _Remembered)
    assert isinstance(tool_base._get_type_hints, _Remembered)
    # Swapping twice wraps nothing twice.
    assert remember_tool_introspection() is True
    assert not isinstance(tool_base._get_type_hints.lookup, _Remembered)


async def test_repeated_tool_calls_read_no_type_hints_and_still_get_their_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[Any] = []
    original = tool_base.get_type_hints

    def counting(obj: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(obj)
        return original(obj, *args, **kwargs)

    monkeypatch.setattr(tool_base, "get_type_hints", counting)
    tool = _make_tool()
    first = await tool.ainvoke({"order_id": 0}, {"configurable": {"thread_id": "t-0"}})
    assert first == "0 for t-0"
    assert reads, "the first call reads the hints"
    reads.clear()

    later = [
        await tool.ainvoke({"order_id": n}, {"configurable": {"thread_id": f"t-{n}"}})
        for n in (1, 2)
    ]

    assert later == ["1 for t-1", "2 for t-2"]
    assert reads == []


def _plain(a: int, config: RunnableConfig) -> None: ...


class _Holder:
    def method(self, b: str, *, config: RunnableConfig | None = None) -> None: ...


@pytest.mark.parametrize(
    "func",
    [
        _plain,
        _Holder().method,
        _Holder.method,
        functools.partial(_plain, 1),
        _Holder,
        lambda x: x,
    ],
    ids=["function", "bound method", "unbound method", "partial", "class", "lambda"],
)
def test_answers_are_langchains_own(func: Any) -> None:
    signature, hints = tool_base._signature_parameters, tool_base._get_type_hints
    for _ in range(2):  # the first answer is computed, the second remembered
        assert signature(func) == signature.lookup(func)
        assert hints(func) == hints.lookup(func)
        assert hints(func, include_extras=True) == hints.lookup(func, include_extras=True)


def test_a_bound_methods_signature_is_kept_apart_from_its_functions() -> None:
    signature = tool_base._signature_parameters
    assert list(signature(_Holder.method)) == ["self", "b", "config"]
    assert list(signature(_Holder().method)) == ["b", "config"]
    assert list(signature(_Holder.method)) == ["self", "b", "config"]


def test_a_kept_answer_cannot_be_changed_by_its_caller() -> None:
    hints = tool_base._get_type_hints(_plain)
    assert hints is not None
    hints["a"] = str
    assert tool_base._get_type_hints(_plain)["a"] is int
