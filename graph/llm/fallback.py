"""A chat model that tries a chain of models in order, each with retries and a breaker.

Per provider model of the chain (issue 8): a request timeout (to the answer,
or to each chunk of a stream), retries with backoff that honour `Retry-After`
(`retry.py`), and a circuit breaker (`breaker.py`) that skips the model
without a request while it is open. The last member, the offline model, runs
locally and is called plainly. An answer from any member but the first is
*degraded*: its run is tagged `degraded` (metadata `degraded: true`) and the
message carries `response_metadata["degraded"] = True`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
from pydantic import Field

from graph.llm.breaker import CircuitBreaker
from graph.llm.errors import AllModelsFailedError, CircuitOpenError, StreamInterruptedError
from graph.llm.observer import current_observer
from graph.llm.retry import RetryPolicy, blames_provider

logger = logging.getLogger(__name__)

FALLBACK_EVENT = "switchboard.model_fallback"
"""Custom callback event sent when a model fails and the next one is tried
(`{"from": name, "to": name, "error": type}`); the API counts it in its metrics."""
RETRY_EVENT = "switchboard.model_retry"
"""Custom callback event sent before a retry (`{"model", "attempt", "delay", "error"}`)."""
BREAKER_EVENT = "switchboard.circuit_breaker"
"""Custom callback event sent when a breaker changes state (`{"model", "state"}`)."""
DEGRADED_TAG = "degraded"
START_AT = "fallback_start_at"
"""Call keyword: skip the first N models of the chain (a restart after a broken stream)."""


class FallbackChatModel(BaseChatModel):
    """Call `chain[0]`; when it fails for good, call the next one, and so on.

    Unlike `Runnable.with_fallbacks`, this stays a chat model, so agents can
    `bind_tools` on it: tools are bound to every model in the chain, and the
    breakers are shared by every binding. A stream that fails before its
    first chunk is retried or falls back; one that fails after it raises
    `StreamInterruptedError` (the caller already holds part of the answer).
    """

    chain: list[Any]
    """Chat models, or chat models with tools bound (`Runnable`s)."""
    names: list[str]
    """Display names of the chain, for logs and metrics."""
    breakers: list[CircuitBreaker | None] = Field(default_factory=list)
    """One per chain member; `None` for local models (no retries, no timeout)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    request_timeout: float | None = None
    """Seconds to the answer, or to each chunk of a stream, for provider models."""

    @property
    def _llm_type(self) -> str:
        return "switchboard-fallback"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """Bind `tools` to every model of the chain (sharing the breakers)."""
        bound = [model.bind_tools(tools, **kwargs) for model in self.chain]
        return self.model_copy(update={"chain": bound})

    # --- chain members -----------------------------------------------------------

    def _breaker(self, index: int) -> CircuitBreaker | None:
        return self.breakers[index] if index < len(self.breakers) else None

    def _member(self, index: int) -> Any:
        model = self.chain[index]
        if index == 0:
            return model
        return model.with_config(
            tags=[DEGRADED_TAG],
            metadata={DEGRADED_TAG: True, "primary_model": self.names[0]},
        )

    def _degraded_chunk(self, index: int) -> ChatGenerationChunk:
        meta = {DEGRADED_TAG: True, "served_by": self.names[index]}
        return ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=meta))

    def _failed(self, index: int, error: Exception) -> dict[str, str | None]:
        fallback = {
            "from": self.names[index],
            "to": self.names[index + 1] if index + 1 < len(self.names) else None,
            "error": type(error).__name__,
        }
        # A skip by an open breaker is routine during an outage: the opening was the warning.
        level = logging.INFO if isinstance(error, CircuitOpenError) else logging.WARNING
        logger.log(
            level,
            "model %r failed (%s: %s); falling back to %r",
            fallback["from"],
            fallback["error"],
            error,
            fallback["to"],
        )
        return fallback

    # Events go to the turn's observer (`graph/llm/observer.py`: the API's telemetry
    # counts them) and through the caller's run config (the graph node's, from the
    # context) to its callbacks (traces); outside any run nobody listens.
    def _event(self, name: str, data: dict[str, Any]) -> None:
        if observer := current_observer():
            observer.model_event(name, data)
        with contextlib.suppress(RuntimeError):
            dispatch_custom_event(name, data)

    async def _aevent(self, name: str, data: dict[str, Any]) -> None:
        if observer := current_observer():
            observer.model_event(name, data)
        with contextlib.suppress(RuntimeError):
            await adispatch_custom_event(name, data)

    def _serving(self, index: int) -> None:
        """Tell the turn's observer which member answers (its calls count under its name)."""
        if observer := current_observer():
            observer.model_served(self.names[index])

    def _fell_back(self, index: int, error: Exception) -> None:
        fallback = self._failed(index, error)
        if fallback["to"] is not None:
            self._event(FALLBACK_EVENT, fallback)
        elif observer := current_observer():
            observer.model_event(FALLBACK_EVENT, fallback)  # the last one failed too

    async def _afell_back(self, index: int, error: Exception) -> None:
        fallback = self._failed(index, error)
        if fallback["to"] is not None:
            await self._aevent(FALLBACK_EVENT, fallback)
        elif observer := current_observer():
            observer.model_event(FALLBACK_EVENT, fallback)

    # --- breaker bookkeeping -----------------------------------------------------

    def _transition(self, index: int, before: str) -> dict[str, Any] | None:
        breaker = self._breaker(index)
        if breaker is None or breaker.state == before:
            return None
        logger.warning("circuit breaker of %r: %s -> %s", breaker.name, before, breaker.state)
        return {"model": self.names[index], "state": breaker.state}

    def _acquire(self, index: int) -> dict[str, Any] | None:
        """Take the breaker's permission; raise `CircuitOpenError` when refused."""
        breaker = self._breaker(index)
        if breaker is None:
            return None
        before = breaker._state
        allowed = breaker.acquire()
        change = self._transition(index, before)
        if not allowed:
            raise CircuitOpenError(self.names[index])
        return change

    def _settle(self, index: int, error: BaseException | None) -> dict[str, Any] | None:
        breaker = self._breaker(index)
        if breaker is None:
            return None
        before = breaker.state
        if error is None:
            breaker.record_success()
        elif isinstance(error, Exception) and blames_provider(error):
            breaker.record_failure()
        else:
            breaker.release()
        return self._transition(index, before)

    def _retry_delay(self, index: int, attempt: int, error: Exception) -> float | None:
        breaker = self._breaker(index)
        if breaker is None or breaker.state == "open":
            return None
        delay = self.retry.delay(attempt, error)
        if delay is not None:
            logger.info(
                "model %r failed (%s); retry %d in %.2fs",
                self.names[index],
                type(error).__name__,
                attempt,
                delay,
            )
        return delay

    def _retry_event(self, index: int, attempt: int, delay: float, error: Exception) -> dict:
        return {
            "model": self.names[index],
            "attempt": attempt,
            "delay": round(delay, 3),
            "error": type(error).__name__,
        }

    def _record(self, index: int, error: BaseException | None) -> None:
        """Settle the breaker after an attempt; report a state change."""
        if change := self._settle(index, error):
            self._event(BREAKER_EVENT, change)

    async def _arecord(self, index: int, error: BaseException | None) -> None:
        """`_record`, reporting through the async callbacks."""
        if change := self._settle(index, error):
            await self._aevent(BREAKER_EVENT, change)

    def _backed_off(self, index: int, attempt: int, error: Exception) -> bool:
        """Sleep before the next attempt; False when `error` must not be retried."""
        delay = self._retry_delay(index, attempt, error)
        if delay is None:
            return False
        self._event(RETRY_EVENT, self._retry_event(index, attempt, delay, error))
        time.sleep(delay)
        return True

    async def _abacked_off(self, index: int, attempt: int, error: Exception) -> bool:
        """`_backed_off` without blocking the event loop."""
        delay = self._retry_delay(index, attempt, error)
        if delay is None:
            return False
        await self._aevent(RETRY_EVENT, self._retry_event(index, attempt, delay, error))
        await asyncio.sleep(delay)
        return True

    # --- async -------------------------------------------------------------------

    async def _ainvoke_member(
        self, index: int, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> BaseMessage:
        model = self._member(index)
        self._serving(index)
        if self._breaker(index) is None:
            return await model.ainvoke(messages, stop=stop, **kwargs)
        attempt = 0
        while True:
            attempt += 1
            if change := self._acquire(index):
                await self._aevent(BREAKER_EVENT, change)
            try:
                async with asyncio.timeout(self.request_timeout):
                    message = await model.ainvoke(messages, stop=stop, **kwargs)
            except Exception as error:
                await self._arecord(index, error)
                if not await self._abacked_off(index, attempt, error):
                    raise
                continue
            except BaseException:
                self._settle(index, asyncio.CancelledError())
                raise
            await self._arecord(index, None)
            return message

    async def _astream_member(
        self, index: int, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> AsyncIterator[BaseMessage]:
        model = self._member(index)
        self._serving(index)
        if self._breaker(index) is None:
            async for chunk in model.astream(messages, stop=stop, **kwargs):
                yield chunk
            return
        attempt = 0
        while True:
            attempt += 1
            if change := self._acquire(index):
                await self._aevent(BREAKER_EVENT, change)
            started = False
            try:
                async for chunk in _timed(
                    model.astream(messages, stop=stop, **kwargs), self.request_timeout
                ):
                    started = True
                    yield chunk
            except Exception as error:
                await self._arecord(index, error)
                if started:
                    raise StreamInterruptedError(self.names[index], index) from error
                if not await self._abacked_off(index, attempt, error):
                    raise
                continue
            except BaseException:
                self._settle(index, asyncio.CancelledError())
                raise
            await self._arecord(index, None)
            return

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        start = int(kwargs.pop(START_AT, 0))
        errors: list[Exception] = []
        for index in range(start, len(self.chain)):
            try:
                message = _as_ai(await self._ainvoke_member(index, messages, stop, **kwargs))
            except Exception as error:
                errors.append(error)
                await self._afell_back(index, error)
                continue
            if index > 0:
                message.response_metadata = {
                    **message.response_metadata,
                    **self._degraded_chunk(index).message.response_metadata,
                }
            return ChatResult(generations=[ChatGeneration(message=message)])
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        start = int(kwargs.pop(START_AT, 0))
        errors: list[Exception] = []
        for index in range(start, len(self.chain)):
            started = False
            try:
                async for chunk in self._astream_member(index, messages, stop, **kwargs):
                    started = True
                    generation = _as_generation_chunk(chunk, None)
                    if run_manager and isinstance(generation.message.content, str):
                        await run_manager.on_llm_new_token(
                            generation.message.content, chunk=generation
                        )
                    yield generation
            except StreamInterruptedError:
                raise
            except Exception as error:
                if started:  # a local model broke mid-stream
                    raise StreamInterruptedError(self.names[index], index) from error
                errors.append(error)
                await self._afell_back(index, error)
                continue
            if index > 0:
                yield self._degraded_chunk(index)
            return
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    # --- sync (scripts and tests; the graph streams asynchronously) ----------------

    def _invoke_member(
        self, index: int, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> BaseMessage:
        model = self._member(index)
        self._serving(index)
        if self._breaker(index) is None:
            return model.invoke(messages, stop=stop, **kwargs)
        attempt = 0
        while True:
            attempt += 1
            if change := self._acquire(index):
                self._event(BREAKER_EVENT, change)
            try:
                message = model.invoke(messages, stop=stop, **kwargs)
            except Exception as error:
                self._record(index, error)
                if not self._backed_off(index, attempt, error):
                    raise
                continue
            except BaseException:
                self._settle(index, KeyboardInterrupt())
                raise
            self._record(index, None)
            return message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        start = int(kwargs.pop(START_AT, 0))
        errors: list[Exception] = []
        for index in range(start, len(self.chain)):
            try:
                message = _as_ai(self._invoke_member(index, messages, stop, **kwargs))
            except Exception as error:
                errors.append(error)
                self._fell_back(index, error)
                continue
            if index > 0:
                message.response_metadata = {
                    **message.response_metadata,
                    **self._degraded_chunk(index).message.response_metadata,
                }
            return ChatResult(generations=[ChatGeneration(message=message)])
        raise AllModelsFailedError(f"all models failed: {errors!r}")

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # One attempt per model: a sync stream is only used outside the service.
        start = int(kwargs.pop(START_AT, 0))
        errors: list[Exception] = []
        for index in range(start, len(self.chain)):
            started = False
            try:
                change = self._acquire(index)
            except CircuitOpenError as error:
                errors.append(error)
                self._fell_back(index, error)
                continue
            if change:
                self._event(BREAKER_EVENT, change)
            self._serving(index)
            try:
                for chunk in self._member(index).stream(messages, stop=stop, **kwargs):
                    started = True
                    yield _as_generation_chunk(chunk, run_manager)
            except Exception as error:
                self._record(index, error)
                if started:
                    raise StreamInterruptedError(self.names[index], index) from error
                errors.append(error)
                self._fell_back(index, error)
                continue
            self._record(index, None)
            if index > 0:
                yield self._degraded_chunk(index)
            return
        raise AllModelsFailedError(f"all models failed: {errors!r}")


async def _timed(stream: AsyncIterator[Any], timeout: float | None) -> AsyncIterator[Any]:
    """Yield from `stream`, allowing `timeout` seconds for each chunk."""
    try:
        while True:
            try:
                async with asyncio.timeout(timeout):
                    chunk = await anext(stream)
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


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
