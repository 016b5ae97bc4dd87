"""Staff approval of high-value refunds, end to end over HTTP.

The customer's run pauses at `interrupt(...)`; staff list, read and decide the
approval; the decision resumes the thread, so the refund is issued (or not)
and the outcome lands in the conversation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
from langchain_core.messages import AIMessage, ToolMessage
from psycopg.rows import dict_row

from api.settings import Settings
from db.migrations import apply_migrations
from tests.conftest import auth, make_settings, running_app
from tests.factories import make_customer, make_order
from tests.scripted_model import ScriptedChatModel, call, say
from tests.sse import names, parse_sse, post_message

STAFF = auth("staff-ana", "staff")


@asynccontextmanager
async def _db(settings: Settings) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(
        settings.database_url or "", autocommit=True, row_factory=dict_row
    ) as conn:
        await apply_migrations(conn)  # the app may not have started yet
        yield conn


async def _customer_with_order(settings: Settings, price: str = "300.00") -> tuple[str, int]:
    async with _db(settings) as conn:
        customer = await make_customer(conn)
        return customer, await make_order(conn, customer, prices=(price,))


async def _refunds(settings: Settings, order_id: int) -> list[Decimal]:
    async with _db(settings) as conn:
        cursor = await conn.execute(
            "SELECT amount FROM store.refunds WHERE order_id = %s ORDER BY created_at", (order_id,)
        )
        return [row["amount"] for row in await cursor.fetchall()]


def _refund_script(order_id: int, amount: float = 250, *after: AIMessage) -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            call("transfer_to_billing"),
            call("request_refund", order_id=order_id, amount=amount, reason="arrived broken"),
            *after,
        ]
    )


async def _ask_for_refund(client, customer: str, order_id: int) -> tuple[str, list]:  # type: ignore[no-untyped-def]
    headers = auth(customer)
    thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
    response = await post_message(client, thread_id, f"Refund 250 on order {order_id}", headers)
    return thread_id, parse_sse(response.text)


async def _post_when_free(client, thread_id: str, text: str, headers: dict):  # type: ignore[no-untyped-def]
    """Post a message; retry while the previous turn is still releasing the thread.

    The previous turn's `done` can reach the client a moment before its lease is
    released, and the API then answers 409 with Retry-After.
    """
    for _ in range(60):
        response = await post_message(client, thread_id, text, headers)
        if response.status_code != 409:
            return response
        await asyncio.sleep(0.05)
    return response


def _tool_result(model: ScriptedChatModel) -> dict:
    """The tool result the model read last (the tool guard may re-serialise it)."""
    message = model.seen[-1][-1]
    assert isinstance(message, ToolMessage)
    return json.loads(str(message.content))


async def _history(client, thread_id: str, customer: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    response = await client.get(f"/v1/threads/{thread_id}/messages", headers=auth(customer))
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


async def test_high_value_refund_waits_for_approval_then_is_issued(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(order, 250, say("Approved: 250.00 USD is on its way back to you."))
    async with running_app(settings, model) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)

        assert names(events) == ["handoff", "tool", "interrupt", "message", "done"]
        interrupt = next(e for e in events if e.event == "interrupt").data
        approval_id = interrupt["approval_id"]
        assert interrupt["action"] == "request_refund" and "250.00" in interrupt["summary"]
        note = next(e for e in events if e.event == "message").data
        assert note["agent"] == "billing" and "review" in note["content"]
        assert await _refunds(settings, order) == []
        assert (await _history(client, thread_id, customer))[-1] == ("assistant", note["content"])

        listed = (await client.get("/v1/approvals?status=pending", headers=STAFF)).json()
        assert approval_id in [a["approval_id"] for a in listed["approvals"]]
        detail = (await client.get(f"/v1/approvals/{approval_id}", headers=STAFF)).json()
        assert detail["waiting_in_thread"] is True and detail["customer_id"] == customer
        assert detail["customer_name"] == "Test Customer"
        assert detail["args"] == {
            "order_id": order,
            "amount": "250.00",
            "currency": "USD",
            "reason": "arrived broken",
        }
        assert detail["conversation"][0]["content"] == f"Refund 250 on order {order}"

        decided = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )
        history = await _history(client, thread_id, customer)

    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert decided.json()["decided_by"] == "staff-ana"
    assert decided.json()["outcome"]["status"] == "refunded"
    assert await _refunds(settings, order) == [Decimal("250.00")]
    assert history[-1] == ("assistant", "Approved: 250.00 USD is on its way back to you.")
    assert _tool_result(model)["status"] == "refunded"
    async with _db(settings) as conn:
        cursor = await conn.execute(
            "SELECT actor, actor_role, tool, outcome FROM switchboard.audit_log"
            " WHERE thread_id = %s ORDER BY audit_id",
            (thread_id,),
        )
        audit = [tuple(row.values()) for row in await cursor.fetchall()]
    # The resumed tool logs before the decision's own row, which is written last.
    assert audit == [
        (customer, "customer", "request_refund", "interrupted"),
        (customer, "customer", "request_refund", "refunded_after_approval"),
        ("staff-ana", "staff", "approval_decision", "approve:resumed"),
    ]


async def test_staff_can_approve_a_smaller_amount(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(order, 250, say("We refunded 150.00 USD."))
    async with running_app(settings, model) as client:
        _, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        too_much = await client.post(
            f"/v1/approvals/{approval_id}/decision",
            json={"decision": "edit", "args": {"amount": 400}},
            headers=STAFF,
        )
        edited = await client.post(
            f"/v1/approvals/{approval_id}/decision",
            json={"decision": "edit", "args": {"amount": 150}, "reason": "partial damage"},
            headers=STAFF,
        )

    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "invalid_decision"
    assert edited.status_code == 200, edited.text
    assert edited.json()["decision"] == {"decision": "edit", "args": {"amount": "150.00"}}
    assert await _refunds(settings, order) == [Decimal("150.00")]


async def test_rejected_refund_is_not_issued_and_the_customer_is_told(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(order, 250, say("Sorry, the team could not approve this refund."))
    async with running_app(settings, model) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        rejected = await client.post(
            f"/v1/approvals/{approval_id}/decision",
            json={"decision": "reject", "reason": "outside policy"},
            headers=STAFF,
        )
        history = await _history(client, thread_id, customer)
        again = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert await _refunds(settings, order) == []
    assert history[-1] == ("assistant", "Sorry, the team could not approve this refund.")
    assert _tool_result(model)["status"] == "rejected"
    assert again.status_code == 409


async def test_two_staff_deciding_at_once_one_wins(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(order, 250, say("Refund issued."), say("Refund issued."))
    async with running_app(settings, model) as client:
        _, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        url = f"/v1/approvals/{approval_id}/decision"
        first, second = await asyncio.gather(
            client.post(url, json={"decision": "approve"}, headers=auth("staff-a", "staff")),
            client.post(url, json={"decision": "reject"}, headers=auth("staff-b", "staff")),
        )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    refunds = await _refunds(settings, order)
    winner = first if first.status_code == 200 else second
    assert refunds == ([Decimal("250.00")] if winner.json()["status"] == "approved" else [])


async def test_customers_cannot_use_the_approvals_api(settings: Settings) -> None:
    async with running_app(settings, ScriptedChatModel()) as client:
        listed = await client.get("/v1/approvals", headers=auth("cust-x"))
        decided = await client.post(
            "/v1/approvals/apr-x/decision", json={"decision": "approve"}, headers=auth("cust-x")
        )
        missing = await client.get("/v1/approvals/apr-missing", headers=STAFF)
    assert listed.status_code == decided.status_code == 403
    assert missing.status_code == 404


async def test_unanswered_approval_expires_and_the_customer_is_told(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_APPROVAL_TTL=1)
    customer, order = await _customer_with_order(settings)
    async with running_app(settings, _refund_script(order, 250)) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        await asyncio.sleep(1.2)
        expired = (await client.get("/v1/approvals?status=expired", headers=STAFF)).json()
        late = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )
        history = await _history(client, thread_id, customer)

    assert approval_id in [a["approval_id"] for a in expired["approvals"]]
    assert late.status_code == 409
    assert "expired" in history[-1][1] and history[-1][0] == "assistant"
    assert await _refunds(settings, order) == []


async def test_pending_approval_survives_a_restart(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    async with running_app(settings, _refund_script(order, 250)) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]

    # A brand-new app (new pool, graph and tools) on the same database.
    model = ScriptedChatModel(replies=[say("Your refund was approved and issued.")])
    async with running_app(settings, model) as client:
        pending = (await client.get("/v1/approvals", headers=STAFF)).json()["approvals"]
        decided = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )
        history = await _history(client, thread_id, customer)

    assert approval_id in [a["approval_id"] for a in pending]
    assert decided.status_code == 200, decided.text
    assert await _refunds(settings, order) == [Decimal("250.00")]
    assert history[-1] == ("assistant", "Your refund was approved and issued.")


async def test_customer_can_keep_talking_while_a_refund_waits(settings: Settings) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(
        order,
        250,
        say("Your refund is still with our team; order 1042 ships tomorrow."),
        call("request_refund", order_id=order, amount=250, reason="arrived broken"),
        say("That refund is already waiting for review."),
    )
    async with running_app(settings, model) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        headers = auth(customer)
        other = parse_sse(
            (await _post_when_free(client, thread_id, "And order 1042?", headers)).text
        )
        # The note that the refund is waiting is now part of what the agent sees.
        assert any(isinstance(m, AIMessage) and "review" in str(m.content) for m in model.seen[-1])
        asked_again = parse_sse(
            (await _post_when_free(client, thread_id, "refund it now please", headers)).text
        )
        decided = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )
        history = await _history(client, thread_id, customer)

    assert names(other)[-2:] == ["message", "done"] and "interrupt" not in names(other)
    assert "interrupt" not in names(asked_again)  # no second approval for the same request
    assert _tool_result(model)["status"] == "pending_approval"
    assert decided.status_code == 200, decided.text
    assert await _refunds(settings, order) == [Decimal("250.00")]
    assert history[-1][0] == "assistant" and "approved your refund of 250.00 USD" in history[-1][1]
    assert [role for role, _ in history].count("user") == 3


async def test_outcome_reaches_the_customer_even_if_the_model_fails_after_resume(
    settings: Settings,
) -> None:
    customer, order = await _customer_with_order(settings)
    model = _refund_script(order)  # nothing scripted after the tool: the model call fails
    async with running_app(settings, model) as client:
        thread_id, events = await _ask_for_refund(client, customer, order)
        approval_id = next(e for e in events if e.event == "interrupt").data["approval_id"]
        decided = await client.post(
            f"/v1/approvals/{approval_id}/decision", json={"decision": "approve"}, headers=STAFF
        )
        history = await _history(client, thread_id, customer)

    assert decided.status_code == 200, decided.text
    assert await _refunds(settings, order) == [Decimal("250.00")]
    assert history[-1][0] == "assistant" and "approved your refund of 250.00 USD" in history[-1][1]


async def test_tool_errors_reach_the_model_as_a_tool_result(settings: Settings) -> None:
    customer, _ = await _customer_with_order(settings)
    model = ScriptedChatModel(
        replies=[
            call("transfer_to_returns"),
            call("get_order", order_id=999_999_999),
            say("I could not find that order; could you check the number?"),
        ]
    )
    async with running_app(settings, model) as client:
        headers = auth(customer)
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse(
            (await post_message(client, thread_id, "order 999999999?", headers)).text
        )

    tool_events = [e.data for e in events if e.event == "tool"]
    assert tool_events[-1] == {"name": "get_order", "status": "failed", "agent": "returns"}
    result = model.seen[-1][-1]
    assert isinstance(result, ToolMessage) and "[not_found, retryable]" in str(result.content)
