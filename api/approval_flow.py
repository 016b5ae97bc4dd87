"""Carrying out staff decisions and expiries on the customer's thread.

A decided approval reaches the thread one of two ways:

- **resume**: the run that asked is still paused at its `interrupt(...)`; it is
  resumed with `Command(resume=...)`, the tool finishes (refund issued or not)
  and the agent writes the outcome;
- **direct**: the customer moved on (a new message replaces a paused run, see
  `api.turns.run_turn`) or the approval expired; the action is carried out
  here with the same idempotency key and an assistant message is appended.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Interrupt, StateSnapshot
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from api.graph_runs import CheckpointEvery, astream_turn
from api.settings import Settings
from api.thread_store import ThreadStore, TurnStatus
from api.turns import thread_config
from graph.context import SupportContext
from graph.messages import text_of
from tools.approvals import ApprovalStore
from tools.audit import AuditLog
from tools.errors import ToolError
from tools.store import Store, money

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
"""How often the background task expires stale approvals."""


def _config(thread_id: str) -> RunnableConfig:
    return cast(RunnableConfig, thread_config(thread_id))


def live_interrupt(snapshot: StateSnapshot, approval_id: str) -> Interrupt | None:
    """Return the paused run's interrupt for `approval_id`, if the thread still waits on it."""
    for item in snapshot.interrupts:
        value = getattr(item, "value", None)
        if isinstance(value, dict) and value.get("approval_id") == approval_id:
            return item
    return None


def customer_context(approval: dict[str, Any], request_id: str) -> SupportContext:
    """Return the run context of the customer who asked (tools act for them, not staff)."""
    return SupportContext(
        customer_id=approval["customer_id"],
        thread_id=approval["thread_id"],
        role="customer",
        request_id=request_id,
    )


