"""`/metrics` after a conversation: turns, latency, handoffs, tools, models, cost, auth."""

from __future__ import annotations

from pathlib import Path

from graph.llm.fallback import FallbackChatModel
from tests.conftest import auth, make_settings, running_app
from tests.observability.helpers import METRICS_TOKEN, chat, new_thread, value
from tests.scripted_model import ScriptedChatModel, call, say


class _DownModel(ScriptedChatModel):
    """A provider that is down: every call fails before the first token."""

    def _stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("provider unreachable")
        yield


async def test_metrics_describe_the_conversation(database_url: str, shared_data_dir: Path) -> None:
    settings = make_settings(
        database_url,
        shared_data_dir,
        SWITCHBOARD_METRICS_TOKEN=METRICS_TOKEN,
        SWITCHBOARD_PRICE_BOOK='{"scripted": {"input": 1000000, "output": 2000000}}',
    )
    scripted = ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("search_knowledge_base", query="refund timing"),
            say("Refunds reach your card in 3-5 business days."),
        ]
    )
    model = FallbackChatModel(
        chain=[_DownModel(), scripted], names=["openai:gpt-4.1-mini", "scripted"]
    )
    async with running_app(settings, model) as client:
        headers = auth("cust-metrics-1")
        thread_id = await new_thread(client, headers)
        events = await chat(client, thread_id, "when will my refund arrive?", headers)
        unauthenticated = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        scrape = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    assert events[-1].event == "done"
    assert unauthenticated.status_code == 401 and wrong.status_code == 401
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text

    assert value(text, "switchboard_turns_total", outcome="completed") == 1
    assert value(text, "switchboard_turn_duration_seconds_count", agent="billing") == 1
    assert value(text, "switchboard_time_to_first_token_seconds_count", agent="billing") == 1
    assert value(text, "switchboard_handoffs_total", from_agent="triage", to_agent="billing") == 1
    assert (
        value(text, "switchboard_tool_calls_total", tool="search_knowledge_base", outcome="ok") == 1
    )
    assert value(text, "switchboard_tool_duration_seconds_count", tool="search_knowledge_base") == 1
    assert value(text, "switchboard_tool_calls_total", tool="transfer_to_billing") == 0
    # Three model calls answered by the scripted model, each after the provider failed.
    assert value(text, "switchboard_model_calls_total", model="scripted", outcome="ok") == 3
    assert (
        value(
            text,
            "switchboard_model_fallbacks_total",
            from_model="openai:gpt-4.1-mini",
            to_model="scripted",
        )
        == 3
    )
    tokens_in = value(text, "switchboard_model_tokens_total", model="scripted", direction="input")
    tokens_out = value(text, "switchboard_model_tokens_total", model="scripted", direction="output")
    assert tokens_in > 0 and tokens_out > 0
    cost = value(text, "switchboard_model_cost_usd_total", model="scripted")
    assert abs(cost - (tokens_in * 1 + tokens_out * 2)) < 1e-6
    assert (
        value(
            text,
            "switchboard_http_requests_total",
            method="POST",
            route="/v1/threads/{thread_id}/messages",
            status="200",
        )
        == 1
    )
    assert value(text, "switchboard_active_sse_streams") == 0
    assert "switchboard_approvals" in text and 'status="pending"' in text
    assert "switchboard_circuit_breaker_state" in text


async def test_metrics_are_refused_in_production_without_a_token(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir)  # SWITCHBOARD_ENV=test
    async with running_app(settings, ScriptedChatModel()) as client:
        response = await client.get("/metrics")
        health = await client.get("/healthz")
    assert response.status_code == 403
    assert "SWITCHBOARD_METRICS_TOKEN" in response.json()["error"]["message"]
    assert health.headers["x-request-id"]
