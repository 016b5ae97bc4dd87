"""Returns tools: orders, return eligibility, RMAs and cancellations.

Identity comes from the run context only; every query is scoped to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graph.context import SupportContext
from graph.read_only import mark_read_only
from graph.state import SupportState
from tools.audit import AuditLog
from tools.errors import InvalidRequestError, NotAllowedError
from tools.store import Store, to_json

Runtime = ToolRuntime[SupportContext, SupportState]

RETURN_WINDOW = timedelta(days=30)
"""Items can be returned until 30 days after delivery (help-center policy)."""
CONDITION = "unused, in the original packaging, with tags attached (damaged on arrival is fine)"


class _Args(BaseModel):
    # Not extra="forbid": ToolNode passes the injected `runtime` through the schema.
    model_config = ConfigDict(extra="ignore")


class OrderRef(_Args):
    """An order of the signed-in customer."""

    order_id: int = Field(ge=1, le=10**12, description="The order number, e.g. 1042.")


class ReturnCreate(_Args):
    """A return of some or all items of a delivered order."""

    order_id: int = Field(ge=1, le=10**12, description="The order number, e.g. 1042.")
    reason: str = Field(min_length=2, max_length=500, description="Why the items go back.")
    item_ids: list[int] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="Item ids from get_order; omit to return every returnable item.",
    )


class ReturnRef(_Args):
    """A return (RMA) of the signed-in customer."""

    rma_number: str = Field(
        min_length=3,
        max_length=40,
        pattern=r"^[A-Za-z0-9-]+$",
        description="The RMA number, e.g. 'RMA-1042-1'.",
    )

    @field_validator("rma_number")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().upper()


def eligibility(order: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Decide whether an order (with `items` and `returns`) can be returned, and what."""
    now = now or datetime.now(UTC)
    result: dict[str, Any] = {"order_id": order["order_id"], "eligible": False}
    status, delivered = order["status"], order["delivered_at"]
    if status == "cancelled":
        return {**result, "reason": "The order was cancelled; there is nothing to return."}
    if status in {"placed", "paid"}:
        return {**result, "reason": "The order has not shipped yet; it can be cancelled instead."}
    if delivered is None:
        return {**result, "reason": "The order has not been delivered yet; wait for delivery."}
    deadline = delivered + RETURN_WINDOW
    result["return_window_ends"] = deadline
    if now > deadline:
        return {
            **result,
            "reason": f"The 30-day return window closed on {deadline.date().isoformat()}.",
        }
    if status in {"returned", "refunded"}:
        return {**result, "reason": "The order has already been returned or refunded."}
    taken = {
        item
        for r in order.get("returns", [])
        if r["status"] != "cancelled"
        for item in r["item_ids"]
    }
    items = order["items"]
    final = [i["item_id"] for i in items if i["final_sale"]]
    returnable = [i["item_id"] for i in items if not i["final_sale"] and i["item_id"] not in taken]
    if not returnable:
        why = "are final sale" if len(final) == len(items) else "are final sale or already returned"
        return {**result, "reason": f"All items of this order {why}.", "final_sale_items": final}
    return {
        **result,
        "eligible": True,
        "returnable_item_ids": returnable,
        "final_sale_item_ids": final,
        "already_returning_item_ids": sorted(taken),
        "condition": CONDITION,
    }


