"""A retried or resumed turn never refunds twice; nothing refunds more than was paid."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import psycopg
import pytest

from tests.factories import make_customer, make_order
from tests.tools.conftest import invoke
from tools.errors import NotAllowedError


async def _refunds(conn, order_id: int) -> list[Decimal]:  # type: ignore[no-untyped-def]
    cursor = await conn.execute(
        "SELECT amount FROM store.refunds WHERE order_id = %s ORDER BY created_at", (order_id,)
    )
    return [row["amount"] for row in await cursor.fetchall()]


async def test_resumed_tool_call_reuses_its_refund(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("100.00",))
    args = {"order_id": order, "amount": 40, "reason": "late"}
    same = {"thread_id": "thread-resume", "tool_call_id": "call-1"}

    first = json.loads(await invoke(tools["request_refund"], me, args, **same))
    again = json.loads(await invoke(tools["request_refund"], me, args, **same))

    assert first["refund_id"] == again["refund_id"]
    assert (first["already_issued"], again["already_issued"]) == (False, True)
    assert await _refunds(conn, order) == [Decimal("40.00")]


async def test_retried_turn_with_a_new_call_id_reuses_the_refund(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("100.00",))
    args = {"order_id": order, "amount": 40, "reason": "late"}

    first = json.loads(await invoke(tools["request_refund"], me, args, thread_id="t-retry"))
    retry = json.loads(await invoke(tools["request_refund"], me, args, thread_id="t-retry"))

    assert retry["refund_id"] == first["refund_id"] and retry["already_issued"] is True
    assert await _refunds(conn, order) == [Decimal("40.00")]


async def test_refunding_the_rest_twice_refunds_once(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("30.00", "20.00"))
    args = {"order_id": order, "reason": "changed my mind"}

    first = json.loads(await invoke(tools["request_refund"], me, args, thread_id="t-rest"))
    retry = json.loads(await invoke(tools["request_refund"], me, args, thread_id="t-rest"))

    assert first["amount"] == "50.00" and retry["already_issued"] is True
    assert await _refunds(conn, order) == [Decimal("50.00")]


async def test_a_new_request_in_another_conversation_is_a_new_refund(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("100.00",))
    args = {"order_id": order, "amount": 30, "reason": "late"}

    await invoke(tools["request_refund"], me, args, thread_id="t-a")
    await invoke(tools["request_refund"], me, args, thread_id="t-b")

    assert await _refunds(conn, order) == [Decimal("30.00"), Decimal("30.00")]


async def test_refund_above_what_is_left_is_refused(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("100.00",))
    await invoke(tools["request_refund"], me, {"order_id": order, "amount": 90, "reason": "x1"})

    with pytest.raises(NotAllowedError, match=r"exceeds what is still refundable.*10\.00"):
        await invoke(tools["request_refund"], me, {"order_id": order, "amount": 20, "reason": "x2"})
    assert await _refunds(conn, order) == [Decimal("90.00")]


async def test_concurrent_refunds_never_exceed_what_was_paid(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("100.00",))
    args = {"order_id": order, "amount": 60, "reason": "race"}

    results = await asyncio.gather(
        *(invoke(tools["request_refund"], me, args, thread_id=f"t-{n}") for n in range(5)),
        return_exceptions=True,
    )

    assert sum(isinstance(r, str) for r in results) == 1
    assert all(isinstance(r, NotAllowedError) for r in results if not isinstance(r, str))
    assert await _refunds(conn, order) == [Decimal("60.00")]


async def test_database_refuses_an_over_refund_written_directly(conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("50.00",))
    with pytest.raises(psycopg.errors.CheckViolation):
        await conn.execute(
            "INSERT INTO store.refunds (refund_id, order_id, customer_id, amount, currency,"
            " idempotency_key) VALUES ('RF-DIRECT', %s, %s, 50.01, 'USD', 'direct')",
            (order, me),
        )


async def test_duplicate_charge_is_explained_and_refundable(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await make_order(conn, me, prices=("45.00",), charged_twice=True)

    charge = json.loads(await invoke(tools["explain_charge"], me, {"order_id": order}))
    refund = json.loads(
        await invoke(
            tools["request_refund"], me, {"order_id": order, "amount": 45, "reason": "dup"}
        )
    )

    assert len(charge["duplicate_charges"]) == 1 and charge["payment_state"] == "overpaid"
    assert refund["still_refundable"] == "45.00"


async def test_create_return_and_cancel_order_are_idempotent(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    delivered = await make_order(conn, me, prices=("25.00", "35.00"))
    unshipped = await make_order(conn, me, status="paid", prices=("70.00",))
    args = {"order_id": delivered, "reason": "does not fit"}

    first = json.loads(await invoke(tools["create_return"], me, args, thread_id="t-rma"))
    again = json.loads(await invoke(tools["create_return"], me, args, thread_id="t-rma"))
    cancel = json.loads(await invoke(tools["cancel_order"], me, {"order_id": unshipped}))
    cancel_again = json.loads(await invoke(tools["cancel_order"], me, {"order_id": unshipped}))

    assert first["rma_number"] == again["rma_number"] and again["already_open"] is True
    assert first["label_url"].startswith("https://example-store.com/")
    assert cancel["refund"]["amount"] == "70.00" and cancel_again["already_cancelled"] is True
    assert await _refunds(conn, unshipped) == [Decimal("70.00")]


async def test_shipped_orders_cannot_be_cancelled_and_final_sale_cannot_be_returned(
    tools, conn
) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    shipped = await make_order(conn, me, status="shipped")
    final = await make_order(conn, me, final_sale=True)
    old = await make_order(conn, me, delivered_days_ago=45)

    with pytest.raises(NotAllowedError, match="only orders that have not shipped"):
        await invoke(tools["cancel_order"], me, {"order_id": shipped})
    verdicts = [
        json.loads(await invoke(tools["check_return_eligibility"], me, {"order_id": o}))
        for o in (final, old)
    ]
    assert [v["eligible"] for v in verdicts] == [False, False]
    assert "final sale" in verdicts[0]["reason"] and "window closed" in verdicts[1]["reason"]
    with pytest.raises(NotAllowedError):
        await invoke(tools["create_return"], me, {"order_id": old, "reason": "too late"})
