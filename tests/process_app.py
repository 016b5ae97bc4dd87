"""The real app with a scripted refund conversation, for tests that run uvicorn processes.

Run with: uvicorn --factory tests.process_app:app   (tests/api/test_issue8_processes.py)

Test-only: the scripted model is chosen by this factory, never by a setting.
`TEST_ORDER_ID` and `TEST_REFUND_AMOUNT` say what to refund; while the file named
by `TEST_STALL_FILE` exists, the billing agent's reply after the refund hangs
(writing `<file>.reached` first), so a test can kill the process right there.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from api.app import create_app

REPLY = "Your refund is on its way back to your card."
OTHER_REPLY = "You're welcome. Anything else I can help with?"


class RefundScript(BaseChatModel):
    """Triage hands off to billing; billing refunds when asked, then answers."""

    order_id: int
    amount: float
    stall_file: str | None = None

    @property
    def _llm_type(self) -> str:
        return "process-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _decide(self, messages: list[BaseMessage], tools: list[dict] | None) -> AIMessage:
        names = {t["function"]["name"] for t in tools or []}
        last = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        done = [m.name for m in messages[last:] if isinstance(m, ToolMessage)]
        asked = "refund" in str(messages[last].content).lower()
        if "transfer_to_billing" in names and "request_refund" not in names:  # triage
            if not any(str(n).startswith("transfer_to") for n in done):
                return _call("transfer_to_billing", {}, f"t{len(messages)}")
        if "request_refund" in names and asked and "request_refund" not in done:
            args = {"order_id": self.order_id, "amount": self.amount, "reason": "arrived broken"}
            return _call("request_refund", args, f"r{len(messages)}")
        return AIMessage(content=REPLY if asked else OTHER_REPLY)

    async def _stall(self, message: AIMessage) -> None:
        if self.stall_file and not message.tool_calls and Path(self.stall_file).exists():
            Path(self.stall_file + ".reached").write_text("reached")
            while Path(self.stall_file).exists():
                await asyncio.sleep(0.1)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        return ChatResult(
            generations=[ChatGeneration(message=self._decide(messages, kwargs.get("tools")))]
        )

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        message = self._decide(messages, kwargs.get("tools"))
        await self._stall(message)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _astream(  # type: ignore[no-untyped-def]
        self, messages, stop=None, run_manager=None, **kwargs
    ) -> AsyncIterator[ChatGenerationChunk]:
        message = self._decide(messages, kwargs.get("tools"))
        await self._stall(message)
        chunk = ChatGenerationChunk(
            message=AIMessageChunk(
                content=message.content,
                tool_call_chunks=[
                    {"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(message.tool_calls)
                ],
            )
        )
        if run_manager is not None and message.content:
            await run_manager.on_llm_new_token(str(message.content), chunk=chunk)
        yield chunk


def _call(name: str, args: dict, suffix: str) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{suffix}_{time.time_ns()}"}],
    )


def _json(args: dict) -> str:
    import json

    return json.dumps(args)


def app() -> FastAPI:
    """Build the app with `RefundScript` configured from the environment."""
    return create_app(
        model=RefundScript(
            order_id=int(os.environ["TEST_ORDER_ID"]),
            amount=float(os.environ.get("TEST_REFUND_AMOUNT", "50")),
            stall_file=os.environ.get("TEST_STALL_FILE") or None,
        )
    )
