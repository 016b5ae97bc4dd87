"""Token budgets (per turn, per customer and day), usage rows, and feedback on replies."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tests.conftest import auth, make_settings, running_app
from tests.observability.helpers import chat, new_thread
from tests.scripted_model import ScriptedChatModel, call, say


async def _rows(database_url: str, sql: str, *args: object) -> list[dict]:
    async with await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row) as conn:
        cursor = await conn.execute(sql, args)
        return await cursor.fetchall()


async def test_a_turn_over_its_token_budget_ends_with_a_clear_error(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_TURN_TOKEN_BUDGET=5)
    model = ScriptedChatModel(replies=[call("transfer_to_billing"), say("never sent")])
    async with running_app(settings, model) as client:
        headers = auth("cust-budget-1")
        thread_id = await new_thread(client, headers)
        events = await chat(client, thread_id, "I need a copy of my invoice please", headers)

    error = next(e for e in events if e.event == "error")
    assert error.data["code"] == "token_budget_exceeded"
    assert events[-1].event == "done"
    assert model.replies == [say("never sent")]  # the second model call never happened
    [usage] = await _rows(
        database_url, "SELECT * FROM switchboard.usage WHERE thread_id = %s", thread_id
    )
    assert usage["outcome"] == "token_budget_exceeded"
    assert usage["input_tokens"] > 5


async def test_the_daily_budget_refuses_new_messages_with_429(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_DAILY_TOKEN_BUDGET=10)
    model = ScriptedChatModel(replies=[say("Here is a long enough answer to spend the budget.")])
    async with running_app(settings, model) as client:
        headers = auth("cust-budget-2")
        thread_id = await new_thread(client, headers)
        first = await chat(client, thread_id, "tell me about your store", headers)
        refused = await client.post(
            f"/v1/threads/{thread_id}/messages",
            json={"content": "and another thing", "client_message_id": "m-2"},
            headers=headers,
        )
        other = await new_thread(client, auth("cust-budget-3"))

    assert first[-1].event == "done"
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "daily_budget_exceeded"
    assert int(refused.headers["retry-after"]) > 0
    assert other  # other customers are not affected


async def test_feedback_is_stored_for_the_owner_and_404_for_anyone_else(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir)
    model = ScriptedChatModel(replies=[say("Our store ships worldwide.")])
    async with running_app(settings, model) as client:
        owner = auth("cust-feedback-1")
        thread_id = await new_thread(client, owner)
        events = await chat(client, thread_id, "do you ship abroad?", owner)
        message_id = next(e for e in events if e.event == "message").data["id"]
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=owner)).json()
        url = f"/v1/threads/{thread_id}/feedback"
        up = await client.post(url, json={"message_id": message_id, "score": "up"}, headers=owner)
        down = await client.post(
            url,
            json={"message_id": message_id, "score": "down", "comment": "too short"},
            headers=owner,
        )
        stranger = await client.post(
            url, json={"message_id": message_id, "score": "up"}, headers=auth("cust-feedback-2")
        )
        unknown = await client.post(
            url, json={"message_id": "no-such-message", "score": "up"}, headers=owner
        )
        invalid = await client.post(
            url, json={"message_id": message_id, "score": "meh"}, headers=owner
        )

    assert message_id in [m["id"] for m in history["messages"]]
    assert up.status_code == 201 and down.status_code == 201
    assert down.json()["score"] == "down" and down.json()["traced"] is True
    assert stranger.status_code == 404 and unknown.status_code == 404
    assert invalid.status_code == 422
    [row] = await _rows(
        database_url, "SELECT * FROM switchboard.feedback WHERE thread_id = %s", thread_id
    )
    assert (row["score"], row["comment"], row["customer_id"]) == (
        "down",
        "too short",
        "cust-feedback-1",
    )
    [usage] = await _rows(
        database_url, "SELECT * FROM switchboard.usage WHERE thread_id = %s", thread_id
    )
    assert row["run_id"] == usage["run_id"] and usage["message_ids"] == [message_id]
    assert usage["models"]["scripted"]["calls"] == 1
