"""Billing tools: invoices, payments, charges and refunds.

Identity comes from the run context only (`runtime.context.customer_id`);
every query is scoped to it. Refunds above the approval threshold pause the
run with `interrupt(...)` until a staff member decides (api/routes/approvals.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graph.context import SupportContext
from graph.read_only import mark_read_only
from graph.state import SupportState
from tools.approvals import ApprovalStore, approval_id_for
from tools.audit import AuditLog
from tools.errors import InvalidRequestError, ToolError
from tools.store import Store, check_refundable, money, to_json

Runtime = ToolRuntime[SupportContext, SupportState]

REFUND_ACTION = "request_refund"
ALLOWED_DECISIONS = ("approve", "edit", "reject")


class _Args(BaseModel):
    # Not extra="forbid": ToolNode passes the injected `runtime` through the schema.
    model_config = ConfigDict(extra="ignore")


class OrderRef(_Args):
    """An order of the signed-in customer."""

    order_id: int = Field(ge=1, le=10**12, description="The order number, e.g. 1042.")


class InvoiceRef(_Args):
    """An invoice of the signed-in customer."""

    invoice_id: str = Field(
        min_length=1, max_length=40, description="The invoice id, e.g. 'INV-1042'."
    )

    @field_validator("invoice_id")
    @classmethod
    def _normalise(cls, value: str) -> str:
        value = value.strip().upper()
        return f"INV-{value}" if value.isdigit() else value


class RefundCreate(_Args):
    """A refund request on one order."""

    order_id: int = Field(ge=1, le=10**12, description="The order number, e.g. 1042.")
    amount: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        description="Amount in the order's currency; omit to refund everything still refundable.",
    )
    reason: str = Field(
        min_length=2, max_length=500, description="Why the customer wants the refund."
    )


def make_billing_tools(
    store: Store,
    audit: AuditLog,
    approvals: ApprovalStore,
    *,
    approval_threshold: Decimal,
    approval_ttl: timedelta,
) -> list[BaseTool]:
    """Build the billing agent's tools around the shared store."""

    @tool("list_invoices")
    async def list_invoices(runtime: Runtime) -> str:
        """List the signed-in customer's recent invoices (newest first)."""
        async with audit.audited_call(runtime.context, "list_invoices", {}) as call:
            invoices = await store.list_invoices(call.customer_id)
            return to_json({"invoices": invoices})

    @tool("get_invoice", args_schema=InvoiceRef)
    async def get_invoice(invoice_id: str, runtime: Runtime) -> str:
        """Show one invoice with its lines and totals."""
        args = {"invoice_id": invoice_id}
        async with audit.audited_call(runtime.context, "get_invoice", args) as call:
            return to_json(await store.get_invoice(call.customer_id, invoice_id))

    @tool("payment_status", args_schema=OrderRef)
    async def payment_status(order_id: int, runtime: Runtime) -> str:
        """Show whether an order is paid, with its payments, refunds and what is refundable."""
        async with audit.audited_call(
            runtime.context, "payment_status", {"order_id": order_id}
        ) as call:
            order = await store.get_payments(call.customer_id, order_id)
            return to_json(_money_view(order))

    @tool("explain_charge", args_schema=OrderRef)
    async def explain_charge(order_id: int, runtime: Runtime) -> str:
        """Explain what an order's charges are made of, and spot duplicate charges."""
        async with audit.audited_call(
            runtime.context, "explain_charge", {"order_id": order_id}
        ) as call:
            order = await store.get_payments(call.customer_id, order_id)
            return to_json(_charge_view(order))

    @tool("request_refund", args_schema=RefundCreate)
    async def request_refund(
        order_id: int, reason: str, runtime: Runtime, amount: float | None = None
    ) -> str:
        """Refund an order (all that is still refundable when no amount is given).

        Refunds above the approval threshold wait for a support-staff member.
        """
        args = {"order_id": order_id, "amount": amount, "reason": reason}
        context = runtime.context
        async with audit.audited_call(context, REFUND_ACTION, args) as call:
            customer_id = call.customer_id
            key = f"{context.thread_id}:{runtime.tool_call_id}"
            requested = money(amount) if amount is not None else None
            order = await store.get_payments(customer_id, order_id)
            remaining = order["paid_amount"] - order["refunded_amount"]
            value = requested if requested is not None else remaining
            if value <= approval_threshold:
                result = await store.issue_refund(
                    customer_id,
                    order_id,
                    requested,
                    reason=reason,
                    key=key,
                    thread_id=context.thread_id,
                )
                call.outcome = "replayed" if result.replayed else "refunded"
                return to_json(_refund_view(result.refund, result.order, result.replayed))

            check_refundable(order, value)
            if not context.thread_id or not runtime.tool_call_id:
                raise InvalidRequestError("Refunds needing approval must run in a conversation.")
            earlier = await approvals.find_pending(
                thread_id=context.thread_id,
                customer_id=customer_id,
                action=REFUND_ACTION,
                order_id=order_id,
                amount=f"{value:.2f}",
            )
            if earlier is not None and earlier["tool_call_id"] != runtime.tool_call_id:
                call.outcome = "pending_approval"
                return to_json(
                    {
                        "status": "pending_approval",
                        "approval_id": earlier["approval_id"],
                        "note": "An identical refund request is already waiting for staff review.",
                    }
                )
            approval_id = approval_id_for(context.thread_id, runtime.tool_call_id)
            refund_args = {
                "order_id": order_id,
                "amount": f"{value:.2f}",
                "currency": order["currency"],
                "reason": reason,
            }
            summary = (
                f"Refund {value:.2f} {order['currency']} on order {order_id} for customer "
                f"{customer_id} (paid {order['paid_amount']:.2f}, already refunded "
                f"{order['refunded_amount']:.2f}). Reason: {reason}"
            )
            await approvals.record_pending(
                approval_id=approval_id,
                thread_id=context.thread_id,
                tool_call_id=runtime.tool_call_id,
                customer_id=customer_id,
                action=REFUND_ACTION,
                args=refund_args,
                summary=summary,
                ttl=approval_ttl,
            )
            # Everything above re-runs on resume; it is read-only or idempotent.
            decision: Any = interrupt(
                {
                    "approval_id": approval_id,
                    "action": REFUND_ACTION,
                    "args": refund_args,
                    "summary": summary,
                    "allowed_decisions": list(ALLOWED_DECISIONS),
                    "message": (
                        f"A refund of {value:.2f} {order['currency']} for order {order_id} needs a "
                        "quick review by a member of our team. I've sent it for approval, and "
                        "you'll see the decision right here in this conversation."
                    ),
                }
            )
            return await _apply_decision(
                store,
                approvals,
                call,
                decision,
                approval_id=approval_id,
                customer_id=customer_id,
                order_id=order_id,
                value=value,
                reason=reason,
                thread_id=context.thread_id,
            )

    mark_read_only(list_invoices, get_invoice, payment_status, explain_charge)
    return [list_invoices, get_invoice, payment_status, explain_charge, request_refund]


