"""Every tool × own / another customer's / nonexistent resource.

Another customer's order, invoice or return must answer exactly like one that
does not exist, and must not be changed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection

from tests.factories import make_customer, make_order, make_return
from tests.tools.conftest import invoke
from tools.errors import NotAuthorisedError, NotFoundError

MISSING_ORDER = 999_999_999


@dataclass(frozen=True)
class Case:
    """How to make a resource for a tool and which arguments point at it."""

    make: Callable[[AsyncConnection, str], Awaitable[Any]]
    args: Callable[[Any], dict[str, Any]]
    missing: dict[str, Any]


async def _delivered(conn: AsyncConnection, customer: str) -> int:
    return await make_order(conn, customer, prices=("80.00",))


async def _unshipped(conn: AsyncConnection, customer: str) -> int:
    return await make_order(conn, customer, status="paid", prices=("30.00",))


async def _rma(conn: AsyncConnection, customer: str) -> str:
    return await make_return(conn, customer, await _delivered(conn, customer))


def _order(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id}


CASES: dict[str, Case] = {
    "get_order": Case(_delivered, _order, {"order_id": MISSING_ORDER}),
    "check_return_eligibility": Case(_delivered, _order, {"order_id": MISSING_ORDER}),
    "create_return": Case(
        _delivered,
        lambda o: {"order_id": o, "reason": "too small"},
        {"order_id": MISSING_ORDER, "reason": "too small"},
    ),
    "cancel_order": Case(_unshipped, _order, {"order_id": MISSING_ORDER}),
    "track_return": Case(_rma, lambda r: {"rma_number": r}, {"rma_number": "RMA-999999999-1"}),
    "payment_status": Case(_delivered, _order, {"order_id": MISSING_ORDER}),
    "explain_charge": Case(_delivered, _order, {"order_id": MISSING_ORDER}),
    "get_invoice": Case(
        _delivered, lambda o: {"invoice_id": f"INV-{o}"}, {"invoice_id": f"INV-{MISSING_ORDER}"}
    ),
    "request_refund": Case(
        _delivered,
        lambda o: {"order_id": o, "amount": 10, "reason": "late delivery"},
        {"order_id": MISSING_ORDER, "amount": 10, "reason": "late delivery"},
    ),
}


def _anonymised(message: str, *ids: object) -> str:
    for ident in ids:
        message = message.replace(str(ident), "<id>")
    return message


@pytest.mark.parametrize("name", sorted(CASES))
async def test_own_resource_answers(name: str, tools, conn) -> None:  # type: ignore[no-untyped-def]
    case = CASES[name]
    me = await make_customer(conn)
    resource = await case.make(conn, me)
    result = json.loads(await invoke(tools[name], me, case.args(resource)))
    assert str(resource) in json.dumps(result)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_another_customers_resource_answers_exactly_like_a_missing_one(
    name: str, tools, conn
) -> None:  # type: ignore[no-untyped-def]
    case = CASES[name]
    me, owner = await make_customer(conn), await make_customer(conn)
    theirs = await case.make(conn, owner)
    before = await _order_state(conn, owner)

    with pytest.raises(NotFoundError) as other:
        await invoke(tools[name], me, case.args(theirs))
    with pytest.raises(NotFoundError) as missing:
        await invoke(tools[name], me, case.missing)

    assert _anonymised(str(other.value), theirs) == _anonymised(
        str(missing.value), "RMA-999999999-1", MISSING_ORDER
    )
    assert await _order_state(conn, owner) == before  # nothing changed for the owner


@pytest.mark.parametrize("name", sorted([*CASES, "list_orders", "list_invoices"]))
async def test_staff_cannot_use_customer_tools(name: str, tools, conn) -> None:  # type: ignore[no-untyped-def]
    owner = await make_customer(conn)
    case = CASES.get(name)
    args = case.args(await case.make(conn, owner)) if case else {}
    with pytest.raises(NotAuthorisedError):
        await invoke(tools[name], owner, args, role="staff")


async def test_a_run_without_a_customer_is_refused(tools) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAuthorisedError):
        await invoke(tools["list_orders"], "")


async def test_lists_show_only_the_callers_orders_and_invoices(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me, other = await make_customer(conn), await make_customer(conn)
    mine = {await _delivered(conn, me), await _unshipped(conn, me)}
    await _delivered(conn, other)

    orders = json.loads(await invoke(tools["list_orders"], me))["orders"]
    invoices = json.loads(await invoke(tools["list_invoices"], me))["invoices"]

    assert {o["order_id"] for o in orders} == mine
    assert {i["invoice_id"] for i in invoices} == {f"INV-{o}" for o in mine}


async def test_every_call_is_audited_with_redacted_arguments(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    order = await _delivered(conn, me)
    reason = "mail me at jane.doe@example.com, card 4242 4242 4242 4242, call +1 415 555 0199"
    await invoke(tools["request_refund"], me, {"order_id": order, "amount": 5, "reason": reason})
    with pytest.raises(NotFoundError):
        await invoke(tools["get_order"], me, {"order_id": MISSING_ORDER})

    cursor = await conn.execute(
        "SELECT tool, outcome, arguments, duration_ms FROM switchboard.audit_log"
        " WHERE actor = %s ORDER BY audit_id",
        (me,),
    )
    rows = await cursor.fetchall()
    assert [(r["tool"], r["outcome"]) for r in rows] == [
        ("request_refund", "refunded"),
        ("get_order", "error:not_found"),
    ]
    logged = rows[0]["arguments"]["reason"]
    assert "jane.doe" not in logged and "4242" not in logged and "555" not in logged
    assert "[email]" in logged and "[card]" in logged and "[phone]" in logged
    assert all(r["duration_ms"] >= 0 for r in rows)


async def test_audit_log_refuses_updates_and_deletes(tools, conn) -> None:  # type: ignore[no-untyped-def]
    me = await make_customer(conn)
    await invoke(tools["list_orders"], me)
    for sql in (
        "UPDATE switchboard.audit_log SET outcome = 'ok' WHERE actor = %s",
        "DELETE FROM switchboard.audit_log WHERE actor = %s",
    ):
        with pytest.raises(psycopg.errors.RaiseException):
            await conn.execute(sql, (me,))


async def _order_state(conn: AsyncConnection, customer: str) -> list[tuple]:
    cursor = await conn.execute(
        "SELECT o.order_id, o.status, o.refunded_amount,"
        " (SELECT count(*) FROM store.returns r WHERE r.order_id = o.order_id) AS returns"
        " FROM store.orders o WHERE customer_id = %s ORDER BY order_id",
        (customer,),
    )
    return [tuple(row.values()) for row in await cursor.fetchall()]
