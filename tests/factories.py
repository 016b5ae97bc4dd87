"""Data builders for the store: each test makes its own customers and orders.

Ids come from counters far above the demo seed's (orders 1001-1550), so tests
never touch seeded rows and run in any order on the shared session database.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from psycopg import AsyncConnection

_order_ids = itertools.count(700_001)


async def make_customer(conn: AsyncConnection, name: str = "Test Customer") -> str:
    """Insert a customer; return its id."""
    customer_id = f"t-cust-{uuid.uuid4().hex[:10]}"
    await conn.execute(
        "INSERT INTO store.customers (customer_id, name, email, phone) VALUES (%s, %s, %s, %s)",
        (customer_id, name, f"{customer_id}@example.com", "+1-555-0100"),
    )
    return customer_id


async def make_order(
    conn: AsyncConnection,
    customer_id: str,
    *,
    status: str = "delivered",
    prices: tuple[str, ...] = ("120.00",),
    final_sale: bool = False,
    delivered_days_ago: int = 5,
    paid: bool = True,
    charged_twice: bool = False,
) -> int:
    """Insert an order with items, invoice, payment and shipment; return its id.

    No tax or shipping, so the total is the sum of `prices`.
    """
    order_id = next(_order_ids)
    now = datetime.now(UTC)
    total = sum((Decimal(p) for p in prices), Decimal(0))
    delivered = now - timedelta(days=delivered_days_ago) if status == "delivered" else None
    await conn.execute(
        "INSERT INTO store.orders (order_id, customer_id, status, subtotal, total, placed_at,"
        " delivered_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (order_id, customer_id, status, total, total, now - timedelta(days=40), delivered),
    )
    await conn.execute(
        "INSERT INTO store.products (sku, name, unit_price) VALUES ('SKU-T', 'Test item', 1)"
        " ON CONFLICT DO NOTHING"
    )
    for price in prices:
        await conn.execute(
            "INSERT INTO store.order_items (order_id, sku, name, quantity, unit_price, final_sale)"
            " VALUES (%s, 'SKU-T', 'Test item', 1, %s, %s)",
            (order_id, Decimal(price), final_sale),
        )
    await conn.execute(
        "INSERT INTO store.invoices (invoice_id, order_id, customer_id, amount, currency, status)"
        " VALUES (%s, %s, %s, %s, 'USD', %s)",
        (f"INV-{order_id}", order_id, customer_id, total, "paid" if paid else "open"),
    )
    charges = (2 if charged_twice else 1) if paid else 0
    for n in range(1, charges + 1):
        await conn.execute(
            "INSERT INTO store.payments (payment_id, order_id, customer_id, amount, currency,"
            " method, status) VALUES (%s, %s, %s, %s, 'USD', 'visa ending 4242', 'captured')",
            (f"PAY-{order_id}-{n}", order_id, customer_id, total),
        )
    if status in {"shipped", "delivered"}:
        await conn.execute(
            "INSERT INTO store.shipments (shipment_id, order_id, carrier, tracking_number,"
            " status, shipped_at, delivered_at) VALUES (%s, %s, 'UPS', %s, %s, %s, %s)",
            (
                f"SHP-{order_id}",
                order_id,
                f"1ZTEST{order_id}",
                "delivered" if delivered else "in_transit",
                now - timedelta(days=30),
                delivered,
            ),
        )
    return order_id


async def make_return(conn: AsyncConnection, customer_id: str, order_id: int) -> str:
    """Insert an open return covering the order's first item; return its RMA number."""
    cursor = await conn.execute(
        "SELECT min(item_id) AS item FROM store.order_items WHERE order_id = %s", (order_id,)
    )
    row = await cursor.fetchone()
    rma = f"RMA-{order_id}-9"
    await conn.execute(
        "INSERT INTO store.returns (rma_number, order_id, customer_id, status, reason, item_ids,"
        " label_url, idempotency_key) VALUES (%s, %s, %s, 'in_transit', 'test', %s, %s, %s)",
        (
            rma,
            order_id,
            customer_id,
            [row["item"] if row else 0],  # type: ignore[index]
            f"https://example-store.com/returns/labels/{rma}.pdf",
            f"factory:{rma}",
        ),
    )
    return rma
