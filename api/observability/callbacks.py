"""What one turn's model and tool calls cost: calls, tokens, money, fallbacks, tools.

The graph reports each call to the turn's observer (`graph/llm/observer.py`), which
is a `TurnTelemetry` for a turn the API runs. Models that
report no usage (the offline model, some local servers) get an estimate of
about four characters per token, flagged `estimated` in the usage record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage

from api.observability.metrics import Metrics
from api.observability.pricing import PriceBook
from graph.llm.fallback import BREAKER_EVENT, FALLBACK_EVENT, RETRY_EVENT

logger = logging.getLogger(__name__)

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


class TurnTelemetry:
    """Count one turn's model calls, tokens, cost, retries, fallbacks and tool calls.

    The turn's `CallObserver` (`graph/llm/observer.py`). Raises `TokenBudgetExceeded`
    before a model call once the turn has spent its budget; every other failure in
    here is logged and swallowed, since metrics must never break a turn.
    """

    def __init__(self, metrics: Metrics, prices: PriceBook, *, token_budget: int | None) -> None:
        self.metrics = metrics
        self.prices = prices
        self.token_budget = token_budget
        self.usage: dict[str, ModelUsage] = {}
        self._served_by: str | None = None

    @property
    def tokens(self) -> int:
        """Tokens (in + out) spent so far in this turn."""
        return sum(u.input_tokens + u.output_tokens for u in self.usage.values())

    @property
    def cost_usd(self) -> Decimal:
        """USD spent so far in this turn."""
        return sum((u.cost_usd for u in self.usage.values()), Decimal(0))

    # --- models ------------------------------------------------------------------

    def model_starting(self) -> None:  # noqa: D102
        self._served_by = None
        if self.token_budget is not None and self.tokens >= self.token_budget:
            self.metrics.budget_exceeded.labels(budget="turn").inc()
            raise TokenBudgetExceeded(self.tokens, self.token_budget)

    def model_served(self, model: str) -> None:  # noqa: D102
        self._served_by = model

    def model_finished(  # noqa: D102
        self, model: str, prompt_chars: int, message: BaseMessage | None
    ) -> None:
        model, self._served_by = self._served_by or model, None
        try:
            if message is None:
                self.metrics.model_calls.labels(model=model, outcome="error").inc()
            else:
                self._record_call(model, prompt_chars, message)
        except Exception:
            logger.exception("model metrics failed")

    def model_event(self, name: str, data: dict[str, Any]) -> None:  # noqa: D102
        try:
            if name == FALLBACK_EVENT:
                # The member that failed: a call of its own that answered nothing.
                self.metrics.model_calls.labels(model=str(data.get("from")), outcome="error").inc()
                if data.get("to") is not None:
                    self.metrics.model_fallbacks.labels(
                        from_model=str(data.get("from")), to_model=str(data.get("to"))
                    ).inc()
            elif name == RETRY_EVENT:
                self.metrics.model_retries.labels(model=str(data.get("model"))).inc()
            elif name == BREAKER_EVENT:
                self.metrics.set_breaker_state(str(data.get("model")), str(data.get("state")))
        except Exception:
            logger.exception("model metrics failed")

    def _record_call(self, model: str, prompt_chars: int, message: BaseMessage) -> None:
        usage = getattr(message, "usage_metadata", None) or {}
        token_usage = (getattr(message, "response_metadata", None) or {}).get("token_usage") or {}
        input_tokens = usage.get("input_tokens") or token_usage.get("prompt_tokens")
        output_tokens = usage.get("output_tokens") or token_usage.get("completion_tokens")
        estimated = input_tokens is None and output_tokens is None
        if estimated:
            input_tokens = -(-prompt_chars // _CHARS_PER_TOKEN)
            output_chars = len(_text(message))
            for call in getattr(message, "tool_calls", None) or ():
                output_chars += len(call["name"]) + len(str(call.get("args", "")))
            output_tokens = -(-output_chars // _CHARS_PER_TOKEN)
        input_tokens, output_tokens = int(input_tokens or 0), int(output_tokens or 0)
        cost = self.prices.cost(model, input_tokens, output_tokens)
        entry = self.usage.setdefault(model, ModelUsage())
        entry.calls += 1
        entry.input_tokens += input_tokens
        entry.output_tokens += output_tokens
        entry.cost_usd += cost
        entry.estimated = entry.estimated or estimated
        m = self.metrics
        m.model_calls.labels(model=model, outcome="ok").inc()
        m.model_tokens.labels(model=model, direction="input").inc(input_tokens)
        m.model_tokens.labels(model=model, direction="output").inc(output_tokens)
        m.model_cost.labels(model=model).inc(float(cost))

    # --- tools -------------------------------------------------------------------

    def tool_finished(self, name: str, outcome: str, seconds: float) -> None:  # noqa: D102
        if name.startswith("transfer_to_"):  # handoffs have their own metric
            return
        try:
            self.metrics.tool_calls.labels(tool=name, outcome=outcome).inc()
            self.metrics.tool_duration.labels(tool=name).observe(seconds)
        except Exception:
            logger.exception("tool metrics failed")


def _text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return ""
