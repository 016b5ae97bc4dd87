"""The deterministic demo store: 60 customers and 550 orders (ids 1001-1550).

Run with: switchboard demo-customers   (the app seeds on start in development)

Everything comes from one fixed random seed, so two seeded databases hold the
same customers, orders, amounts and states. Dates are offsets from the moment
of seeding ("today" = seeding time), so the 30-day return window means the same
thing on a fresh database as on the day it was made; re-seed (`make clean-data`)
to refresh an old demo database. Seeding is a no-op once `cust-001` exists.

Showcase: `cust-001` (Ada Lovelace) owns
- 1042: delivered in the return window, 313.17 USD (a full refund needs approval);
- 1007: delivered, charged twice ("why was I charged twice");
- 1001: placed, not shipped (cancellable); 1030: shipped, in transit;
- 1013: delivered 45 days ago (outside the return window);
- 1021: delivered, every item final sale; 1055: partially refunded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

SEED = 20261123
FIRST_ORDER_ID = 1001
ORDER_COUNT = 550
CUSTOMER_COUNT = 60
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.08")
_LOCK_KEY = 0x5357_5344  # "SWSD"

_FIRST = (
    "Ada Grace Alan Edsger Barbara Donald Margaret Linus Frances Dennis Radia Ken Katherine "
    "Tim Hedy John Annie Claude Karen Guido"
).split()
_LAST = (
    "Lovelace Hopper Turing Dijkstra Liskov Knuth Hamilton Torvalds Allen Ritchie Perlman "
    "Thompson Johnson Berners-Lee Lamarr McCarthy Easley Shannon Jones Rossum"
).split()

# (sku, name, unit price, final sale)
PRODUCTS: tuple[tuple[str, str, str, bool], ...] = (
    ("SKU-100", "Canvas tote bag", "18.00", False),
    ("SKU-101", "Merino wool socks (3 pack)", "24.50", False),
    ("SKU-102", "Stainless water bottle", "29.99", False),
    ("SKU-103", "Cotton crew T-shirt", "22.00", False),
    ("SKU-104", "Linen shirt", "64.00", False),
    ("SKU-105", "Selvedge denim jeans", "119.00", False),
    ("SKU-106", "Waxed cotton jacket", "249.00", False),
    ("SKU-107", "Leather weekender bag", "289.97", False),
    ("SKU-108", "Trail running shoes", "139.95", False),
    ("SKU-109", "Down parka", "329.00", False),
    ("SKU-110", "Wireless headphones", "199.00", False),
    ("SKU-111", "Mechanical keyboard", "149.00", False),
    ("SKU-112", "Espresso grinder", "219.00", False),
    ("SKU-113", "Cast iron skillet", "45.00", False),
    ("SKU-114", "Chef's knife", "89.00", False),
    ("SKU-115", "Ceramic pour-over set", "39.00", False),
    ("SKU-116", "Desk lamp", "59.00", False),
    ("SKU-117", "Wool throw blanket", "98.00", False),
    ("SKU-118", "Yoga mat", "42.00", False),
    ("SKU-119", "Smart watch", "399.00", False),
    ("SKU-120", "Clearance sunglasses", "35.00", True),
    ("SKU-121", "Clearance hoodie", "28.00", True),
    ("SKU-122", "Personalised notebook", "26.00", True),
    ("SKU-123", "Gift card", "50.00", True),
    ("SKU-124", "Swimwear (final sale)", "44.00", True),
    ("SKU-125", "Outlet sneakers", "69.00", True),
)

STATUS_WEIGHTS: dict[str, int] = {
    "delivered": 34,
    "shipped": 10,
    "paid": 8,
    "placed": 7,
    "cancelled": 9,
    "returned": 10,
    "partially_refunded": 14,
    "refunded": 8,
}

_SHOWCASE: dict[int, dict[str, Any]] = {
    1001: {"status": "placed", "days": 0, "skus": ["SKU-104", "SKU-113"]},
    1007: {"status": "delivered", "days": 12, "skus": ["SKU-111", "SKU-115"], "duplicate": True},
    1013: {"status": "delivered", "days": 45, "skus": ["SKU-105", "SKU-103"]},
    1021: {"status": "delivered", "days": 8, "skus": ["SKU-120", "SKU-121"]},
    1030: {"status": "shipped", "days": 2, "skus": ["SKU-108"]},
    1042: {"status": "delivered", "days": 10, "skus": ["SKU-107"]},
    1055: {"status": "partially_refunded", "days": 20, "skus": ["SKU-106", "SKU-102"]},
}
"""Orders of `cust-001` with a fixed shape, for demos and the README."""


@dataclass
class _Order:
    order_id: int
    customer_id: str
    status: str
    placed_at: datetime
    items: list[tuple[int, str, str, int, Decimal, bool]] = field(default_factory=list)
    delivered_at: datetime | None = None
    duplicate: bool = False

    @property
    def subtotal(self) -> Decimal:
        return sum((price * qty for _, _, _, qty, price, _ in self.items), Decimal(0))

    @property
    def shipping(self) -> Decimal:
        return Decimal(0) if self.subtotal >= 50 else Decimal("5.99")

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping + self.tax


def demo_customers() -> list[dict[str, str]]:
    """Return the demo customers (id, name, e-mail, phone), deterministic."""
    customers = []
    for n in range(1, CUSTOMER_COUNT + 1):
        first, last = _FIRST[(n - 1) % len(_FIRST)], _LAST[(n - 1) % len(_LAST)]
        if n > len(_FIRST):
            last = _LAST[(n - 1 + n // len(_FIRST)) % len(_LAST)]
        email = f"{first}.{last}.{n:03d}@example.com".lower()
        customers.append(
            {
                "customer_id": f"cust-{n:03d}",
                "name": f"{first} {last}",
                "email": email,
                "phone": f"+1-555-01{n:02d}",
            }
        )
    return customers


def build_orders(now: datetime) -> list[_Order]:
    """Return the demo orders, deterministic apart from the `now` they hang from."""
    rng = random.Random(SEED)
    customers = [c["customer_id"] for c in demo_customers()]
    prices = {sku: (name, Decimal(price), final) for sku, name, price, final in PRODUCTS}
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    orders = []
    for index in range(ORDER_COUNT):
        order_id = FIRST_ORDER_ID + index
        fixed = _SHOWCASE.get(order_id)
        # Round-robin first so everyone has orders, then at random (cust-001 keeps
        # only its showcase orders).
        customer = customers[index % len(customers)] if index < 180 else rng.choice(customers)
        if customer == "cust-001" and not fixed:
            customer = customers[1 + index % (len(customers) - 1)]
        status = fixed["status"] if fixed else rng.choices(statuses, weights)[0]
        days = fixed["days"] if fixed else _days_ago(rng, status)
        placed = (now - timedelta(days=days, hours=rng.randint(1, 20))).replace(microsecond=0)
        order = _Order(order_id, "cust-001" if fixed else customer, status, placed)
        skus = fixed["skus"] if fixed else rng.sample(list(prices), rng.randint(1, 4))
        for n, sku in enumerate(skus, start=1):
            name, price, final = prices[sku]
            qty = 1 if fixed or price > 100 else rng.randint(1, 2)
            order.items.append((order_id * 10 + n, sku, name, qty, price, final))
        if status in {"delivered", "returned", "partially_refunded", "refunded"}:
            order.delivered_at = min(placed + timedelta(days=rng.randint(2, 5)), now)
            if days <= 5:
                order.delivered_at = placed + timedelta(hours=6)
        order.duplicate = bool(fixed and fixed.get("duplicate")) or (
            not fixed and status in {"paid", "shipped", "delivered"} and index % 41 == 3
        )
        orders.append(order)
    return orders


def _days_ago(rng: random.Random, status: str) -> int:
    if status == "placed":
        return rng.randint(0, 1)
    if status == "paid":
        return rng.randint(0, 2)
    if status == "shipped":
        return rng.randint(1, 5)
    # Half within the 30-day return window, half outside it.
    return rng.randint(6, 26) if rng.random() < 0.5 else rng.randint(36, 150)


async def seed_demo_store(conn: AsyncConnection[DictRow], *, now: datetime | None = None) -> bool:
    """Load the demo store unless it is there; return whether anything was written.

    Safe to call from several processes at once (an advisory lock serialises
    them) and on every start (a no-op once seeded).
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        cursor = await conn.execute("SELECT 1 FROM store.customers WHERE customer_id = 'cust-001'")
        if await cursor.fetchone() is not None:
            return False
        await _insert(conn, now)
    return True