async def _apply_decision(
    store: Store,
    approvals: ApprovalStore,
    call: Any,
    decision: Any,
    *,
    approval_id: str,
    customer_id: str,
    order_id: int,
    value: Decimal,
    reason: str,
    thread_id: str,
) -> str:
    """Carry out a staff decision on a resumed refund request."""
    decision = decision if isinstance(decision, dict) else {"decision": str(decision)}
    kind = decision.get("decision")
    note = decision.get("reason") or None
    if kind not in ("approve", "edit"):
        call.outcome = "rejected" if kind == "reject" else f"not_approved:{kind}"
        outcome = {"status": "rejected" if kind == "reject" else str(kind), "reason": note}
        await approvals.record_outcome(approval_id, outcome)
        return to_json(
            {
                **outcome,
                "approval_id": approval_id,
                "note": "Rejected after staff review; no refund was issued.",
            }
        )
    amount = value
    if kind == "edit":
        amount = money(decision.get("args", {}).get("amount", value))
    try:
        result = await store.issue_refund(
            customer_id,
            order_id,
            amount,
            reason=reason,
            key=approval_id,
            thread_id=thread_id,
            approval_id=approval_id,
        )
    except ToolError as error:
        await approvals.record_outcome(approval_id, {"status": "failed", "error": error.message})
        raise
    call.outcome = "refunded_after_approval"
    await approvals.record_outcome(
        approval_id,
        {
            "status": "refunded",
            "refund_id": result.refund["refund_id"],
            "amount": f"{result.refund['amount']:.2f}",
        },
    )
    view = _refund_view(result.refund, result.order, result.replayed)
    view["approval_id"] = approval_id
    view["approved_amount"] = f"{amount:.2f}"
    if kind == "edit" and amount != value:
        view["requested_amount"] = f"{value:.2f}"
    if note:
        view["staff_note"] = note
    return to_json(view)


