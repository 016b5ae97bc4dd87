"""Queries on the `store` schema, always scoped to one customer.

Every read and write takes the customer id and filters on it, so another
customer's order, invoice or return is indistinguishable from a missing one
(authorisation by construction). State changes run in one transaction with
the order row locked (`SELECT … FOR UPDATE`) and an idempotency key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from tools.errors import InvalidRequestError, NotAllowedError, NotFoundError

CENT = Decimal("0.01")
LABEL_URL = "https://example-store.com/returns/labels/{rma}.pdf"
DUPLICATE_WINDOW = "1 hour"
"""A second refund of the same amount on the same order from the same thread
within this window is a retried turn, not a new request: it replays the first."""


def money(value: Decimal | float | int | str) -> Decimal:
    """Return `value` as a Decimal rounded to cents."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def to_json(value: Any) -> str:
    """Render a tool result as compact JSON (money as strings, dates as ISO)."""
    return json.dumps(value, separators=(",", ":"), default=_default, ensure_ascii=False)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


@dataclass(frozen=True)
class RefundResult:
    """A refund row, and whether this call created it or found an earlier one."""

    refund: dict[str, Any]
    replayed: bool
    order: dict[str, Any]


@dataclass(frozen=True)
class ReturnResult:
    """A return (RMA) row, and whether this call created it."""

    rma: dict[str, Any]
    replayed: bool


