"""Errors of the model layer."""

from __future__ import annotations


class ModelConfigError(ValueError):
    """Raised at start-up when `SWITCHBOARD_MODEL` names no usable model.

    Fix the variable (e.g. `offline`, `openai:gpt-4.1-mini`,
    `anthropic:claude-sonnet-4-5`, `ollama:llama3.1`) or install the provider's
    LangChain package.
    """


class AllModelsFailedError(RuntimeError):
    """Raised when every model of the fallback chain failed for one call."""


class CircuitOpenError(RuntimeError):
    """Raised instead of calling a model whose circuit breaker is open.

    Nothing to fix by hand: the fallback chain moves on to the next model, and
    the breaker lets a probe through after `SWITCHBOARD_BREAKER_OPEN_SECONDS`.
    """

    def __init__(self, model: str) -> None:
        super().__init__(f"circuit breaker of {model!r} is open; skipping it")
        self.model = model


class StreamInterruptedError(RuntimeError):
    """Raised when a model's stream fails after it produced its first chunk.

    The chunks already yielded cannot be taken back, so the chain does not
    fall back by itself; `graph/agents.py` decides: if nothing reached the
    customer yet it restarts on the next model (`start_at`), otherwise it
    closes the partial reply with a notice.
    """

    def __init__(self, model: str, index: int) -> None:
        super().__init__(f"the stream of {model!r} broke off after its first chunk")
        self.model = model
        self.index = index