async def _insert(conn: AsyncConnection[DictRow], now: datetime) -> None:
    customers = demo_customers()
    orders = build_orders(now)
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO store.customers (customer_id, name, email, phone, created_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (c["customer_id"], c["name"], c["email"], c["phone"], now - timedelta(days=400))
                for c in customers
            ],
        )
        await cur.executemany(
            "INSERT INTO store.products (sku, name, unit_price, final_sale)"
            " VALUES (%s, %s, %s, %s)",
            [(sku, name, Decimal(price), final) for sku, name, price, final in PRODUCTS],
        )
        await cur.executemany(
            "INSERT INTO store.orders (order_id, customer_id, status, subtotal, shipping, tax,"
            " total, placed_at, delivered_at, cancelled_at) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    o.order_id,
                    o.customer_id,
                    o.status,
                    o.subtotal,
                    o.shipping,
                    o.tax,
                    o.total,
                    o.placed_at,
                    o.delivered_at,
                    o.placed_at + timedelta(hours=2) if o.status == "cancelled" else None,
                )
                for o in orders
            ],
        )
        await cur.executemany(
            "INSERT INTO store.order_items (item_id, order_id, sku, name, quantity, unit_price,"
            " final_sale) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(i[0], o.order_id, *i[1:]) for o in orders for i in o.items],
        )
        await cur.execute(
            "SELECT setval(pg_get_serial_sequence('store.order_items', 'item_id'),"
            " (SELECT max(item_id) FROM store.order_items))"
        )
        await cur.executemany(
            "INSERT INTO store.shipments (shipment_id, order_id, carrier, tracking_number,"
            " status, shipped_at, delivered_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [_shipment(o) for o in orders if o.status not in {"placed", "paid", "cancelled"}],
        )
        invoices, payments, refunds, returns = [], [], [], []
        for o in orders:
            paid = o.status != "placed" and not (o.status == "cancelled" and o.order_id % 2)
            status = "paid" if paid else ("open" if o.status == "placed" else "void")
            invoices.append(
                (f"INV-{o.order_id}", o.order_id, o.customer_id, o.total, status, o.placed_at)
            )
            card = f"visa ending {4000 + o.order_id % 997:04d}"
            if o.status == "cancelled" and not paid:
                payments.append(
                    (
                        f"PAY-{o.order_id}-1",
                        o.order_id,
                        o.customer_id,
                        o.total,
                        card,
                        "voided",
                        o.placed_at,
                    )
                )
                continue
            if not paid:
                payments.append(
                    (
                        f"PAY-{o.order_id}-1",
                        o.order_id,
                        o.customer_id,
                        o.total,
                        card,
                        "authorized",
                        o.placed_at,
                    )
                )
                continue
            payments.append(
                (
                    f"PAY-{o.order_id}-1",
                    o.order_id,
                    o.customer_id,
                    o.total,
                    card,
                    "captured",
                    o.placed_at + timedelta(minutes=1),
                )
            )
            if o.duplicate:
                payments.append(
                    (
                        f"PAY-{o.order_id}-2",
                        o.order_id,
                        o.customer_id,
                        o.total,
                        card,
                        "captured",
                        o.placed_at + timedelta(minutes=3),
                    )
                )
            refund = _seed_refund(o)
            if refund is not None:
                refunds.append(
                    (
                        f"RF-SEED-{o.order_id}",
                        o.order_id,
                        o.customer_id,
                        refund[0],
                        refund[1],
                        f"seed:{o.order_id}",
                        refund[2],
                    )
                )
            rma = _seed_return(o, now)
            if rma is not None:
                returns.append(rma)
        await cur.executemany(
            "INSERT INTO store.invoices (invoice_id, order_id, customer_id, amount, currency,"
            " status, issued_at) VALUES (%s, %s, %s, %s, 'USD', %s, %s)",
            invoices,
        )
        await cur.executemany(
            "INSERT INTO store.payments (payment_id, order_id, customer_id, amount, currency,"
            " method, status, created_at) VALUES (%s, %s, %s, %s, 'USD', %s, %s, %s)",
            payments,
        )
        await cur.executemany(
            "INSERT INTO store.refunds (refund_id, order_id, customer_id, amount, currency,"
            " reason, idempotency_key, created_at) VALUES (%s, %s, %s, %s, 'USD', %s, %s, %s)",
            refunds,
        )
        await cur.executemany(
            "INSERT INTO store.returns (rma_number, order_id, customer_id, status, reason,"
            " item_ids, label_url, idempotency_key, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            returns,
        )