def _money_view(order: dict[str, Any]) -> dict[str, Any]:
    # Most telling fields first: short renderings (the offline model) show the top lines.
    return {
        "order_id": order["order_id"],
        "payment_state": _payment_state(order),
        "currency": order["currency"],
        "total": order["total"],
        "paid": order["paid_amount"],
        "refunded": order["refunded_amount"],
        "refundable": order["paid_amount"] - order["refunded_amount"],
        "order_status": order["status"],
        "payments": [
            {k: p[k] for k in ("payment_id", "amount", "method", "status", "created_at")}
            for p in order["payments"]
        ],
        "refunds": [
            {k: r[k] for k in ("refund_id", "amount", "created_at")} for r in order["refunds"]
        ],
    }


def _charge_view(order: dict[str, Any]) -> dict[str, Any]:
    captured = [p for p in order["payments"] if p["status"] == "captured"]
    duplicates = captured[1:]
    currency = order["currency"]
    if duplicates:
        extra = sum((p["amount"] for p in duplicates), Decimal(0))
        explanation = (
            f"Charged {len(captured)} times for one order of {order['total']:.2f} {currency}: "
            f"{extra:.2f} {currency} was charged more than once and is refundable."
        )
    else:
        explanation = (
            f"One charge of {order['paid_amount']:.2f} {currency}: subtotal "
            f"{order['subtotal']:.2f} + shipping {order['shipping']:.2f} + tax "
            f"{order['tax']:.2f}."
        )
    view = _money_view(order)
    return {
        "order_id": order["order_id"],
        "explanation": explanation,
        "duplicate_charges": [
            {"payment_id": p["payment_id"], "amount": p["amount"], "at": p["created_at"]}
            for p in duplicates
        ],
        **{k: v for k, v in view.items() if k != "order_id"},
        "breakdown": {key: order[key] for key in ("subtotal", "shipping", "tax", "total")},
    }


def _payment_state(order: dict[str, Any]) -> str:
    paid, refunded = order["paid_amount"], order["refunded_amount"]
    if paid == 0:
        return "cancelled_unpaid" if order["status"] == "cancelled" else "awaiting_payment"
    if refunded >= paid:
        return "refunded"
    if refunded > 0:
        return "partially_refunded"
    return "overpaid" if paid > order["total"] else "paid"


def _refund_view(refund: dict[str, Any], order: dict[str, Any], replayed: bool) -> dict[str, Any]:
    return {
        "status": "refunded",
        "refund_id": refund["refund_id"],
        "order_id": refund["order_id"],
        "amount": refund["amount"],
        "currency": refund["currency"],
        "already_issued": replayed,
        "refunded_total": order["refunded_amount"],
        "still_refundable": order["paid_amount"] - order["refunded_amount"],
        "arrives": "3-5 business days on the original payment method",
    }