class Store:
    """The store repository; one instance per pool, shared by all tools."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        self.pool = pool

    # --- Reads ------------------------------------------------------------------------

    async def list_orders(self, customer_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Return the customer's most recent orders, newest first."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT order_id, status, total, currency, placed_at,"
                " (SELECT count(*) FROM store.order_items i WHERE i.order_id = o.order_id) AS items"
                " FROM store.orders o WHERE customer_id = %s"
                " ORDER BY placed_at DESC, order_id DESC LIMIT %s",
                (customer_id, limit),
            )
            return list(await cursor.fetchall())

    async def get_order(self, customer_id: str, order_id: int) -> dict[str, Any]:
        """Return the order with its items, shipments and returns.

        Raises:
            NotFoundError: No such order for this customer.

        """
        async with self.pool.connection() as conn:
            order = await _order_with(
                conn,
                customer_id,
                order_id,
                items=(
                    "SELECT item_id, sku, name, quantity, unit_price, final_sale"
                    " FROM store.order_items WHERE order_id = %s ORDER BY item_id",
                    (order_id,),
                ),
                shipments=(
                    "SELECT carrier, tracking_number, status, shipped_at, delivered_at"
                    " FROM store.shipments WHERE order_id = %s ORDER BY shipment_id",
                    (order_id,),
                ),
                returns=(
                    "SELECT rma_number, status, item_ids, created_at FROM store.returns"
                    " WHERE order_id = %s AND customer_id = %s ORDER BY created_at",
                    (order_id, customer_id),
                ),
            )
        return order

    async def list_invoices(self, customer_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Return the customer's invoices, newest first."""
        async with self.pool.connection() as conn:
            return await _rows(
                conn,
                "SELECT invoice_id, order_id, amount, currency, status, issued_at"
                " FROM store.invoices WHERE customer_id = %s"
                " ORDER BY issued_at DESC, invoice_id DESC LIMIT %s",
                (customer_id, limit),
            )

    async def get_invoice(self, customer_id: str, invoice_id: str) -> dict[str, Any]:
        """Return an invoice with its lines.

        Raises:
            NotFoundError: No such invoice for this customer.

        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT i.invoice_id, i.order_id, i.amount, i.currency, i.status, i.issued_at,"
                " o.subtotal, o.shipping, o.tax, o.total"
                " FROM store.invoices i JOIN store.orders o USING (order_id)"
                " WHERE i.invoice_id = %s AND i.customer_id = %s AND o.customer_id = %s",
                (invoice_id, customer_id, customer_id),
            )
            invoice = await cursor.fetchone()
            if invoice is None:
                raise NotFoundError(f"Invoice {invoice_id!r} was not found.")
            invoice["lines"] = await _rows(
                conn,
                "SELECT name, quantity, unit_price FROM store.order_items"
                " WHERE order_id = %s ORDER BY item_id",
                (invoice["order_id"],),
            )
        return invoice

    async def get_payments(self, customer_id: str, order_id: int) -> dict[str, Any]:
        """Return the order's money: totals, payments and refunds.

        Raises:
            NotFoundError: No such order for this customer.

        """
        async with self.pool.connection() as conn:
            order = await _order_with(
                conn,
                customer_id,
                order_id,
                payments=(
                    "SELECT payment_id, amount, currency, method, status, created_at"
                    " FROM store.payments WHERE order_id = %s AND customer_id = %s"
                    " ORDER BY created_at, payment_id",
                    (order_id, customer_id),
                ),
                refunds=(
                    "SELECT refund_id, amount, currency, reason, created_at FROM store.refunds"
                    " WHERE order_id = %s AND customer_id = %s ORDER BY created_at",
                    (order_id, customer_id),
                ),
            )
        return order

    async def get_return(self, customer_id: str, rma_number: str) -> dict[str, Any]:
        """Return an RMA.

        Raises:
            NotFoundError: No such return for this customer.

        """
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT rma_number, order_id, status, reason, item_ids, label_url,"
                " created_at, updated_at FROM store.returns"
                " WHERE rma_number = %s AND customer_id = %s",
                (rma_number, customer_id),
            )
            row = await cursor.fetchone()
        if row is None:
            raise NotFoundError(f"Return {rma_number!r} was not found.")
        return row

    async def find_refund(self, key: str) -> dict[str, Any] | None:
        """Return the refund issued under idempotency `key`, if any."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT * FROM store.refunds WHERE idempotency_key = %s", (key,)
            )
            return await cursor.fetchone()

    # --- Writes -----------------------------------------------------------------------

    async def issue_refund(
        self,
        customer_id: str,
        order_id: int,
        amount: Decimal | None,
        *,
        reason: str,
        key: str,
        thread_id: str | None = None,
        approval_id: str | None = None,
    ) -> RefundResult:
        """Refund `amount` (None: everything still refundable) on the order, once.

        The same `key`, or the same order and amount from the same thread within
        `DUPLICATE_WINDOW`, returns the earlier refund instead of a second one.

        Raises:
            NotFoundError: No such order for this customer.
            NotAllowedError: Nothing left to refund, or `amount` exceeds it.
            InvalidRequestError: `amount` is not positive.

        """
        if amount is not None and amount <= 0:
            raise InvalidRequestError("The refund amount must be greater than zero.")
        try:
            async with self.pool.connection() as conn, conn.transaction():
                order = await _order(conn, customer_id, order_id, lock=True)
                earlier = await _earlier_refund(conn, key, order, amount, thread_id)
                if earlier is not None:
                    return RefundResult(earlier, replayed=True, order=order)
                remaining = order["paid_amount"] - order["refunded_amount"]
                amount = remaining if amount is None else amount
                check_refundable(order, amount)
                cursor = await conn.execute(
                    "INSERT INTO store.refunds (refund_id, order_id, customer_id, amount,"
                    " currency, reason, idempotency_key, thread_id, approval_id)"
                    " VALUES ('RF-' || upper(substr(md5(%s), 1, 10)), %s, %s, %s, %s, %s, %s,"
                    " %s, %s) RETURNING *",
                    (
                        key,
                        order_id,
                        customer_id,
                        amount,
                        order["currency"],
                        reason,
                        key,
                        thread_id,
                        approval_id,
                    ),
                )
                refund = await cursor.fetchone()
                fully = order["refunded_amount"] + amount >= order["paid_amount"]
                if order["status"] in {"paid", "shipped", "delivered", "partially_refunded"}:
                    await conn.execute(
                        "UPDATE store.orders SET status = %s WHERE order_id = %s",
                        ("refunded" if fully else "partially_refunded", order_id),
                    )
                order = await _order(conn, customer_id, order_id)
                assert refund is not None
                return RefundResult(refund, replayed=False, order=order)
        except errors.UniqueViolation:
            # A concurrent call with the same key won the race: report its refund.
            existing = await self.find_refund(key)
            if existing is None:  # pragma: no cover - the unique index says otherwise
                raise
            order = await self.get_payments(customer_id, order_id)
            return RefundResult(existing, replayed=True, order=order)
        except errors.CheckViolation as error:
            # The database's own over-refund guard (orders.refunded_amount <= paid_amount).
            raise NotAllowedError(
                f"Order {order_id} cannot be refunded that much: it exceeds what was paid."
            ) from error

    async def create_return(
        self,
        customer_id: str,
        order_id: int,
        item_ids: list[int],
        *,
        reason: str,
        key: str,
        thread_id: str | None = None,
    ) -> ReturnResult:
        """Open a return for `item_ids` of the order, once per request.

        The same `key`, or an open return covering the same items, is returned
        instead of a second RMA. Eligibility is the caller's business.
        """
        async with self.pool.connection() as conn, conn.transaction():
            await _order(conn, customer_id, order_id, lock=True)
            cursor = await conn.execute(
                "SELECT * FROM store.returns WHERE idempotency_key = %s"
                " OR (order_id = %s AND customer_id = %s AND status <> 'cancelled'"
                "     AND item_ids @> %s::bigint[])"
                " ORDER BY created_at LIMIT 1",
                (key, order_id, customer_id, sorted(item_ids)),
            )
            earlier = await cursor.fetchone()
            if earlier is not None:
                return ReturnResult(earlier, replayed=True)
            cursor = await conn.execute(
                "SELECT count(*) AS n FROM store.returns WHERE order_id = %s", (order_id,)
            )
            count = await cursor.fetchone()
            rma = f"RMA-{order_id}-{(count['n'] if count else 0) + 1}"
            cursor = await conn.execute(
                "INSERT INTO store.returns (rma_number, order_id, customer_id, status, reason,"
                " item_ids, label_url, idempotency_key, thread_id)"
                " VALUES (%s, %s, %s, 'label_sent', %s, %s, %s, %s, %s) RETURNING *",
                (
                    rma,
                    order_id,
                    customer_id,
                    reason,
                    sorted(item_ids),
                    LABEL_URL.format(rma=rma),
                    key,
                    thread_id,
                ),
            )
            row = await cursor.fetchone()
            assert row is not None
            return ReturnResult(row, replayed=False)

    async def cancel_order(
        self, customer_id: str, order_id: int, *, key: str, thread_id: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
        """Cancel an unshipped order and refund what was paid for it.

        Returns the order, the refund (None when nothing was paid) and whether
        it was already cancelled (a repeated request changes nothing).

        Raises:
            NotFoundError: No such order for this customer.
            NotAllowedError: The order has shipped (or is otherwise past cancelling).

        """
        async with self.pool.connection() as conn, conn.transaction():
            order = await _order(conn, customer_id, order_id, lock=True)
            if order["status"] == "cancelled":
                return order, None, True
            if order["status"] not in {"placed", "paid"}:
                raise NotAllowedError(
                    f"Order {order_id} is {order['status']!r}: only orders that have not "
                    "shipped can be cancelled. Offer a return after delivery instead."
                )
            cursor = await conn.execute(
                "SELECT 1 FROM store.shipments WHERE order_id = %s LIMIT 1", (order_id,)
            )
            if await cursor.fetchone() is not None:
                raise NotAllowedError(
                    f"Order {order_id} already has a shipment and can no longer be cancelled."
                )
            refund = None
            remaining = order["paid_amount"] - order["refunded_amount"]
            if remaining > 0:
                cursor = await conn.execute(
                    "INSERT INTO store.refunds (refund_id, order_id, customer_id, amount,"
                    " currency, reason, idempotency_key, thread_id)"
                    " VALUES ('RF-' || upper(substr(md5(%s), 1, 10)), %s, %s, %s, %s,"
                    " 'order cancelled', %s, %s) RETURNING *",
                    (key, order_id, customer_id, remaining, order["currency"], key, thread_id),
                )
                refund = await cursor.fetchone()
            await conn.execute(
                "UPDATE store.orders SET status = 'cancelled', cancelled_at = now()"
                " WHERE order_id = %s",
                (order_id,),
            )
            await conn.execute(
                "UPDATE store.invoices SET status = 'void' WHERE order_id = %s AND status = 'open'",
                (order_id,),
            )
            return await _order(conn, customer_id, order_id), refund, False


def check_refundable(order: dict[str, Any], amount: Decimal) -> None:
    """Refuse a refund the order cannot take.

    Raises:
        NotAllowedError: Nothing is left to refund, or `amount` exceeds it.
        InvalidRequestError: `amount` is not positive.

    """
    remaining = order["paid_amount"] - order["refunded_amount"]
    if remaining <= 0:
        raise NotAllowedError(
            f"Order {order['order_id']} has nothing left to refund (paid "
            f"{order['paid_amount']:.2f}, refunded {order['refunded_amount']:.2f} "
            f"{order['currency']})."
        )
    if amount <= 0:
        raise InvalidRequestError("The refund amount must be greater than zero.")
    if amount > remaining:
        raise NotAllowedError(
            f"A refund of {amount:.2f} {order['currency']} exceeds what is still refundable "
            f"on order {order['order_id']} ({remaining:.2f} {order['currency']})."
        )


_ORDER = (
    "SELECT order_id, status, currency, subtotal, shipping, tax, total, paid_amount,"
    " refunded_amount, placed_at, delivered_at, cancelled_at FROM store.orders"
    " WHERE order_id = %s AND customer_id = %s"
)


async def _order(
    conn: AsyncConnection[DictRow], customer_id: str, order_id: int, *, lock: bool = False
) -> dict[str, Any]:
    cursor = await conn.execute(_ORDER + (" FOR UPDATE" if lock else ""), (order_id, customer_id))
    row = await cursor.fetchone()
    if row is None:
        raise NotFoundError(f"Order {order_id} was not found.")
    return dict(row)


async def _order_with(
    conn: AsyncConnection[DictRow],
    customer_id: str,
    order_id: int,
    **details: tuple[str, tuple],
) -> dict[str, Any]:
    """Read an order and its detail rows (one list per keyword) in one round trip.

    The queries go out together in a pipeline. Each detail query must select
    by the order itself: they run before the order is known to be the
    customer's, and their rows are dropped when it is not.

    Raises:
        NotFoundError: No such order for this customer.

    """
    async with conn.pipeline():
        order = await conn.execute(_ORDER, (order_id, customer_id))
        cursors = {name: await conn.execute(sql, params) for name, (sql, params) in details.items()}
        row = await order.fetchone()
        rows = {name: await cursor.fetchall() for name, cursor in cursors.items()}
    if row is None:
        raise NotFoundError(f"Order {order_id} was not found.")
    return {**row, **{name: [dict(r) for r in found] for name, found in rows.items()}}


async def _earlier_refund(
    conn: AsyncConnection[DictRow],
    key: str,
    order: dict[str, Any],
    amount: Decimal | None,
    thread_id: str | None,
) -> dict[str, Any] | None:
    cursor = await conn.execute("SELECT * FROM store.refunds WHERE idempotency_key = %s", (key,))
    row = await cursor.fetchone()
    if row is not None or not thread_id:
        return row
    # A retried turn asks again under a new tool call id: same order, same amount.
    # "The rest" (no amount) repeats an earlier request only if nothing is left.
    if amount is None:
        if order["paid_amount"] > order["refunded_amount"]:
            return None
        amount_filter, params = "", (order["order_id"], thread_id, DUPLICATE_WINDOW)
    else:
        amount_filter = " AND amount = %s"
        params = (order["order_id"], thread_id, amount, DUPLICATE_WINDOW)  # type: ignore[assignment]
    cursor = await conn.execute(
        "SELECT * FROM store.refunds WHERE order_id = %s AND thread_id = %s"
        + amount_filter
        + " AND created_at > now() - %s::interval ORDER BY created_at DESC LIMIT 1",
        params,
    )
    return await cursor.fetchone()


async def _rows(conn: AsyncConnection[DictRow], sql: str, params: tuple) -> list[dict[str, Any]]:
    cursor = await conn.execute(sql, params)
    return [dict(row) for row in await cursor.fetchall()]
