"""Issue 8, model calls: timeouts, retries, Retry-After, circuit breakers, fallbacks.

Driven by the real `langchain-openai` client against the loopback server
(`tests/openai_server.py`), with small settings so waits are short.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from api.observability.callbacks import TurnTelemetry
from api.observability.metrics import Metrics
from api.observability.pricing import PriceBook
from graph.agents import INTERRUPTED_NOTICE
from graph.builder import build_graph
from graph.context import SupportContext
from graph.llm import build_chat_model
from graph.llm.breaker import CircuitBreaker
from graph.llm.fallback import BREAKER_EVENT, FallbackChatModel
from graph.llm.observer import observing
from graph.llm.retry import RetryPolicy, retry_after
from tests.conftest import make_settings
from tests.openai_server import OpenAIServer, Reply, openai_server

FAST = {
    "SWITCHBOARD_MODEL_TIMEOUT": 0.5,
    "SWITCHBOARD_MODEL_MAX_RETRIES": 2,
    "SWITCHBOARD_MODEL_RETRY_BASE_DELAY": 0.2,
    "SWITCHBOARD_MODEL_RETRY_MAX_DELAY": 1.5,
    "SWITCHBOARD_BREAKER_FAILURES": 3,
    "SWITCHBOARD_BREAKER_OPEN_SECONDS": 0.6,
    "SWITCHBOARD_BREAKER_HALF_OPEN_PROBES": 1,
}


@pytest.fixture(autouse=True, scope="module")
def _warm_offline_model() -> None:
    """Load the offline model's classifier once, so timings measure the chain."""
    from graph.llm.offline import classify

    classify("hello")


def _model(server: OpenAIServer, tmp_path: Path, **env: object) -> FallbackChatModel:
    settings = make_settings(
        "postgresql://unused",
        tmp_path,
        SWITCHBOARD_MODEL="openai:test-model",
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="sk-loopback",
        **{**FAST, **env},
    )
    model = build_chat_model(settings)
    assert isinstance(model, FallbackChatModel)
    return model


def _gaps(server: OpenAIServer) -> list[float]:
    return [b - a for a, b in zip(server.times, server.times[1:], strict=False)]