def make_returns_tools(store: Store, audit: AuditLog) -> list[BaseTool]:
    """Build the returns agent's tools around the shared store."""

    @tool("list_orders")
    async def list_orders(runtime: Runtime) -> str:
        """List the signed-in customer's recent orders (newest first)."""
        async with audit.audited_call(runtime.context, "list_orders", {}) as call:
            return to_json({"orders": await store.list_orders(call.customer_id)})

    @tool("get_order", args_schema=OrderRef)
    async def get_order(order_id: int, runtime: Runtime) -> str:
        """Show an order: status, items, shipments with tracking, and returns."""
        async with audit.audited_call(runtime.context, "get_order", {"order_id": order_id}) as call:
            return to_json(_order_view(await store.get_order(call.customer_id, order_id)))

    @tool("check_return_eligibility", args_schema=OrderRef)
    async def check_return_eligibility(order_id: int, runtime: Runtime) -> str:
        """Check whether an order can be returned: window, final sale, already returned."""
        args = {"order_id": order_id}
        async with audit.audited_call(runtime.context, "check_return_eligibility", args) as call:
            order = await store.get_order(call.customer_id, order_id)
            return to_json(eligibility(order))

    @tool("create_return", args_schema=ReturnCreate)
    async def create_return(
        order_id: int, reason: str, runtime: Runtime, item_ids: list[int] | None = None
    ) -> str:
        """Open a return (RMA) for a delivered order and get the prepaid label link."""
        args = {"order_id": order_id, "reason": reason, "item_ids": item_ids}
        context = runtime.context
        async with audit.audited_call(context, "create_return", args) as call:
            order = await store.get_order(call.customer_id, order_id)
            open_returns = [r for r in order["returns"] if r["status"] != "cancelled"]
            wanted = set(item_ids or ())
            for earlier in open_returns:
                # A retried turn, or asking twice: the open RMA already covers it.
                if wanted and wanted <= set(earlier["item_ids"]):
                    call.outcome = "replayed"
                    return to_json(
                        _rma_view(
                            await store.get_return(call.customer_id, earlier["rma_number"]), True
                        )
                    )
            verdict = eligibility(order)
            if not verdict["eligible"]:
                if open_returns and not wanted:
                    call.outcome = "replayed"
                    rma = await store.get_return(call.customer_id, open_returns[-1]["rma_number"])
                    return to_json(_rma_view(rma, True))
                raise NotAllowedError(f"Order {order_id} cannot be returned: {verdict['reason']}")
            returnable = set(verdict["returnable_item_ids"])
            if wanted - returnable:
                raise InvalidRequestError(
                    f"Items {sorted(wanted - returnable)} of order {order_id} cannot be returned "
                    f"(final sale, already returning, or not in the order); returnable items: "
                    f"{sorted(returnable)}."
                )
            result = await store.create_return(
                call.customer_id,
                order_id,
                sorted(wanted or returnable),
                reason=reason,
                key=f"{context.thread_id}:{runtime.tool_call_id}",
                thread_id=context.thread_id,
            )
            call.outcome = "replayed" if result.replayed else "created"
            return to_json(_rma_view(result.rma, result.replayed))

    @tool("track_return", args_schema=ReturnRef)
    async def track_return(rma_number: str, runtime: Runtime) -> str:
        """Show where a return (RMA) is: label sent, in transit, received, refunded."""
        args = {"rma_number": rma_number}
        async with audit.audited_call(runtime.context, "track_return", args) as call:
            return to_json(_rma_view(await store.get_return(call.customer_id, rma_number), None))

    @tool("cancel_order", args_schema=OrderRef)
    async def cancel_order(order_id: int, runtime: Runtime) -> str:
        """Cancel an order that has not shipped; anything paid is refunded in full."""
        context = runtime.context
        async with audit.audited_call(context, "cancel_order", {"order_id": order_id}) as call:
            order, refund, already = await store.cancel_order(
                call.customer_id, order_id, key=f"cancel:{order_id}", thread_id=context.thread_id
            )
            call.outcome = "already_cancelled" if already else "cancelled"
            return to_json(
                {
                    "order_id": order_id,
                    "status": order["status"],
                    "already_cancelled": already,
                    "refund": None
                    if refund is None
                    else {
                        "refund_id": refund["refund_id"],
                        "amount": refund["amount"],
                        "currency": refund["currency"],
                    },
                }
            )

    mark_read_only(list_orders, get_order, check_return_eligibility, track_return)
    return [
        list_orders,
        get_order,
        check_return_eligibility,
        create_return,
        track_return,
        cancel_order,
    ]


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    # Most telling fields first: short renderings (the offline model) show the top lines.
    tracking = [
        f"{s['carrier']} {s['tracking_number']} ({s['status'].replace('_', ' ')})"
        for s in order["shipments"]
    ]
    view = {
        "order_id": order["order_id"],
        "status": order["status"],
        "total": order["total"],
        "currency": order["currency"],
        "placed_at": order["placed_at"],
        "delivered_at": order["delivered_at"],
        "tracking": tracking,
        "items": [
            {k: item[k] for k in ("item_id", "name", "quantity", "unit_price", "final_sale")}
            for item in order["items"]
        ],
        "returns": order["returns"],
        "shipments": order["shipments"],
    }
    for key in ("subtotal", "shipping", "tax", "cancelled_at"):
        view[key] = order[key]
    return view


def _rma_view(rma: dict[str, Any], replayed: bool | None) -> dict[str, Any]:
    view = {
        "rma_number": rma["rma_number"],
        "order_id": rma["order_id"],
        "status": rma["status"],
        "item_ids": rma["item_ids"],
        "label_url": rma["label_url"],
        "created_at": rma["created_at"],
    }
    if replayed is not None:
        view["already_open"] = replayed
    return view
