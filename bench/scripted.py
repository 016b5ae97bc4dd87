"""A scripted chat model for benchmarks: a fixed full turn, with optional model latency.

Per turn: triage hands off to billing; billing searches the knowledge base, calls
`explain_charge` on the order the customer's message names ("... order 1042"; order
1007, `cust-001`'s twice-charged one, when it names none), then answers in 40 words. Stateless
(it reads the history), so one instance serves any number of concurrent threads.
Benchmark-only: the API never builds it; `bench/server.py` passes it to `create_app`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
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

_ORDER_NAMED = re.compile(r"\border (\d+)\b", re.IGNORECASE)
REPLY = ("Thanks for waiting: here is what I found about the charge on your order. " * 4).split(" ")


class BenchScriptedModel(BaseChatModel):
    """Play the benchmark turn; sleep `latency_ms` (without blocking the loop) per call."""

    latency_ms: float = 0.0
    order_id: int = 1007

    @property
    def _llm_type(self) -> str:
        return "bench-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _decide(self, messages: list[BaseMessage], tools: list[dict] | None) -> AIMessage:
        names = {t["function"]["name"] for t in tools or []}
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        done = [m.name for m in messages[last_human:] if isinstance(m, ToolMessage)]
        if "transfer_to_billing" in names and "transfer_to_returns" in names:  # triage
            if not any(str(n).startswith("transfer_to") for n in done):
                return _call("transfer_to_billing", {})
        elif "explain_charge" in names:  # billing
            if "search_knowledge_base" in names and "search_knowledge_base" not in done:
                return _call("search_knowledge_base", {"query": "charged twice"})
            if "explain_charge" not in done:
                return _call("explain_charge", {"order_id": self._order_named(messages)})
        return AIMessage(content=" ".join(REPLY).strip())

    def _order_named(self, messages: list[BaseMessage]) -> int:
        """The order the customer's last message names, else `order_id`."""
        said = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        named = _ORDER_NAMED.search(str(said.content))
        return int(named.group(1)) if named else self.order_id

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        time.sleep(self.latency_ms / 1000)
        message = self._decide(messages, kwargs.get("tools"))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        for chunk in self._chunks(self._decide(messages, kwargs.get("tools"))):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        time.sleep(self.latency_ms / 1000)
        yield from self._chunks(self._decide(messages, kwargs.get("tools")))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        message = self._decide(messages, kwargs.get("tools"))
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
        if message.tool_calls:
            call = message.tool_calls[0]
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {
                            "name": call["name"],
                            "args": json.dumps(call["args"]),
                            "id": call["id"],
                            "index": 0,
                        }
                    ],
                )
            )
            return
        for word in str(message.content).split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


def _call(name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:20]}"}]
    )
