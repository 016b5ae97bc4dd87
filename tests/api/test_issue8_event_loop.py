"""Issue 8: a turn never blocks the event loop.

Blocking I/O is caught by `blockbuster` (it raises on `time.sleep`, file and socket
calls made on the loop's thread); CPU-heavy work (embeddings, guard scans) is
checked to run in worker threads. Timings are measured by `python -m bench.loop_lag`.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from blockbuster import BlockBuster

from api.settings import Settings
from graph.guards.injection import InjectionDetector
from graph.guards.input_guard import InputGuard
from graph.guards.output_guard import OutputGuard
from ingestion.embeddings import LocalEmbedder
from tests.conftest import auth, running_app
from tests.sse import parse_sse


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _recording(calls: list[tuple[str, bool]], name: str, method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, _on_event_loop()))
        return method(*args, **kwargs)

    return wrapper


async def test_a_turn_does_no_blocking_io_and_no_heavy_cpu_work_on_the_event_loop(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bool]] = []
    for owner, name in (
        (LocalEmbedder, "embed"),
        (LocalEmbedder, "embed_query"),
        (InjectionDetector, "scan"),
        (InputGuard, "scan"),
        (OutputGuard, "scan"),
    ):
        label = f"{owner.__name__}.{name}"
        monkeypatch.setattr(owner, name, _recording(calls, label, getattr(owner, name)))
    headers = auth("cust-loop")
    async with running_app(settings) as client:  # the offline model, real guards and retrieval
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        calls.clear()  # start-up warms the models on purpose
        blockbuster = BlockBuster()
        blockbuster.activate()
        try:
            response = await client.post(
                f"/v1/threads/{thread_id}/messages",
                json={
                    "content": "How long do refunds take?",
                    "client_message_id": str(uuid.uuid4()),
                },
                headers=headers,
            )
        finally:
            blockbuster.deactivate()

    events = parse_sse(response.text)
    assert response.status_code == 200
    assert not [e for e in events if e.event == "error"], events
    assert any(e.event == "message" for e in events)
    assert {name for name, _ in calls} >= {"LocalEmbedder.embed_query", "InputGuard.scan"}
    assert [name for name, on_loop in calls if on_loop] == []
