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
