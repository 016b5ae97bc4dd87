"""Turn settings into the chat model every agent uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from graph.llm.errors import ModelConfigError
from graph.llm.fallback import FallbackChatModel

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

    Raises:
        ModelConfigError: A model string names an unknown provider or one whose
            LangChain package is not installed.

    """
    specs = [settings.model, *settings.fallback_models]
    specs = [spec for spec in dict.fromkeys(specs) if spec != OFFLINE]
    if not specs:
        return _offline_model()
    chain = [_provider_model(spec, settings) for spec in specs]
    return FallbackChatModel(chain=[*chain, _offline_model()], names=[*specs, OFFLINE])


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
        # Retries belong to the fallback chain: fail over fast.
        "max_retries": 1,
    }
    if provider == "openai":
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
