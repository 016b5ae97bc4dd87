"""A chat model that tries a chain of models in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable

from graph.llm.errors import AllModelsFailedError

logger = logging.getLogger(__name__)

FALLBACK_EVENT = "switchboard.model_fallback"
"""Custom callback event sent when a model fails and the next one is tried
(`{"from": name, "to": name, "error": type}`); the API counts it in its metrics."""


class FallbackChatModel(BaseChatModel):
    """Call `chain[0]`; when it raises, call the next one, and so on.

    Unlike `Runnable.with_fallbacks`, this stays a chat model, so agents can
    `bind_tools` on it: tools are bound to every model in the chain. A stream
    that fails before its first chunk falls back; one that fails after it
    re-raises (the user already saw part of the answer).
    """

    chain: list[Any]
    """Chat models, or chat models with tools bound (`Runnable`s)."""
    names: list[str]
    """Display names of the chain, for logs and metrics."""

    @property
    def _llm_type(self) -> str:
        return "switchboard-fallback"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """Bind `tools` to every model of the chain."""
        bound = [model.bind_tools(tools, **kwargs) for model in self.chain]
        return FallbackChatModel(chain=bound, names=self.names)

    def _failed(self, index: int, error: Exception) -> dict[str, str | None]:
        fallback = {
            "from": self.names[index],
            "to": self.names[index + 1] if index + 1 < len(self.names) else None,
            "error": type(error).__name__,
        }
        logger.warning(
            "model %r failed (%s: %s); falling back to %r",
            fallback["from"],
            fallback["error"],
            error,
            fallback["to"],
        )
        return fallback

    # Chain models run with the caller's run config (the graph node's, from the
    # context), so traces and metrics see each attempt; the fallback event goes
    # through the same config. Outside any run there is nobody to tell.
    def _fell_back(self, index: int, error: Exception) -> None:
        fallback = self._failed(index, error)
        if fallback["to"] is not None:
            with contextlib.suppress(RuntimeError):
                dispatch_custom_event(FALLBACK_EVENT, fallback)

    async def _afell_back(self, index: int, error: Exception) -> None:
        fallback = self._failed(index, error)
        if fallback["to"] is not None:
            with contextlib.suppress(RuntimeError):
                await adispatch_custom_event(FALLBACK_EVENT, fallback)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        errors: list[Exception] = []
        for index, model in enumerate(self.chain):
            try:
                message = model.invoke(messages, stop=stop, **kwargs)
                return ChatResult(generations=[ChatGeneration(message=_as_ai(message))])
            except Exception as error:
                errors.append(error)
                self._fell_back(index, error)
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        errors: list[Exception] = []
        for index, model in enumerate(self.chain):
            try:
                message = await model.ainvoke(messages, stop=stop, **kwargs)
                return ChatResult(generations=[ChatGeneration(message=_as_ai(message))])
            except Exception as error:
                errors.append(error)
                await self._afell_back(index, error)
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        errors: list[Exception] = []
        for index, model in enumerate(self.chain):
            started = False
            try:
                for chunk in model.stream(messages, stop=stop, **kwargs):
                    started = True
                    yield _as_generation_chunk(chunk, run_manager)
                return
            except Exception as error:
                if started:
                    raise
                errors.append(error)
                self._fell_back(index, error)
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        errors: list[Exception] = []
        for index, model in enumerate(self.chain):
            started = False
            try:
                async for chunk in model.astream(messages, stop=stop, **kwargs):
                    started = True
                    generation = _as_generation_chunk(chunk, None)
                    if run_manager and isinstance(generation.message.content, str):
                        await run_manager.on_llm_new_token(
                            generation.message.content, chunk=generation
                        )
                    yield generation
                return
            except Exception as error:
                if started:
                    raise
                errors.append(error)
                await self._afell_back(index, error)
        raise AllModelsFailedError(f"all models failed: {errors!r}")


def _as_ai(message: BaseMessage) -> AIMessage:
    if isinstance(message, AIMessage):
        return message
    return AIMessage(content=message.content)


def _as_generation_chunk(
    chunk: BaseMessage, run_manager: CallbackManagerForLLMRun | None
) -> ChatGenerationChunk:
    message = chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk.content)
    generation = ChatGenerationChunk(message=message)
    if run_manager and isinstance(message.content, str):
        run_manager.on_llm_new_token(message.content, chunk=generation)
    return generation
