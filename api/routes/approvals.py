"""Staff approvals: list pending high-value actions, read one, decide it.

Deciding claims the approval atomically (two staff members deciding at once:
one wins, the other gets 409), then resumes the customer's paused run through
the compiled graph so the refund is issued (or not) and the customer is told.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Request
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from api.approval_events import approval_stream
from api.approval_flow import ApprovalFlow, live_interrupt
from api.deps import CurrentStaff, GraphDep, SettingsDep, ThreadStoreDep
from api.errors import ApiError, Conflict, NotFound
from api.routes.threads import _public_message
from api.schemas import MessagePublic
from api.thread_store import ThreadStore, TurnClaim, TurnStatus
from api.turns import thread_config
from tools.approvals import ApprovalConflict, ApprovalStatus

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

BUSY_WAIT_SECONDS = 3.0
"""How long a decision waits for the customer's running turn before answering 409."""


class InvalidDecision(ApiError):
    """The decision's edited arguments are not acceptable; nothing was decided."""

    status_code = 422
    code = "invalid_decision"


class ApprovalDecision(BaseModel):
    """A staff member's decision on a pending approval."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "edit", "reject"]
    args: dict[str, Any] = Field(
        default_factory=dict,
        description='For `edit`: the changed arguments, e.g. `{"amount": 150}` '
        "(at most the requested amount).",
    )
    reason: str | None = Field(None, max_length=500, description="Shown to the customer.")


class ApprovalPublic(BaseModel):
    """An approval as staff see it."""

    approval_id: str
    thread_id: str
    customer_id: str
    customer_name: str | None = None
    """From the store's customer record, when there is one."""
    action: str
    args: dict[str, Any]
    summary: str
    status: ApprovalStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision: dict[str, Any] | None
    reason: str | None
    outcome: dict[str, Any] | None


class ApprovalListPublic(BaseModel):
    """Approvals with one status, oldest first."""

    approvals: list[ApprovalPublic]


class ApprovalDetailPublic(ApprovalPublic):
    """An approval with the conversation that led to it."""

    waiting_in_thread: bool
    """True while the customer's run is still paused on this approval."""
    conversation: list[MessagePublic]


async def _flow(request: Request) -> ApprovalFlow:
    return request.app.state.approval_flow


FlowDep = Annotated[ApprovalFlow, Depends(_flow)]


@router.get("", response_model=ApprovalListPublic)
async def list_approvals(
    staff: CurrentStaff,
    flow: FlowDep,
    status: Annotated[ApprovalStatus, Query()] = "pending",
) -> ApprovalListPublic:
    """List approvals by status (expired ones are swept first)."""
    await flow.expire_and_notify()
    rows = await flow.approvals.list_by_status(status)
    names = await flow.approvals.customer_names([row["customer_id"] for row in rows])
    return ApprovalListPublic(
        approvals=[
            ApprovalPublic(**row, customer_name=names.get(row["customer_id"])) for row in rows
        ]
    )


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Approval changes."}},
)
async def approval_events(
    request: Request, staff: CurrentStaff, settings: SettingsDep
) -> EventSourceResponse:
    """Stream approval changes as they happen, from every API process.

    Events: `ready {live}` first; `approval {approval_id, status, thread_id,
    answered}` when one is requested, decided, expires, gets its outcome, and
    once the customer's conversation has the outcome (`answered`); `down` when
    the server stopped hearing changes (poll meanwhile) and `resync` when it
    hears them again (reload the lists: changes in between were missed).
    """
    return approval_stream(
        request.app.state.approval_events, settings, poll_instead="GET /v1/approvals"
    )


