"""A conversation survives a server restart: checkpoints live in Postgres."""

from __future__ import annotations

from api.settings import Settings
from tests.conftest import auth, running_app
from tests.scripted_model import ScriptedChatModel, call, say
from tests.sse import names, parse_sse, post_message


async def test_thread_continues_with_history_and_active_agent_after_restart(
    settings: Settings,
) -> None:
    headers = auth("cust-restart")
    first_model = ScriptedChatModel(
        replies=[call("transfer_to_returns"), say("Order 1042 is packed.")]
    )
    async with running_app(settings, first_model) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        await post_message(client, thread_id, "where is order 1042", headers)

    # A brand-new app (new pool, new graph, new saver) on the same database.
    second_model = ScriptedChatModel(replies=[say("It ships tomorrow.")])
    async with running_app(settings, second_model) as client:
        events = parse_sse(
            (await post_message(client, thread_id, "when will it ship?", headers)).text
        )
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)).json()

    assert names(events) == ["token", "message", "done"]
    assert events[-2].data["agent"] == "returns"
    # The restarted model saw the earlier turn, including the handoff pair.
    prompt = second_model.seen[0]
    assert [m.type for m in prompt] == ["system", "human", "ai", "tool", "ai", "human"]
    assert history["active_agent"] == "returns"
    assert [m["content"] for m in history["messages"]] == [
        "where is order 1042",
        "Order 1042 is packed.",
        "when will it ship?",
        "It ships tomorrow.",
    ]


async def test_migrations_are_idempotent_across_restarts(settings: Settings) -> None:
    from db.migrations import apply_migrations, load_migrations
    from db.pool import open_pool

    async with running_app(settings, ScriptedChatModel()):
        pass
    pool = await open_pool(
        settings.database_url or "", min_size=1, max_size=1, prepare_threshold=None
    )
    async with pool.connection() as conn:
        assert await apply_migrations(conn) == []
        cursor = await conn.execute("SELECT version FROM switchboard.schema_migrations ORDER BY 1")
        assert [row["version"] for row in await cursor.fetchall()] == [
            m.version for m in load_migrations()
        ]
    await pool.close()
