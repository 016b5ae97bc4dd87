"""Turn settings into the chat model every agent uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from graph.llm.breaker import CircuitBreaker
from graph.llm.errors import ModelConfigError
from graph.llm.fallback import FallbackChatModel
from graph.llm.retry import RetryPolicy

if TYPE_CHECKING:
    from api.settings import Settings

OFFLINE = "offline"


def build_chat_model(settings: Settings) -> BaseChatModel:
    """Return the configured model, with the offline model as the last fallback.

    `SWITCHBOARD_MODEL=offline` (the default) gives the offline model alone.
    Anything else is a `provider:model` string for LangChain's
    `init_chat_model`, followed by `SWITCHBOARD_FALLBACK_MODELS` and finally
    the offline model, so a provider outage degrades the answer instead of
    failing the turn.

    Each provider model gets its own circuit breaker and the retry policy
    from settings (issue 8); the offline model runs locally without either.

    Raises:
        ModelConfigError: A model string names an unknown provider or one whose
            LangChain package is not installed.

    """
    specs = [settings.model, *settings.fallback_models]
    specs = [spec for spec in dict.fromkeys(specs) if spec != OFFLINE]
    if not specs:
        return _offline_model()
    chain = [_provider_model(spec, settings) for spec in specs]
    breakers: list[CircuitBreaker | None] = [
        CircuitBreaker(
            spec,
            failure_threshold=settings.breaker_failures,
            open_seconds=settings.breaker_open_seconds,
            half_open_probes=settings.breaker_half_open_probes,
        )
        for spec in specs
    ]
    return FallbackChatModel(
        chain=[*chain, _offline_model()],
        names=[*specs, OFFLINE],
        breakers=[*breakers, None],
        retry=RetryPolicy(
            max_retries=settings.model_max_retries,
            base_delay=settings.model_retry_base_delay,
            max_delay=settings.model_retry_max_delay,
        ),
        request_timeout=settings.model_timeout_seconds,
    )


def _offline_model() -> BaseChatModel:
    from graph.llm.offline import OfflineChatModel

    return OfflineChatModel()


def _provider_model(spec: str, settings: Settings) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    provider, _, name = spec.partition(":")
    if not name:
        raise ModelConfigError(
            f"SWITCHBOARD_MODEL entry {spec!r} is not 'provider:model' "
            "(e.g. 'openai:gpt-4.1-mini') or 'offline'."
        )
    kwargs: dict[str, Any] = {
        "temperature": settings.model_temperature,
        "timeout": settings.model_timeout_seconds,
        # Retries belong to FallbackChatModel (graph/llm/retry.py), which honours
        # Retry-After and feeds the circuit breaker: the SDK's own would hide both.
        "max_retries": 0,
    }
    if provider == "openai":
        import httpx

        kwargs["timeout"] = httpx.Timeout(
            settings.model_timeout_seconds, connect=settings.model_connect_timeout_seconds
        )
        # Streamed replies report token usage only when asked to (cost metrics, budgets).
        kwargs["stream_usage"] = True
        if settings.openai_base_url:
            kwargs["base_url"] = settings.openai_base_url
        if settings.openai_api_key:
            kwargs["api_key"] = settings.openai_api_key.get_secret_value()
    elif provider == "anthropic" and settings.anthropic_api_key:
        kwargs["api_key"] = settings.anthropic_api_key.get_secret_value()
    elif provider == "ollama":
        kwargs.pop("timeout")
        kwargs.pop("max_retries")
        if settings.ollama_base_url:
            kwargs["base_url"] = settings.ollama_base_url
    try:
        return init_chat_model(name, model_provider=provider, **kwargs)
    except (ImportError, ValueError) as error:
        raise ModelConfigError(f"cannot build model {spec!r}: {error}") from error