@router.get("/{approval_id}", response_model=ApprovalDetailPublic)
async def get_approval(
    approval_id: str, staff: CurrentStaff, flow: FlowDep, graph: GraphDep
) -> ApprovalDetailPublic:
    """Return one approval with the customer's conversation."""
    await flow.expire_and_notify()
    row = await flow.approvals.get(approval_id)
    if row is None:
        raise NotFound(f"Approval {approval_id!r} not found.")
    snapshot = await graph.aget_state(cast(RunnableConfig, thread_config(row["thread_id"])))
    conversation = [
        public
        for message in snapshot.values.get("messages", [])
        if (public := _public_message(message)) is not None
    ]
    names = await flow.approvals.customer_names([row["customer_id"]])
    return ApprovalDetailPublic(
        **row,
        customer_name=names.get(row["customer_id"]),
        waiting_in_thread=live_interrupt(snapshot, approval_id) is not None,
        conversation=conversation,
    )


@router.post("/{approval_id}/decision", response_model=ApprovalPublic)
async def decide(
    approval_id: str,
    body: ApprovalDecision,
    request: Request,
    staff: CurrentStaff,
    flow: FlowDep,
    threads: ThreadStoreDep,
) -> ApprovalPublic:
    """Approve, edit (a smaller amount) or reject; the customer's thread resumes."""
    started = time.monotonic()
    await flow.expire_and_notify()
    row = await flow.approvals.get(approval_id)
    if row is None:
        raise NotFound(f"Approval {approval_id!r} not found.")
    if row["status"] != "pending":
        raise Conflict(f"Approval {approval_id!r} is already {row['status']!r}.")
    edited = _edited_args(row, body) if body.decision == "edit" else {}
    # One run at a time per thread: the decision's resume takes the turn lease.
    key = f"approval:{approval_id}"
    claim = await _claim_thread(threads, row["thread_id"], key)
    if claim.kind != "new":
        raise Conflict(
            f"Approval {approval_id!r} is being decided, or its conversation is busy; retry.",
            headers={"Retry-After": "2"},
        )
    outcome, status = "error", cast(TurnStatus, "failed")
    try:
        try:
            claimed = await flow.approvals.claim(
                approval_id,
                decision=body.decision,
                decided_by=staff.subject,
                args=edited,
                reason=body.reason,
            )
        except ApprovalConflict as error:
            raise Conflict(str(error)) from error
        if claimed is None:  # pragma: no cover - it existed a moment ago
            raise NotFound(f"Approval {approval_id!r} not found.")
        resume = {
            "decision": body.decision,
            "args": edited,
            "reason": body.reason,
            "decided_by": staff.subject,
        }
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        outcome = await flow.carry_out(claimed, resume, request_id)
        status = cast(TurnStatus, "completed")
    finally:
        await threads.finish_turn(
            row["thread_id"],
            key,
            claim.lease or "",
            status=status,
            events=[],
        )
        await flow.audit.append(
            actor=staff.subject,
            actor_role="staff",
            tool="approval_decision",
            arguments={"approval_id": approval_id, **body.model_dump()},
            outcome=f"{body.decision}:{outcome}",
            thread_id=row["thread_id"],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    final = await flow.approvals.get(approval_id)
    assert final is not None
    return ApprovalPublic(**final)


async def _claim_thread(threads: ThreadStore, thread_id: str, key: str) -> TurnClaim:
    """Take the thread's turn lease, waiting briefly for a turn that is finishing."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        claim = await threads.claim_turn(thread_id, key)
        if claim.kind != "busy" or time.monotonic() > deadline:
            return claim
        await asyncio.sleep(0.05)


def _edited_args(row: dict[str, Any], body: ApprovalDecision) -> dict[str, Any]:
    """Validate an `edit`: only a smaller positive amount (and a reason) may change."""
    unknown = set(body.args) - {"amount"}
    if unknown or "amount" not in body.args:
        raise InvalidDecision(
            'An edit changes the refund amount only: send args {"amount": <number>}'
            + (f"; not {sorted(unknown)}." if unknown else ".")
        )
    try:
        amount = Decimal(str(body.args["amount"])).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as error:
        raise InvalidDecision(f"amount {body.args['amount']!r} is not a number.") from error
    requested = Decimal(str(row["args"]["amount"]))
    if not Decimal(0) < amount <= requested:
        raise InvalidDecision(
            f"amount must be above 0 and at most the requested {requested:.2f}; got {amount:.2f}."
        )
    return {"amount": f"{amount:.2f}"}
