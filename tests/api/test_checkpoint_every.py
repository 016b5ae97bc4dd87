"""When a thread is checkpointed: at the end of a turn and before each action, or every step.

`SWITCHBOARD_CHECKPOINT_EVERY` (`api/graph_runs.py`). What the customer sees is
the same either way; what Postgres holds differs. Crash recovery at an action is
specified with real processes in `test_issue8_processes.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from langgraph.types import StateSnapshot
from psycopg.rows import dict_row

from api.settings import Settings
from db.migrations import apply_migrations
from tests.conftest import auth, make_settings, running_app
from tests.factories import make_customer, make_order
from tests.scripted_model import ScriptedChatModel, call, say
from tests.sse import SseEvent, names, parse_sse, post_message


@dataclass
class _Turn:
    """One message's turn, as the customer and Postgres saw it."""

    thread_id: str
    events: list[SseEvent]
    history: list[tuple[str, str]]
    snapshots: list[StateSnapshot]
    """The thread's checkpoints, newest first."""
    checkpoints: int


async def _one_turn(
    settings: Settings, model_for: Callable[[int], ScriptedChatModel], text: str
) -> _Turn:
    """Send `text` on a new thread of a customer with a 300.00 order; `model_for(order_id)`."""
    async with await psycopg.AsyncConnection.connect(
        settings.database_url or "", autocommit=True, row_factory=dict_row
    ) as conn:
        await apply_migrations(conn)
        customer = await make_customer(conn)
        order = await make_order(conn, customer, prices=("300.00",))
    headers = auth(customer)
    async with running_app(settings, model_for(order)) as client:
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse((await post_message(client, thread_id, text, headers)).text)
        messages = await client.get(f"/v1/threads/{thread_id}/messages", headers=headers)
        graph = client.app.state.graph  # type: ignore[attr-defined]
        config = {"configurable": {"thread_id": thread_id}}
        snapshots = [s async for s in graph.aget_state_history(config)]
    async with await psycopg.AsyncConnection.connect(settings.database_url or "") as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    history = [(m["role"], m["content"]) for m in messages.json()["messages"]]
    return _Turn(thread_id, events, history, snapshots, int(row[0]))


def _every(settings: Settings, every: str, **overrides: object) -> Settings:
    return make_settings(
        settings.database_url or "",
        settings.data_dir,
        SWITCHBOARD_CHECKPOINT_EVERY=every,
        **overrides,
    )


def _refund(order: int) -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("request_refund", order_id=order, amount=40, reason="arrived broken"),
            say("Refunded."),
        ]
    )


async def test_a_turn_without_an_action_is_checkpointed_once_at_its_end(
    settings: Settings,
) -> None:
    turn = await _one_turn(
        settings,
        lambda _: ScriptedChatModel(replies=[call("transfer_to_billing"), say("Happy to help.")]),
        "A question",
    )

    assert names(turn.events) == ["handoff", "token", "message", "done"]
    assert turn.checkpoints == 1
    [state] = turn.snapshots
    assert state.values["messages"][-1].content == "Happy to help."
    assert state.values["active_agent"] == "billing" and state.next == ()


async def test_a_turn_with_an_action_is_checkpointed_before_the_action_runs(
    settings: Settings,
) -> None:
    turn = await _one_turn(settings, _refund, "Refund 40")

    assert names(turn.events) == ["handoff", "tool", "tool", "token", "message", "done"]
    assert [s.next for s in turn.snapshots] == [(), ("billing_tools",)]
    before_action = turn.snapshots[1].values["messages"][-1]
    assert [c["name"] for c in before_action.tool_calls] == ["request_refund"]


@pytest.mark.parametrize("every", ["turn", "step"])
async def test_the_customer_sees_the_same_turn_whichever_the_checkpoints(
    settings: Settings, every: str
) -> None:
    turn = await _one_turn(_every(settings, every), _refund, "Refund 40")

    assert names(turn.events) == ["handoff", "tool", "tool", "token", "message", "done"]
    assert [(e.data["name"], e.data["status"]) for e in turn.events if e.event == "tool"] == [
        ("request_refund", "started"),
        ("request_refund", "completed"),
    ]
    assert turn.history == [("user", "Refund 40"), ("assistant", "Refunded.")]
    # `step`: the input, the step applying it, and triage, billing, its action, billing.
    assert turn.checkpoints == (2 if every == "turn" else 6)


@pytest.mark.parametrize("every", ["turn", "step"])
async def test_a_model_that_keeps_acting_is_stopped_by_the_turns_step_limit(
    settings: Settings, every: str
) -> None:
    # Each action round is a run of its own with `turn`: the limit counts across them.
    def keeps_refunding(order: int) -> ScriptedChatModel:
        refunds = [
            call("request_refund", order_id=order, amount=1, reason=f"try {n}") for n in range(40)
        ]
        return ScriptedChatModel(replies=[call("transfer_to_billing"), *refunds])

    turn = await _one_turn(_every(settings, every), keeps_refunding, "Refund 1")

    assert [(e.event, e.data.get("code")) for e in turn.events[-2:]] == [
        ("error", "turn_too_long"),
        ("done", None),
    ]
    completed = [e for e in turn.events if e.event == "tool" and e.data["status"] == "completed"]
    assert 10 <= len(completed) <= 15


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
    # The scripted model runs out of replies after the handoff (an error), or hangs.
    kind = _HangingModel if failure == "timeout" else ScriptedChatModel
    turn = await _one_turn(
        _every(settings, every, SWITCHBOARD_TURN_TIMEOUT=1),
        lambda _: kind(replies=[call("transfer_to_billing")]),
        "Where is it?",
    )

    code = "turn_timeout" if failure == "timeout" else "internal_error"
    assert [e.data.get("code") for e in turn.events if e.event == "error"] == [code]
    assert turn.history == [("user", "Where is it?")]
