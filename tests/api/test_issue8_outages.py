"""Issue 8: outages of Postgres and Chroma, and clients that leave mid-stream.

Postgres is a real embedded server (pgserver) stopped and started under the app;
Chroma is a real `chroma run` process stopped and restarted on the same port.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.settings import Settings
from ingestion.knowledge_base import KnowledgeBase
from tests.conftest import auth, make_settings, running_app
from tests.ingestion.helpers import chroma_server, make_kb_settings, write_corpus
from tests.processes import free_port
from tests.scripted_model import ScriptedChatModel, say
from tests.sse import parse_sse
from tools.knowledge import UNAVAILABLE, KnowledgeSource, make_knowledge_tools

# --- Postgres ------------------------------------------------------------------------


@contextmanager
def stoppable_postgres(pgdata: Path) -> Iterator[tuple[str, object]]:
    """Start an embedded Postgres of our own; yield its URL and the server handle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        yield str(server.get_uri("postgres")), server
    finally:
        server.cleanup()


def _pg_ctl(server: object, *args: str) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(list(args), pgdata=server.pgdata, user=server.system_user)  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_database_outage_gives_503_with_retry_after_and_recovers_by_itself(
    tmp_path: Path, shared_data_dir: Path
) -> None:
    with stoppable_postgres(tmp_path / "pg") as (url, server):
        settings = make_settings(url, shared_data_dir, SWITCHBOARD_DB_POOL_TIMEOUT=1)
        async with running_app(settings, ScriptedChatModel()) as client:
            headers = auth("cust-outage")
            assert (await client.post("/v1/threads", headers=headers)).status_code == 201

            await asyncio.to_thread(_pg_ctl, server, "-w", "-m", "fast", "stop")
            ready = await client.get("/readyz")
            refused = await client.post("/v1/threads", headers=headers)

            await asyncio.to_thread(server.ensure_postgres_running)  # type: ignore[attr-defined]
            deadline = time.monotonic() + 30
            while (await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "the pool did not reconnect"
                await asyncio.sleep(0.5)
            recovered = await client.post("/v1/threads", headers=headers)

    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.json()["error"]["code"] == "unavailable"
    assert "database unreachable" in refused.json()["error"]["message"]
    assert recovered.status_code == 201


# --- Chroma ------------------------------------------------------------------------


@pytest.mark.slow
async def test_help_center_search_says_unavailable_while_chroma_is_down_then_recovers(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = make_kb_settings(tmp_path / "data", CHROMA_URL=f"http://127.0.0.1:{port}")
    with chroma_server(tmp_path / "chroma", port=port):
        kb = await asyncio.to_thread(KnowledgeBase.open, settings)
        await asyncio.to_thread(kb.ingest, [write_corpus(tmp_path / "docs")], progress=False)
        [tool] = make_knowledge_tools(kb)
        before = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))

    during = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))

    with chroma_server(tmp_path / "chroma", port=port):
        after = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))

    assert before["passages"]
    assert during == {"query": "Do gift cards expire?", "error": UNAVAILABLE}
    assert after["passages"] == before["passages"]


@pytest.mark.slow
async def test_knowledge_base_down_at_start_is_opened_once_chroma_answers(tmp_path: Path) -> None:
    from api.resources import open_knowledge_base

    port = free_port()
    settings = make_kb_settings(tmp_path / "data", CHROMA_URL=f"http://127.0.0.1:{port}")
    with chroma_server(tmp_path / "chroma", port=port):  # index once, then stop
        kb = await asyncio.to_thread(KnowledgeBase.open, settings)
        await asyncio.to_thread(kb.ingest, [write_corpus(tmp_path / "docs")], progress=False)
    assert await asyncio.to_thread(open_knowledge_base, settings) is None  # down at start

    source = KnowledgeSource(None, lambda: KnowledgeBase.open(settings), retry_seconds=0)
    [tool] = make_knowledge_tools(source)
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is "unavailable"
        await source.get()
    down = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))
    with chroma_server(tmp_path / "chroma", port=port):
        up = json.loads(await tool.ainvoke({"query": "Do gift cards expire?"}))

    assert down["error"] == UNAVAILABLE
    assert up["passages"]


async def test_specialist_answers_without_the_help_center_and_says_so(
    database_url: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = make_settings(
        database_url,
        tmp_path / "data",
        CHROMA_URL=dead,
        SWITCHBOARD_KB_RECONNECT=3600,
    )
    headers = auth("cust-no-kb")
    async with running_app(settings) as client:  # the offline model
        assert (await client.get("/readyz")).status_code == 200
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        response = await client.post(
            f"/v1/threads/{thread_id}/messages",
            json={"content": "How long do refunds take?", "client_message_id": str(uuid.uuid4())},
            headers=headers,
        )

    events = parse_sse(response.text)
    replies = [e.data["content"] for e in events if e.event == "message"]
    assert any(e.event == "tool" and e.data["name"] == "search_knowledge_base" for e in events)
    assert any("help center is unavailable" in reply for reply in replies), replies
    assert events[-1].event == "done"


# --- Clients that leave ---------------------------------------------------------------


class SlowModel(ScriptedChatModel):
    """A scripted model that streams a word every 0.1 s, so a client can leave mid-turn."""

    def _stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(0.1)  # in the executor thread LangChain runs sync streams on
            yield chunk


async def test_client_leaving_mid_stream_leaves_a_complete_turn(settings: Settings) -> None:
    headers = auth("cust-leaves")
    model = SlowModel(replies=[say("Your refund is on its way, it takes 5-10 business days.")])
    async with running_app(settings, model) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        body = {"content": "where is my refund?", "client_message_id": str(uuid.uuid4())}
        async with client.stream(
            "POST", f"/v1/threads/{thread_id}/messages", json=body, headers=headers
        ) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    break  # the first event arrived: hang up
        deadline = time.monotonic() + 20
        while True:
            history = (
                await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
            ).json()
            if len(history["messages"]) == 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        replay = await client.post(f"/v1/threads/{thread_id}/messages", json=body, headers=headers)

    assert [m["content"] for m in history["messages"]] == [
        "where is my refund?",
        "Your refund is on its way, it takes 5-10 business days.",
    ]
    assert parse_sse(replay.text)[-1].data.get("replayed") is True
