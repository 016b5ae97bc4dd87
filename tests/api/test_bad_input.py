"""Bad input gets a clear JSON 4xx and writes nothing."""

from __future__ import annotations

import uuid

import pytest

from api.settings import Settings
from tests.conftest import auth, make_settings, running_app
from tests.scripted_model import ScriptedChatModel
from tests.sse import post_message


@pytest.fixture
async def chat(settings: Settings):  # type: ignore[no-untyped-def]
    """A running app with one thread; the model must never be called."""
    model = ScriptedChatModel(replies=[])
    async with running_app(settings, model) as client:
        headers = auth("cust-bad")
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        yield client, headers, thread_id, model


async def _history(client, thread_id, headers) -> list:  # type: ignore[no-untyped-def]
    response = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
    return response.json()["messages"]


@pytest.mark.parametrize("content", ["", "   ", "\n\t "])
async def test_empty_or_whitespace_message_is_refused(chat, content: str) -> None:  # type: ignore[no-untyped-def]
    client, headers, thread_id, model = chat
    response = await post_message(client, thread_id, content, headers)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_message",
        "message": "The message is empty: type something before sending.",
    }
    assert await _history(client, thread_id, headers) == []
    assert model.seen == []


async def test_message_over_the_limit_is_refused_with_the_limit_named(chat) -> None:  # type: ignore[no-untyped-def]
    client, headers, thread_id, model = chat
    response = await post_message(client, thread_id, "a" * 4001, headers)
    assert response.status_code == 422
    assert "limit is 4000" in response.json()["error"]["message"]
    assert await _history(client, thread_id, headers) == []
    assert model.seen == []


async def test_configured_message_limit_applies(database_url: str, shared_data_dir) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_MAX_MESSAGE_CHARS=10)
    async with running_app(settings, ScriptedChatModel()) as client:
        headers = auth("cust-limit")
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        response = await post_message(client, thread_id, "eleven chars", headers)
    assert response.status_code == 422
    assert "limit is 10" in response.json()["error"]["message"]


async def test_malformed_json_is_refused(chat) -> None:  # type: ignore[no-untyped-def]
    client, headers, thread_id, _ = chat
    response = await client.post(
        f"/v1/threads/{thread_id}/messages",
        content=b'{"content": "hi", ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert await _history(client, thread_id, headers) == []


async def test_missing_client_message_id_is_refused(chat) -> None:  # type: ignore[no-untyped-def]
    client, headers, thread_id, _ = chat
    response = await client.post(
        f"/v1/threads/{thread_id}/messages", json={"content": "hi"}, headers=headers
    )
    assert response.status_code == 422
    assert "client_message_id" in response.json()["error"]["message"]


@pytest.mark.parametrize("thread_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_unknown_thread_is_not_found(chat, thread_id: str) -> None:  # type: ignore[no-untyped-def]
    client, headers, _, _ = chat
    response = await post_message(client, thread_id, "hello", headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (
        await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
    ).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        auth("cust-bad", ttl=-10),  # expired
    ],
    ids=["missing", "malformed", "wrong-scheme", "expired"],
)
async def test_bad_or_expired_token_is_unauthorized(chat, headers: dict) -> None:  # type: ignore[no-untyped-def]
    client, good, thread_id, _ = chat
    response = await post_message(client, thread_id, "hello", headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await _history(client, thread_id, good) == []


async def test_token_signed_with_another_secret_is_unauthorized(chat) -> None:  # type: ignore[no-untyped-def]
    from api.auth import mint_token

    client, good, thread_id, _ = chat
    forged = mint_token("cust-bad", "customer", secret="another-secret-" * 4, ttl_seconds=60)
    response = await post_message(client, thread_id, "hi", {"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "Signature" in response.json()["error"]["message"]
    assert await _history(client, thread_id, good) == []
