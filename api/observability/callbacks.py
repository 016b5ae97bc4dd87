"""A LangChain callback handler that measures one turn: models, tokens, cost, tools.

It rides along in the turn's `callbacks`, so it sees every model call and
tool call of every agent without the graph knowing about it. Models that
report no usage (the offline model, some local servers) get an estimate of
about four characters per token, flagged `estimated` in the usage record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.outputs import LLMResult

from api.observability.metrics import Metrics
from api.observability.pricing import PriceBook

logger = logging.getLogger(__name__)

FALLBACK_EVENT = "switchboard.model_fallback"
"""Custom callback event `FallbackChatModel` dispatches when it moves down its chain."""
RETRY_EVENT = "switchboard.model_retry"
"""... before it retries a provider model (`{"model", "attempt", "delay", "error"}`)."""
BREAKER_EVENT = "switchboard.circuit_breaker"
"""... when a provider model's circuit breaker changes state (`{"model", "state"}`)."""

_WRAPPER_TYPES = frozenset({"switchboard-fallback"})
_TYPE_NAMES = {"switchboard-offline": "offline"}
_CHARS_PER_TOKEN = 4


class TokenBudgetExceeded(Exception):
    """The turn spent `SWITCHBOARD_TURN_TOKEN_BUDGET`; raised before the next model call.

    `run_turn` ends the turn with an `error` event `token_budget_exceeded`.
    """

    def __init__(self, spent: int, budget: int) -> None:
        super().__init__(f"turn spent {spent} tokens; the budget is {budget}")
        self.spent, self.budget = spent, budget