class Recorder(AsyncCallbackHandler):
    """Collect custom events and the tags of every chat-model run."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.model_runs: list[tuple[list[str], dict]] = []

    async def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.events.append((name, data))

    async def on_chat_model_start(
        self, serialized: dict, messages: list, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.model_runs.append((kwargs.get("tags") or [], kwargs.get("metadata") or {}))


async def _turn(graph: Any, text: str, thread: str, callbacks: list | None = None) -> dict:
    return await graph.ainvoke(
        {"messages": [("user", text)]},
        {"configurable": {"thread_id": thread}, "callbacks": callbacks or []},
        context=SupportContext(customer_id="cust-1"),
    )


# --- retries -----------------------------------------------------------------------


async def test_server_errors_are_retried_with_exponential_backoff(tmp_path: Path) -> None:
    replies = [Reply(error=500), Reply(error=503), Reply(text="Back online.")]
    with openai_server(replies) as server:
        answer = await _model(server, tmp_path).ainvoke("hello")
    assert answer.content == "Back online."
    assert len(server.requests) == 3
    first, second = _gaps(server)
    # Equal jitter: between half and all of base * 2**(n-1).
    # (upper bounds leave room for a loaded machine)
    assert 0.1 <= first < 0.2 + 0.5
    assert 0.2 <= second < 0.4 + 0.5
    assert not answer.response_metadata.get("degraded")


async def test_a_429_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    replies = [Reply(error=429, retry_after="1"), Reply(text="Thanks for waiting.")]
    with openai_server(replies) as server:
        answer = await _model(server, tmp_path).ainvoke("hello")
    assert answer.content == "Thanks for waiting."
    assert _gaps(server)[0] >= 1.0


async def test_a_retry_after_beyond_the_longest_wait_fails_over_at_once(tmp_path: Path) -> None:
    with openai_server([Reply(error=503, retry_after="120")]) as server:
        started = time.monotonic()
        answer = await _model(server, tmp_path).ainvoke("hello")
    assert len(server.requests) == 1  # no retry, no two-minute wait
    assert time.monotonic() - started < 5
    assert answer.response_metadata["degraded"] is True
    assert answer.response_metadata["served_by"] == "offline"


async def test_a_client_error_is_not_retried(tmp_path: Path) -> None:
    with openai_server([Reply(error=400)]) as server:
        answer = await _model(server, tmp_path).ainvoke("hello")
    assert len(server.requests) == 1
    assert answer.response_metadata["degraded"] is True


async def test_a_response_slower_than_the_request_timeout_is_retried(tmp_path: Path) -> None:
    replies = [Reply(text="too late", delay=2.0), Reply(text="On time.")]
    with openai_server(replies) as server:
        started = time.monotonic()
        answer = await _model(server, tmp_path).ainvoke("hello")
        elapsed = time.monotonic() - started
    assert answer.content == "On time."
    assert len(server.requests) == 2
    assert elapsed < 1.9  # gave up on the slow one after SWITCHBOARD_MODEL_TIMEOUT


async def test_a_slow_stream_times_out_and_is_retried(tmp_path: Path) -> None:
    replies = [Reply(text="too late", delay=2.0), Reply(text="Streamed on time.")]
    with openai_server(replies) as server:
        chunks = [c async for c in _model(server, tmp_path).astream("hello")]
    assert "".join(str(c.content) for c in chunks) == "Streamed on time."
    assert len(server.requests) == 2


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    class Response:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    class Error(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.response = Response(headers)

    assert retry_after(Error({"retry-after": "3"})) == 3.0
    assert retry_after(Error({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after(Error({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(Error({})) is None
    policy = RetryPolicy(max_retries=3, base_delay=1, max_delay=3, rng=lambda: 1.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 3, 3]


# --- circuit breaker ---------------------------------------------------------------


def test_breaker_opens_after_the_threshold_and_probes_after_the_open_time() -> None:
    now = [0.0]
    breaker = CircuitBreaker("m", failure_threshold=2, open_seconds=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.acquire()
    now[0] = 10
    assert breaker.state == "half_open"
    assert breaker.acquire() and not breaker.acquire()  # one probe at a time
    breaker.record_failure()
    assert breaker.state == "open"
    now[0] = 20
    assert breaker.acquire()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.acquire()


async def test_an_open_breaker_skips_the_provider_until_a_probe_closes_it(
    tmp_path: Path,
) -> None:
    replies = [Reply(error=500)] * 3 + [Reply(text="Probe answered."), Reply(text="Normal again.")]
    metrics = Metrics()
    telemetry = TurnTelemetry(metrics, PriceBook.load(None), token_budget=None)
    recorder = Recorder()
    with openai_server(replies) as server:
        model = _model(server, tmp_path, SWITCHBOARD_MODEL_MAX_RETRIES=0)
        graph = build_graph(model).compile(checkpointer=InMemorySaver())
        callbacks = [recorder]
        with observing(telemetry):
            for n in range(3):  # three failed requests open the breaker
                await _turn(graph, "hello there", f"t-fail-{n}", callbacks)
            assert len(server.requests) == 3
            gauge = metrics.circuit_breaker.labels(model="openai:test-model")
            assert gauge._value.get() == 2  # open

            result = await _turn(graph, "hello again", "t-open", callbacks)
            assert len(server.requests) == 3  # nothing reached the provider
            assert result["messages"][-1].content  # the offline model answered

            await asyncio.sleep(0.7)  # SWITCHBOARD_BREAKER_OPEN_SECONDS
            result = await _turn(graph, "hello", "t-probe", callbacks)
            assert len(server.requests) == 4
            assert result["messages"][-1].content == "Probe answered."
            assert gauge._value.get() == 0  # closed
            result = await _turn(graph, "hello", "t-closed", callbacks)
            assert result["messages"][-1].content == "Normal again."
    states = [data["state"] for name, data in recorder.events if name == BREAKER_EVENT]
    assert states == ["open", "half_open", "closed"]
    fallbacks = metrics.model_fallbacks.labels(from_model="openai:test-model", to_model="offline")
    assert fallbacks._value.get() == 4  # three failures and one skip


# --- fallback, degraded answers ------------------------------------------------------


async def test_the_fallback_answer_is_marked_degraded_in_metrics_and_traces(
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    telemetry = TurnTelemetry(metrics, PriceBook.load(None), token_budget=None)
    recorder = Recorder()
    with openai_server([Reply(error=500)] * 3) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        with observing(telemetry):
            result = await _turn(
                graph, "I was charged twice for order 1042", "t-degraded", [recorder]
            )
    assert len(server.requests) == 3  # first try and two retries
    assert metrics.model_retries.labels(model="openai:test-model")._value.get() == 2
    answer = result["messages"][-1]
    assert answer.content and answer.response_metadata["degraded"] is True
    degraded_runs = [meta for tags, meta in recorder.model_runs if "degraded" in tags]
    assert degraded_runs and all(meta["degraded"] is True for meta in degraded_runs)
    fallbacks = metrics.model_fallbacks.labels(from_model="openai:test-model", to_model="offline")
    assert fallbacks._value.get() >= 1


# --- streams that break --------------------------------------------------------------


async def test_a_stream_dropped_before_any_chunk_is_retried(tmp_path: Path) -> None:
    replies = [Reply(text="lost", drop_after=0), Reply(text="Here it is.")]
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "hello", "t-drop-early")
    assert result["messages"][-1].content == "Here it is."
    assert len(server.requests) == 2


async def test_a_stream_dropped_mid_reply_ends_with_a_notice_not_a_hang(tmp_path: Path) -> None:
    reply = Reply(text="Your refund of 20 dollars was issued and", drop_after=4)
    with openai_server([reply]) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "where is my refund", "t-drop-mid")
    answer = result["messages"][-1]
    assert isinstance(answer, AIMessage)
    assert answer.content.startswith("Your refund of")
    assert answer.content.endswith(INTERRUPTED_NOTICE)
    assert not answer.tool_calls and not answer.invalid_tool_calls
    assert answer.response_metadata["interrupted"] is True
    assert len(server.requests) == 1  # the customer saw text: no silent re-answer


async def test_a_tool_call_stream_dropped_before_any_text_moves_to_the_next_model(
    tmp_path: Path,
) -> None:
    replies = [Reply(tool="transfer_to_billing", drop_after=1), Reply(text="Billing here.")]
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "I was charged twice for order 1042", "t-drop-tool")
    # Triage's cut-off call was discarded (nobody saw it) and the offline model,
    # next in the chain, routed the turn; billing's call went to the provider again.
    assert len(server.requests) == 2
    _assert_valid_history(result["messages"])
    handoff = next(m for m in result["messages"] if isinstance(m, AIMessage) and m.tool_calls)
    assert handoff.name == "triage" and handoff.response_metadata["degraded"] is True
    assert result["active_agent"] == "billing"
    assert result["messages"][-1].content == "Billing here."


# --- malformed tool calls ------------------------------------------------------------


def _assert_valid_history(messages: list) -> None:
    """Every tool call is answered by a ToolMessage before the next non-tool message."""
    for i, message in enumerate(messages):
        if isinstance(message, AIMessage):
            calls = [c["id"] for c in [*message.tool_calls, *message.invalid_tool_calls]]
            answered = []
            for follower in messages[i + 1 :]:
                if not isinstance(follower, ToolMessage):
                    break
                answered.append(follower.tool_call_id)
            assert set(calls) <= set(answered), f"unanswered tool calls in {message!r}"


async def test_tool_arguments_that_are_not_json_are_sent_back_for_correction(
    tmp_path: Path,
) -> None:
    replies = [
        Reply(tool="transfer_to_billing", raw_args="billing please, order 1042"),
        Reply(text="Could you tell me the order number again?"),
        Reply(text="Thanks, looking at 1042 now."),
    ]
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        first = await _turn(graph, "refund for my order", "t-bad-json")
        second = await _turn(graph, "It is 1042", "t-bad-json")
    assert first["messages"][-1].content == "Could you tell me the order number again?"
    errors = [m for m in first["messages"] if isinstance(m, ToolMessage)]
    assert errors and errors[0].status == "error" and "not valid JSON" in errors[0].content
    _assert_valid_history(second["messages"])
    assert second["messages"][-1].content == "Thanks, looking at 1042 now."
    # The provider accepted the history: the malformed call went back with its answer.
    sent = server.requests[2]["messages"]
    call_ids = [c["id"] for m in sent for c in m.get("tool_calls") or []]
    assert call_ids and call_ids[0] in [m.get("tool_call_id") for m in sent]


async def test_a_model_that_keeps_sending_broken_calls_gets_a_polite_stop(
    tmp_path: Path,
) -> None:
    replies = [Reply(tool="transfer_to_billing", raw_args="???")] * 3
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "refund", "t-bad-loop")
    assert len(server.requests) == 3
    _assert_valid_history(result["messages"])
    assert "couldn't complete that step" in result["messages"][-1].content


async def test_an_unknown_tool_name_gets_an_error_result_and_the_turn_recovers(
    tmp_path: Path,
) -> None:
    replies = [Reply(tool="issue_free_money", args={"amount": 5}), Reply(text="How can I help?")]
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "hi", "t-unknown-tool")
    tool_results = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_results and "not a valid tool" in tool_results[0].content
    assert result["messages"][-1].content == "How can I help?"
    _assert_valid_history(result["messages"])


@pytest.mark.parametrize("failures", [1, 5])
async def test_every_failure_mode_ends_the_turn(tmp_path: Path, failures: int) -> None:
    replies = [Reply(error=502)] * failures + [Reply(text="ok")]
    with openai_server(replies) as server:
        graph = build_graph(_model(server, tmp_path)).compile(checkpointer=InMemorySaver())
        result = await _turn(graph, "hello", f"t-end-{failures}")
    assert result["messages"][-1].content


# --- through the API ------------------------------------------------------------------


async def test_a_provider_outage_gives_shoppers_degraded_answers_and_shows_in_metrics(
    database_url: str, shared_data_dir: Path
) -> None:
    from tests.conftest import auth, running_app
    from tests.observability.helpers import METRICS_TOKEN, chat, new_thread, value

    dropped = Reply(text="Hello there. I am checking your order now and", drop_after=6)
    with openai_server([Reply(error=503), Reply(error=503), dropped]) as server:
        settings = make_settings(
            database_url,
            shared_data_dir,
            SWITCHBOARD_MODEL="openai:test-model",
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-loopback",
            SWITCHBOARD_METRICS_TOKEN=METRICS_TOKEN,
            **{
                **FAST,
                "SWITCHBOARD_MODEL_MAX_RETRIES": 0,
                "SWITCHBOARD_BREAKER_FAILURES": 2,
                "SWITCHBOARD_BREAKER_OPEN_SECONDS": 3,  # a whole offline turn fits in it
            },
        )
        async with running_app(settings) as client:
            headers = auth("cust-outage-1")
            thread_id = await new_thread(client, headers)
            turns = [await chat(client, thread_id, "hello", headers) for _ in range(3)]
            scrape = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            await asyncio.sleep(3.1)  # the breaker half-opens; the probe's stream breaks
            broken = await chat(client, thread_id, "hello again", headers)
            history = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
    assert len(server.requests) == 3  # the third turn never reached the provider
    for events in turns:
        assert [e.event for e in events][-2:] == ["message", "done"]
        assert events[-2].data["content"]
    text = scrape.text
    assert value(text, "switchboard_circuit_breaker_state", model="openai:test-model") == 2
    assert (
        value(
            text,
            "switchboard_model_fallbacks_total",
            from_model="openai:test-model",
            to_model="offline",
        )
        == 3
    )
    assert [e.event for e in broken][-2:] == ["message", "done"]
    assert broken[-2].data["content"].endswith(INTERRUPTED_NOTICE)
    assert history.status_code == 200
    assert history.json()["messages"][-1]["content"].endswith(INTERRUPTED_NOTICE)