class ApprovalFlow:
    """Applies decisions and expiries to threads; one per app."""

    def __init__(
        self,
        graph: CompiledStateGraph,
        threads: ThreadStore,
        approvals: ApprovalStore,
        store: Store,
        audit: AuditLog,
        *,
        timeout_seconds: float,
        checkpoint_every: CheckpointEvery = "turn",
    ) -> None:
        self.graph = graph
        self.checkpoint_every = checkpoint_every
        self.threads = threads
        self.approvals = approvals
        self.store = store
        self.audit = audit
        self.timeout_seconds = timeout_seconds

    @classmethod
    def for_app(
        cls,
        graph: CompiledStateGraph,
        threads: ThreadStore,
        pool: AsyncConnectionPool[AsyncConnection[DictRow]],
        settings: Settings,
    ) -> ApprovalFlow:
        """Build the flow the lifespan keeps in `app.state.approval_flow`."""
        return cls(
            graph,
            threads,
            ApprovalStore(pool),
            Store(pool),
            AuditLog(pool),
            timeout_seconds=settings.turn_timeout_seconds,
            checkpoint_every=settings.checkpoint_every,
        )

    async def carry_out(
        self, approval: dict[str, Any], resume: dict[str, Any], request_id: str
    ) -> str:
        """Apply a claimed decision to its thread; return `resumed` or `direct`.

        The caller holds the thread's turn lease.
        """
        config = _config(approval["thread_id"])
        snapshot = await self.graph.aget_state(config)
        pending = live_interrupt(snapshot, approval["approval_id"])
        if pending is None:
            text = await self._direct(approval, resume)
            await self.post(approval["thread_id"], text, snapshot)
            await self.approvals.mark_notified(approval["approval_id"])
            return "direct"
        before = len(snapshot.values.get("messages", []))
        context = customer_context(approval, request_id)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async for _ in astream_turn(
                    self.graph,
                    Command(resume={pending.id: resume}),
                    config,
                    context=context,
                    stream_mode=["updates"],
                    checkpoint_every=self.checkpoint_every,
                ):
                    pass
        except Exception:
            logger.exception(
                "resuming thread %s for %s failed", approval["thread_id"], approval["approval_id"]
            )
        after = await self.graph.aget_state(config)
        if not _answered(after.values.get("messages", [])[before:]):
            # The agent did not write the outcome (model down, or it errored): say it here.
            fresh = await self.approvals.get(approval["approval_id"])
            await self.post(approval["thread_id"], outcome_text(fresh or approval), after)
        # The outcome is in the conversation now: this is what the waiting widget hears.
        await self.approvals.mark_notified(approval["approval_id"])
        return "resumed"

    async def _direct(self, approval: dict[str, Any], resume: dict[str, Any]) -> str:
        args = approval["args"]
        if resume["decision"] == "reject":
            await self.approvals.record_outcome(
                approval["approval_id"], {"status": "rejected", "reason": resume.get("reason")}
            )
        else:
            amount = money(resume.get("args", {}).get("amount", args["amount"]))
            try:
                result = await self.store.issue_refund(
                    approval["customer_id"],
                    int(args["order_id"]),
                    amount,
                    reason=args.get("reason", ""),
                    key=approval["approval_id"],
                    thread_id=approval["thread_id"],
                    approval_id=approval["approval_id"],
                )
                outcome = {
                    "status": "refunded",
                    "refund_id": result.refund["refund_id"],
                    "amount": f"{result.refund['amount']:.2f}",
                }
            except ToolError as error:
                outcome = {"status": "failed", "error": error.message}
            await self.approvals.record_outcome(approval["approval_id"], outcome)
        fresh = await self.approvals.get(approval["approval_id"])
        return outcome_text(fresh or approval)

    async def post(self, thread_id: str, text: str, snapshot: StateSnapshot | None = None) -> None:
        """Append an assistant message to the thread (dropping a paused run, if any)."""
        config = _config(thread_id)
        snapshot = snapshot or await self.graph.aget_state(config)
        agent = snapshot.values.get("active_agent", "triage")
        await self.graph.aupdate_state(
            config, {"messages": [AIMessage(content=text, name=agent)]}, as_node=agent
        )

    async def expire_and_notify(self) -> int:
        """Expire stale approvals and tell their customers; return how many were told.

        A thread busy with a turn is skipped and told on the next sweep.
        """
        for approval in await self.approvals.expire_stale():
            await self.audit.append(
                actor="system",
                actor_role="system",
                tool="approval_expired",
                arguments={"approval_id": approval["approval_id"]},
                outcome="expired",
                thread_id=approval["thread_id"],
                duration_ms=0,
            )
        told = 0
        for approval in await self.approvals.unnotified_expired():
            key = f"approval-expired:{approval['approval_id']}"
            claim = await self.threads.claim_turn(approval["thread_id"], key)
            if claim.kind == "replay":
                await self.approvals.mark_notified(approval["approval_id"])
                continue
            if claim.kind != "new":
                continue
            status: TurnStatus = "failed"
            try:
                await self.post(approval["thread_id"], outcome_text(approval))
                await self.approvals.mark_notified(approval["approval_id"])
                status, told = "completed", told + 1
            except Exception:
                logger.exception("could not tell thread %s about expiry", approval["thread_id"])
            finally:
                await self.threads.finish_turn(
                    approval["thread_id"], key, claim.lease or "", status=status, events=[]
                )
        return told

    async def sweep_forever(self, every_seconds: float = SWEEP_SECONDS) -> None:
        """Expire approvals periodically until cancelled (started by the lifespan)."""
        while True:
            try:
                await self.expire_and_notify()
            except Exception:
                logger.exception("approval expiry sweep failed")
            await asyncio.sleep(every_seconds)


def outcome_text(approval: dict[str, Any]) -> str:
    """Return the customer-facing sentence for an approval's final state."""
    args, outcome = approval["args"], approval.get("outcome") or {}
    order, currency = args.get("order_id"), args.get("currency", "")
    if approval["status"] == "expired":
        return (
            f"Your refund request of {args.get('amount')} {currency} for order {order} was not "
            "reviewed in time and has expired, so no refund was issued. Just ask again if you "
            "still need it."
        )
    if approval["status"] == "rejected":
        why = f" Their note: {approval['reason']}" if approval.get("reason") else ""
        return (
            f"A member of our team reviewed your refund request for order {order} and could not "
            f"approve it, so no refund was issued.{why}"
        )
    if outcome.get("status") == "refunded":
        return (
            f"Good news: a member of our team approved your refund of {outcome['amount']} "
            f"{currency} for order {order} (refund {outcome['refund_id']}). It reaches your "
            "original payment method in 3-5 business days."
        )
    return (
        f"A member of our team approved your refund for order {order}, but it could not be "
        f"issued: {outcome.get('error', 'an unexpected error')}. We will follow up."
    )


def _answered(new_messages: list[Any]) -> bool:
    """Whether a resumed run ended with the agent's own text reply after the tool result."""
    saw_tool = False
    for message in new_messages:
        if isinstance(message, ToolMessage):
            saw_tool = True
        elif saw_tool and isinstance(message, AIMessage) and not message.tool_calls:
            if text_of(message.content):
                return True
    return False