@dataclass
class ModelUsage:
    """What one model cost in one turn."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    estimated: bool = False

    def as_json(self) -> dict[str, Any]:  # noqa: D102
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": str(self.cost_usd),
            "estimated": self.estimated,
        }


@dataclass
class _ModelRun:
    model: str
    wrapper: bool
    prompt_chars: int


def model_name(
    serialized: dict[str, Any] | None, metadata: dict[str, Any] | None, **kw: Any
) -> str:
    """Return the model's name: LangChain's `ls_model_name`, else its invocation params."""
    if metadata and metadata.get("ls_model_name"):
        return str(metadata["ls_model_name"])
    params = kw.get("invocation_params") or {}
    for key in ("model", "model_name"):
        if params.get(key):
            return str(params[key])
    kind = str(params.get("_type") or (serialized or {}).get("name") or "unknown")
    return _TYPE_NAMES.get(kind, kind)


class TurnTelemetry(BaseCallbackHandler):
    """Count one turn's model calls, tokens, cost, retries, fallbacks and tool calls.

    Raises `TokenBudgetExceeded` from the start of a model call once the turn
    has spent its budget (`raise_error`); every other failure in here is
    logged and swallowed, since metrics must never break a turn.
    """

    run_inline = True  # cheap, and keeps the order of events
    raise_error = True  # for TokenBudgetExceeded only; everything else is caught

    def __init__(self, metrics: Metrics, prices: PriceBook, *, token_budget: int | None) -> None:
        self.metrics = metrics
        self.prices = prices
        self.token_budget = token_budget
        self.usage: dict[str, ModelUsage] = {}
        self._models: dict[UUID, _ModelRun] = {}
        self._tools: dict[UUID, tuple[str, float]] = {}

    @property
    def tokens(self) -> int:
        """Tokens (in + out) spent so far in this turn."""
        return sum(u.input_tokens + u.output_tokens for u in self.usage.values())

    @property
    def cost_usd(self) -> Decimal:
        """USD spent so far in this turn."""
        return sum((u.cost_usd for u in self.usage.values()), Decimal(0))

    # --- models ------------------------------------------------------------------

    def on_chat_model_start(  # noqa: D102
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        outermost = parent_run_id not in self._models
        if outermost and self.token_budget is not None and self.tokens >= self.token_budget:
            self.metrics.budget_exceeded.labels(budget="turn").inc()
            raise TokenBudgetExceeded(self.tokens, self.token_budget)
        try:
            params = kwargs.get("invocation_params") or {}
            chars = sum(len(_text(m)) for batch in messages for m in batch)
            self._models[run_id] = _ModelRun(
                model=model_name(serialized, metadata, **kwargs),
                wrapper=params.get("_type") in _WRAPPER_TYPES,
                prompt_chars=chars,
            )
        except Exception:
            logger.exception("model metrics failed")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        run = self._models.pop(run_id, None)
        if run is None or run.wrapper:
            return
        try:
            self._record_call(run, response)
        except Exception:
            logger.exception("model metrics failed")

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        run = self._models.pop(run_id, None)
        if run is not None and not run.wrapper:
            self.metrics.model_calls.labels(model=run.model, outcome="error").inc()

    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        run = self._models.get(run_id)
        self.metrics.model_retries.labels(model=run.model if run else "unknown").inc()

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        if name == FALLBACK_EVENT and isinstance(data, dict):
            self.metrics.model_fallbacks.labels(
                from_model=str(data.get("from")), to_model=str(data.get("to"))
            ).inc()
        elif name == RETRY_EVENT and isinstance(data, dict):
            self.metrics.model_retries.labels(model=str(data.get("model"))).inc()
        elif name == BREAKER_EVENT and isinstance(data, dict):
            with contextlib.suppress(KeyError):
                self.metrics.set_breaker_state(str(data.get("model")), str(data.get("state")))

    def _record_call(self, run: _ModelRun, response: LLMResult) -> None:
        generation = response.generations[0][0] if response.generations else None
        message = getattr(generation, "message", None)
        usage = getattr(message, "usage_metadata", None) or {}
        token_usage = (response.llm_output or {}).get("token_usage") or {}
        input_tokens = usage.get("input_tokens") or token_usage.get("prompt_tokens")
        output_tokens = usage.get("output_tokens") or token_usage.get("completion_tokens")
        estimated = input_tokens is None and output_tokens is None
        if estimated:
            input_tokens = -(-run.prompt_chars // _CHARS_PER_TOKEN)
            output_chars = len(_text(message)) if message is not None else 0
            for call in getattr(message, "tool_calls", None) or ():
                output_chars += len(call["name"]) + len(str(call.get("args", "")))
            output_tokens = -(-output_chars // _CHARS_PER_TOKEN)
        input_tokens, output_tokens = int(input_tokens or 0), int(output_tokens or 0)
        cost = self.prices.cost(run.model, input_tokens, output_tokens)
        entry = self.usage.setdefault(run.model, ModelUsage())
        entry.calls += 1
        entry.input_tokens += input_tokens
        entry.output_tokens += output_tokens
        entry.cost_usd += cost
        entry.estimated = entry.estimated or estimated
        m = self.metrics
        m.model_calls.labels(model=run.model, outcome="ok").inc()
        m.model_tokens.labels(model=run.model, direction="input").inc(input_tokens)
        m.model_tokens.labels(model=run.model, direction="output").inc(output_tokens)
        m.model_cost.labels(model=run.model).inc(float(cost))

    # --- tools -------------------------------------------------------------------

    def on_tool_start(  # noqa: D102
        self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        name = str((serialized or {}).get("name") or kwargs.get("name") or "tool")
        if not name.startswith("transfer_to_"):  # handoffs have their own metric
            self._tools[run_id] = (name, time.monotonic())

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        failed = isinstance(output, ToolMessage) and output.status == "error"
        self._tool_done(run_id, "error" if failed else "ok")

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:  # noqa: D102
        self._tool_done(run_id, "error")

    def _tool_done(self, run_id: UUID, outcome: str) -> None:
        started = self._tools.pop(run_id, None)
        if started is None:
            return
        name, at = started
        self.metrics.tool_calls.labels(tool=name, outcome=outcome).inc()
        self.metrics.tool_duration.labels(tool=name).observe(time.monotonic() - at)


def _text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return ""
