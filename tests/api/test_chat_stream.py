"""Chatting over HTTP: threads, the SSE event stream, history and ownership."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from api.settings import Settings
from tests.conftest import auth, running_app
from tests.scripted_model import ScriptedChatModel, call, say
from tests.sse import names, parse_sse, post_message


async def _thread(client, headers) -> str:  # type: ignore[no-untyped-def]
    response = await client.post("/v1/threads", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["thread_id"]


async def test_message_streams_handoff_tokens_message_and_done(settings: Settings) -> None:
    model = ScriptedChatModel(
        replies=[call("transfer_to_billing"), say("Your invoice INV-1042 is on its way.")]
    )
    async with running_app(settings, model) as client:
        headers = auth("cust-1")
        thread_id = await _thread(client, headers)
        response = await post_message(client, thread_id, "I need my invoice", headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert names(events) == ["handoff", "token", "message", "done"]
    assert events[0].data == {"from": "triage", "to": "billing"}
    tokens = [e.data for e in events if e.event == "token"]
    assert {t["agent"] for t in tokens} == {"billing"}
    assert "".join(t["delta"] for t in tokens) == "Your invoice INV-1042 is on its way."
    message = next(e for e in events if e.event == "message")
    assert message.data == {
        "role": "assistant",
        "agent": "billing",
        "content": "Your invoice INV-1042 is on its way.",
        "id": message.data["id"],  # the stored message's id (feedback, issue 7)
    }
    assert message.data["id"]
    assert [int(e.id) for e in events if e.id] == list(range(1, len(events) + 1))


async def test_history_lists_user_and_assistant_messages_with_active_agent(
    settings: Settings,
) -> None:
    model = ScriptedChatModel(replies=[call("transfer_to_returns"), say("Order 1042 shipped.")])
    async with running_app(settings, model) as client:
        headers = auth("cust-2")
        thread_id = await _thread(client, headers)
        await post_message(client, thread_id, "where is order 1042?", headers)
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)).json()

    assert history["active_agent"] == "returns"
    assert [(m["role"], m["agent"], m["content"]) for m in history["messages"]] == [
        ("user", None, "where is order 1042?"),
        ("assistant", "returns", "Order 1042 shipped."),
    ]


async def test_next_turn_goes_straight_to_the_agent_holding_the_thread(settings: Settings) -> None:
    model = ScriptedChatModel(
        replies=[call("transfer_to_billing"), say("Refund noted."), say("Still billing here.")]
    )
    async with running_app(settings, model) as client:
        headers = auth("cust-3")
        thread_id = await _thread(client, headers)
        await post_message(client, thread_id, "refund please", headers)
        second = parse_sse((await post_message(client, thread_id, "and when?", headers)).text)

    assert "handoff" not in names(second)
    assert next(e for e in second if e.event == "message").data["agent"] == "billing"
    # The third model call was billing's: it had billing's tools, not triage's.
    bound = model.bound_tools[-1]
    assert {"request_refund", "transfer_to_returns", "transfer_to_triage"} <= set(bound)
    assert "transfer_to_billing" not in bound and "create_return" not in bound


async def test_another_customers_thread_is_not_found(settings: Settings) -> None:
    model = ScriptedChatModel(replies=[say("Hello!")])
    async with running_app(settings, model) as client:
        owner = auth("cust-owner")
        thread_id = await _thread(client, owner)
        await post_message(client, thread_id, "hi", owner)
        stranger = auth("cust-stranger")
        read = await client.get(f"/v1/threads/{thread_id}/messages", headers=stranger)
        write = await post_message(client, thread_id, "let me in", stranger)

    for response in (read, write):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_retried_client_message_id_replays_without_running_the_turn_again(
    settings: Settings,
) -> None:
    model = ScriptedChatModel(replies=[say("Hi, how can I help?")])
    async with running_app(settings, model) as client:
        headers = auth("cust-4")
        thread_id = await _thread(client, headers)
        first = parse_sse(
            (await post_message(client, thread_id, "hello", headers, client_message_id="m-1")).text
        )
        again = parse_sse(
            (await post_message(client, thread_id, "hello", headers, client_message_id="m-1")).text
        )
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)).json()

    assert len(model.seen) == 1  # the model ran once
    assert (
        next(e for e in first if e.event == "message").data
        == next(e for e in again if e.event == "message").data
    )
    assert again[-1].data == {"replayed": True}
    assert [m["content"] for m in history["messages"]] == ["hello", "Hi, how can I help?"]


async def test_model_failure_ends_the_turn_with_an_error_event(settings: Settings) -> None:
    model = ScriptedChatModel(replies=[])  # raises: the script is empty
    async with running_app(settings, model) as client:
        headers = auth("cust-5")
        thread_id = await _thread(client, headers)
        events = parse_sse((await post_message(client, thread_id, "hello?", headers)).text)

    assert names(events) == ["error", "done"]
    assert events[0].data["code"] == "internal_error"


@pytest.mark.parametrize("role", ["staff"])
async def test_staff_token_cannot_chat_as_a_customer(settings: Settings, role: str) -> None:
    async with running_app(settings, ScriptedChatModel()) as client:
        response = await client.post("/v1/threads", headers=auth("agent-7", role))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_offline_model_routes_and_streams_over_http(settings: Settings) -> None:
    async with running_app(settings) as client:  # no override: the configured offline model
        headers = auth("cust-offline")
        thread_id = await _thread(client, headers)
        events = parse_sse(
            (
                await post_message(client, thread_id, "I was charged twice for order 1042", headers)
            ).text
        )

    assert names(events)[0] == "handoff"
    assert events[0].data == {"from": "triage", "to": "billing"}
    assert names(events)[-2:] == ["message", "done"]
    streamed = "".join(e.data["delta"] for e in events if e.event == "token")
    assert streamed == events[-2].data["content"]
    assert "1042" in streamed


async def test_lookups_stream_as_they_run_each_once_before_the_answer(settings: Settings) -> None:
    # Read-only tools run inside billing's model step (graph/read_only.py); the
    # customer still sees each start and finish as it happens, and only once.
    model = ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("search_knowledge_base", query="charged twice"),
            call("list_invoices"),
            say("Both charges are on one invoice."),
        ]
    )
    async with running_app(settings, model) as client:
        headers = auth("cust-4")
        thread_id = await _thread(client, headers)
        response = await post_message(client, thread_id, "Why was I charged twice?", headers)
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)).json()

    events = parse_sse(response.text)
    assert names(events) == ["handoff", "tool", "tool", "tool", "tool", "token", "message", "done"]
    assert [(e.data["name"], e.data["status"], e.data["agent"]) for e in events[1:5]] == [
        ("search_knowledge_base", "started", "billing"),
        ("search_knowledge_base", "completed", "billing"),
        ("list_invoices", "started", "billing"),
        ("list_invoices", "completed", "billing"),
    ]
    # The model saw each lookup's result before it answered.
    seen = model.seen[-1][-4:]
    assert [(m.type, getattr(m, "name", None)) for m in seen[1::2]] == [
        ("tool", "search_knowledge_base"),
        ("tool", "list_invoices"),
    ]
    assert history["messages"][-1]["content"] == "Both charges are on one invoice."


async def test_a_first_message_can_create_its_thread_in_the_same_request(
    settings: Settings,
) -> None:
    model = ScriptedChatModel(replies=[say("Hello!"), say("Still here.")])
    thread_id = str(uuid.uuid4())
    async with running_app(settings, model) as client:
        headers = auth("cust-new")
        first = await post_message(client, thread_id, "hi", headers, create_thread=True)
        second = await post_message(client, thread_id, "are you there?", headers)
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)).json()

    assert first.status_code == 200 and second.status_code == 200
    assert names(parse_sse(first.text)) == ["token", "message", "done"]
    assert [m["content"] for m in history["messages"]] == [
        "hi",
        "Hello!",
        "are you there?",
        "Still here.",
    ]


async def test_a_message_that_creates_its_thread_reads_no_checkpoint(
    settings: Settings, checkpoint_reads: list[dict]
) -> None:
    model = ScriptedChatModel(replies=[say("Hello!"), say("Still here.")])
    thread_id = str(uuid.uuid4())
    async with running_app(settings, model) as client:
        headers = auth("cust-new")
        await post_message(client, thread_id, "hi", headers, create_thread=True)
        created_reads = len(checkpoint_reads)
        second = await post_message(client, thread_id, "are you there?", headers)

    # Nothing can be checkpointed before the claim that created it; the next turn
    # reads the first one's checkpoint once.
    assert created_reads == 0
    assert [read["configurable"]["thread_id"] for read in checkpoint_reads] == [thread_id]
    assert names(parse_sse(second.text)) == ["token", "message", "done"]


async def test_creating_a_thread_with_another_customers_id_is_not_found(
    settings: Settings,
) -> None:
    model = ScriptedChatModel(replies=[say("Hello!")])
    async with running_app(settings, model) as client:
        owner = auth("cust-owner")
        thread_id = await _thread(client, owner)
        await post_message(client, thread_id, "hi", owner)
        stranger = auth("cust-x")
        taken = await post_message(client, thread_id, "mine now", stranger, create_thread=True)
        history = (await client.get(f"/v1/threads/{thread_id}/messages", headers=owner)).json()

    assert taken.status_code == 404
    assert taken.json()["error"]["code"] == "not_found"
    assert "new random id" in taken.json()["error"]["message"]
    assert [m["content"] for m in history["messages"]] == ["hi", "Hello!"]


@pytest.mark.parametrize("written", [str.upper, lambda canonical: canonical.replace("-", "")])
async def test_a_thread_to_create_must_be_named_by_a_lowercase_uuid(
    settings: Settings, written: Callable[[str], str]
) -> None:
    canonical = str(uuid.uuid4())
    async with running_app(settings, ScriptedChatModel(replies=[say("Hello!")])) as client:
        headers = auth("cust-5")
        response = await post_message(client, written(canonical), "hi", headers, create_thread=True)
        not_a_uuid = await post_message(client, "my-chat", "hi", headers, create_thread=True)
        read = await client.get(f"/v1/threads/{canonical}/messages", headers=headers)

    assert read.status_code == 404  # nothing was created
    assert not_a_uuid.status_code == 422
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_thread_id"
    assert "lowercase with dashes" in error["message"]


async def test_an_invalid_first_message_creates_no_thread(settings: Settings) -> None:
    thread_id = str(uuid.uuid4())
    async with running_app(settings, ScriptedChatModel(replies=[say("Hello!")])) as client:
        headers = auth("cust-6")
        empty = await post_message(client, thread_id, "   ", headers, create_thread=True)
        read = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)

    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_message"
    assert read.status_code == 404
