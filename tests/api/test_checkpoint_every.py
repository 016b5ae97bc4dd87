"""When a thread is checkpointed: at the end of a turn and before each action, or every step.

`SWITCHBOARD_CHECKPOINT_EVERY` (`api/graph_runs.py`). What the customer sees is
the same either way; what Postgres holds differs. Crash recovery at an action is
specified with real processes in `test_issue8_processes.py`.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.rows import dict_row

from api.settings import Settings
from db.migrations import apply_migrations
from tests.conftest import auth, make_settings, running_app
from tests.factories import make_customer, make_order
from tests.scripted_model import ScriptedChatModel, call, say
from tests.sse import names, parse_sse, post_message


async def _customer_with_order(settings: Settings) -> tuple[str, int]:
    async with await psycopg.AsyncConnection.connect(
        settings.database_url or "", autocommit=True, row_factory=dict_row
    ) as conn:
        await apply_migrations(conn)
        customer = await make_customer(conn)
        return customer, await make_order(conn, customer, prices=("300.00",))


async def _checkpoints(settings: Settings, thread_id: str) -> int:
    async with await psycopg.AsyncConnection.connect(settings.database_url or "") as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


def _every(settings: Settings, every: str) -> Settings:
    return make_settings(
        settings.database_url or "", settings.data_dir, SWITCHBOARD_CHECKPOINT_EVERY=every
    )


def _refund(order: int, amount: float) -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("request_refund", order_id=order, amount=amount, reason="arrived broken"),
            say("Refunded."),
        ]
    )


async def test_a_turn_without_an_action_is_checkpointed_once_at_its_end(
    settings: Settings,
) -> None:
    customer, _ = await _customer_with_order(settings)
    headers = auth(customer)
    model = ScriptedChatModel(replies=[call("transfer_to_billing"), say("Happy to help.")])
    async with running_app(settings, model) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, "A question", headers)).text)
        state = await client.app.state.graph.aget_state(  # type: ignore[attr-defined]
            {"configurable": {"thread_id": thread_id}}
        )

    assert names(events) == ["handoff", "token", "message", "done"]
    assert await _checkpoints(settings, thread_id) == 1
    assert [m.content for m in state.values["messages"]][-1] == "Happy to help."
    assert state.values["active_agent"] == "billing" and state.next == ()


async def test_a_turn_with_an_action_is_checkpointed_before_the_action_runs(
    settings: Settings,
) -> None:
    customer, order = await _customer_with_order(settings)
    headers = auth(customer)
    async with running_app(settings, _refund(order, 40)) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, "Refund 40", headers)).text)
        graph = client.app.state.graph  # type: ignore[attr-defined]
        config = {"configurable": {"thread_id": thread_id}}
        history = [s async for s in graph.aget_state_history(config)]

    assert names(events) == ["handoff", "tool", "tool", "token", "message", "done"]
    assert [s.next for s in history] == [(), ("billing_tools",)]
    before_action = history[1].values["messages"][-1]
    assert [c["name"] for c in before_action.tool_calls] == ["request_refund"]


@pytest.mark.parametrize("every", ["turn", "step"])
async def test_the_customer_sees_the_same_turn_whichever_the_checkpoints(
    settings: Settings, every: str
) -> None:
    settings = _every(settings, every)
    customer, order = await _customer_with_order(settings)
    headers = auth(customer)
    async with running_app(settings, _refund(order, 40)) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, "Refund 40", headers)).text)
        messages = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)

    assert names(events) == ["handoff", "tool", "tool", "token", "message", "done"]
    assert [(e.data["name"], e.data["status"]) for e in events if e.event == "tool"] == [
        ("request_refund", "started"),
        ("request_refund", "completed"),
    ]
    assert [(m["role"], m["content"]) for m in messages.json()["messages"]] == [
        ("user", "Refund 40"),
        ("assistant", "Refunded."),
    ]
    # `step`: the input, the step applying it, and triage, billing, its action, billing.
    assert await _checkpoints(settings, thread_id) == (2 if every == "turn" else 6)


@pytest.mark.parametrize("every", ["turn", "step"])
async def test_a_model_that_keeps_acting_is_stopped_by_the_turns_step_limit(
    settings: Settings, every: str
) -> None:
    # Each action round is a run of its own with `turn`: the limit counts across them.
    settings = _every(settings, every)
    customer, order = await _customer_with_order(settings)
    headers = auth(customer)
    refunds = [
        call("request_refund", order_id=order, amount=1, reason=f"try {n}") for n in range(40)
    ]
    model = ScriptedChatModel(replies=[call("transfer_to_billing"), *refunds])
    async with running_app(settings, model) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, "Refund 1", headers)).text)

    assert events[-2].event == "error" and events[-2].data["code"] == "turn_too_long"
    assert events[-1].event == "done"
    rounds = len([e for e in events if e.event == "tool" and e.data["status"] == "completed"])
    assert 10 <= rounds <= 15


class _HangingModel(ScriptedChatModel):
    """Hands off, then never answers: the turn runs into `SWITCHBOARD_TURN_TIMEOUT`."""

    async def _astream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.replies:
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
            return
        await asyncio.sleep(3600)
        yield  # pragma: no cover


@pytest.mark.parametrize("every", ["turn", "step"])
@pytest.mark.parametrize("failure", ["model_error", "timeout"])
async def test_a_turn_that_fails_keeps_the_customers_message(
    settings: Settings, every: str, failure: str
) -> None:
    settings = make_settings(
        settings.database_url or "",
        settings.data_dir,
        SWITCHBOARD_CHECKPOINT_EVERY=every,
        SWITCHBOARD_TURN_TIMEOUT=1,
    )
    customer, _ = await _customer_with_order(settings)
    headers = auth(customer)
    if failure == "timeout":
        model: ScriptedChatModel = _HangingModel(replies=[call("transfer_to_billing")])
    else:
        model = ScriptedChatModel(replies=[call("transfer_to_billing")])  # then runs out
    async with running_app(settings, model) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, "Where is it?", headers)).text)
        messages = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)

    code = "turn_timeout" if failure == "timeout" else "internal_error"
    assert [e.data.get("code") for e in events if e.event == "error"] == [code]
    assert [(m["role"], m["content"]) for m in messages.json()["messages"]] == [
        ("user", "Where is it?")
    ]
