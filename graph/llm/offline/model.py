"""`OfflineChatModel`: the chat model Switchboard runs on when no provider is configured.

It classifies the customer's intent with the local embedding model, extracts
order ids and amounts with regular expressions, and answers with real tool
calls to whatever tools are bound, or in words. It is deterministic: the same
history and tools give the same answer (tool-call ids aside).

Async calls need nothing here: `BaseChatModel._agenerate`/`_astream` run
`_generate`/`_stream` in the default executor, so the blocking embedding work
never runs on the event loop.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from graph.llm.offline.policy import CallTool, Decision, decide

_WORD = re.compile(r"\S+\s*|\s+")


class OfflineChatModel(BaseChatModel):
    """A tool-calling chat model that runs locally, with no LLM provider.

    Example:
        ```python
        model = OfflineChatModel().bind_tools([transfer_to_billing, transfer_to_returns])
        model.invoke([SystemMessage("You are triage."), HumanMessage("I was charged twice")])
        ```

    """

    @property
    def _llm_type(self) -> str:
        return "switchboard-offline"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in OpenAI format; the model only ever calls tools bound this way.

        Args:
            tools: Tools as LangChain tools, functions, Pydantic models or dicts.
            tool_choice: Accepted for interface compatibility; the policy decides.
            **kwargs: Passed on to `bind`.

        """
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        decision = decide(messages, kwargs.get("tools"))
        if isinstance(decision, CallTool):
            message = AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": decision.name,
                        "args": decision.args,
                        "id": _call_id(),
                        "type": "tool_call",
                    }
                ],
            )
        else:
            message = AIMessage(content=decision.text)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        decision = decide(messages, kwargs.get("tools"))
        for chunk in _chunks(decision):
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _chunks(decision: Decision) -> Iterator[ChatGenerationChunk]:
    if isinstance(decision, CallTool):
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": decision.name,
                        "args": json.dumps(decision.args),
                        "id": _call_id(),
                        "index": 0,
                        "type": "tool_call_chunk",
                    }
                ],
            )
        )
        return
    for word in _WORD.findall(decision.text):
        yield ChatGenerationChunk(message=AIMessageChunk(content=word))


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"