def _shipment(o: _Order) -> tuple:
    shipped = o.placed_at + timedelta(hours=20)
    delivered = o.delivered_at
    status = "delivered" if delivered else "in_transit"
    carrier = ("UPS", "FedEx", "USPS", "DHL")[o.order_id % 4]
    tracking = f"1Z{o.order_id:06d}{(o.order_id * 7919) % 100000:05d}"
    return (f"SHP-{o.order_id}", o.order_id, carrier, tracking, status, shipped, delivered)


def _seed_refund(o: _Order) -> tuple[Decimal, str, datetime] | None:
    at = (o.delivered_at or o.placed_at) + timedelta(days=1)
    if o.status in {"returned", "refunded", "cancelled"}:
        reason = {
            "returned": "return received",
            "refunded": "goodwill refund",
            "cancelled": "order cancelled",
        }[o.status]
        return o.total, reason, at if o.status != "cancelled" else o.placed_at + timedelta(hours=2)
    if o.status == "partially_refunded":
        share = Decimal(20 + o.order_id % 31) / 100
        return (o.total * share).quantize(CENT), "partial refund: item arrived damaged", at
    return None


def _seed_return(o: _Order, now: datetime) -> tuple | None:
    returnable = [i[0] for i in o.items if not i[5]]
    if not returnable or o.delivered_at is None:
        return None
    if o.status == "returned":
        status, at = "refunded", o.delivered_at + timedelta(days=2)
    elif o.status == "delivered" and o.order_id % 9 == 4 and now - o.delivered_at < timedelta(30):
        status, at = (
            ("label_sent", "in_transit")[o.order_id % 2],
            o.delivered_at + timedelta(days=1),
        )
        returnable = returnable[:1]
    else:
        return None
    rma = f"RMA-{o.order_id}-1"
    return (
        rma,
        o.order_id,
        o.customer_id,
        status,
        "no longer needed",
        returnable,
        f"https://example-store.com/returns/labels/{rma}.pdf",
        f"seed:{rma}",
        at,
        at,
    )


async def demo_customer_summaries(
    conn: AsyncConnection[DictRow], *, orders_each: int = 5
) -> list[dict]:
    """Return each demo customer with a few of their order ids (for `demo-customers`)."""
    cursor = await conn.execute(
        "SELECT c.customer_id, c.name, c.email,"
        " (SELECT array_agg(order_id ORDER BY order_id) FROM store.orders o"
        "   WHERE o.customer_id = c.customer_id) AS order_ids"
        " FROM store.customers c ORDER BY c.customer_id"
    )
    return [
        {
            "id": row["customer_id"],
            "name": row["name"],
            "email": row["email"],
            "order_ids": (row["order_ids"] or [])[:orders_each],
        }
        for row in await cursor.fetchall()
    ]
