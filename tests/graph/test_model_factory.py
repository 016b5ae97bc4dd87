"""The model layer: settings pick the model; providers fall back to the offline model."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graph.builder import build_graph
from graph.context import SupportContext
from graph.llm import build_chat_model
from graph.llm.errors import ModelConfigError
from graph.llm.fallback import FallbackChatModel
from tests.conftest import make_settings
from tests.openai_server import OpenAIServer, Reply, openai_server


def _settings(tmp_path: Path, **env: object):  # type: ignore[no-untyped-def]
    return make_settings("postgresql://unused", tmp_path, **env)


def _graph_on(server: OpenAIServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The support graph on `openai:test-model` served by the loopback `server`."""
    settings = _settings(
        tmp_path,
        SWITCHBOARD_MODEL="openai:test-model",
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="sk-loopback",
    )
    return build_graph(build_chat_model(settings)).compile(checkpointer=InMemorySaver())


def test_offline_is_the_default_model(tmp_path: Path) -> None:
    from graph.llm.offline import OfflineChatModel

    assert isinstance(build_chat_model(_settings(tmp_path)), OfflineChatModel)


def test_a_provider_model_gets_the_offline_model_as_last_fallback(tmp_path: Path) -> None:
    model = build_chat_model(
        _settings(
            tmp_path,
            SWITCHBOARD_MODEL="openai:gpt-4.1-mini",
            SWITCHBOARD_FALLBACK_MODELS="anthropic:claude-sonnet-4-5",
            OPENAI_API_KEY="sk-test",
            ANTHROPIC_API_KEY="sk-ant-test",
        )
    )
    assert isinstance(model, FallbackChatModel)
    assert model.names == ["openai:gpt-4.1-mini", "anthropic:claude-sonnet-4-5", "offline"]


@pytest.mark.parametrize("spec", ["gpt-4.1-mini", "nosuchprovider:model"])
def test_an_unusable_model_string_is_a_clear_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ModelConfigError, match=r"SWITCHBOARD_MODEL|cannot build model"):
        build_chat_model(_settings(tmp_path, SWITCHBOARD_MODEL=spec))


async def test_openai_compatible_server_drives_the_graph_through_the_real_client(
    tmp_path: Path,
) -> None:
    replies = [Reply(tool="transfer_to_billing"), Reply(text="Your refund is being processed.")]
    with openai_server(replies) as server:
        graph = _graph_on(server, tmp_path)
        result = await graph.ainvoke(
            {"messages": [("user", "I want a refund")]},
            {"configurable": {"thread_id": "t-openai"}},
            context=SupportContext(customer_id="cust-1"),
        )
    assert result["active_agent"] == "billing"
    assert result["messages"][-1].content == "Your refund is being processed."
    assert result["messages"][-1].name == "billing"
    # Streamed replies carry token usage (stream_usage): cost and budgets see real counts.
    assert result["messages"][-1].usage_metadata["total_tokens"] == 15
    # The real client sent our tools in OpenAI's wire format.
    sent = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert sent == ["transfer_to_billing", "transfer_to_returns"]


async def test_a_failing_provider_falls_back_to_the_offline_model(tmp_path: Path) -> None:
    with openai_server([Reply(error=500), Reply(error=500)]) as server:
        graph = _graph_on(server, tmp_path)
        result = await graph.ainvoke(
            {"messages": [("user", "I was charged twice for order 1042")]},
            {"configurable": {"thread_id": "t-fallback"}},
            context=SupportContext(customer_id="cust-1"),
        )
    assert server.requests, "the provider was tried first"
    assert result["active_agent"] == "billing"  # the offline model routed it
    assert result["messages"][-1].content
