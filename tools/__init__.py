"""Domain tools, one module per domain; `build_toolkit` hands them to the graph."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool

from graph.state import AgentName
from tools.approvals import ApprovalStore
from tools.audit import AuditLog
from tools.billing import make_billing_tools
from tools.returns import make_returns_tools
from tools.store import Store

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow
    from psycopg_pool import AsyncConnectionPool

    from api.settings import Settings


def build_toolkit(
    pool: AsyncConnectionPool[AsyncConnection[DictRow]],
    settings: Settings,
    *,
    knowledge: Sequence[BaseTool] = (),
) -> dict[AgentName, list[BaseTool]]:
    """Return each agent's domain tools, bound to the app's pool.

    Args:
        pool: The app's pool (autocommit, `dict_row`).
        settings: Read for the refund approval threshold and approval expiry.
        knowledge: The knowledge-base tools (`tools.knowledge.make_knowledge_tools`),
            given to every agent when passed.

    """
    store, audit, approvals = Store(pool), AuditLog(pool), ApprovalStore(pool)
    billing = make_billing_tools(
        store,
        audit,
        approvals,
        approval_threshold=settings.refund_approval_threshold,
        approval_ttl=timedelta(seconds=settings.approval_ttl_seconds),
    )
    returns = make_returns_tools(store, audit)
    return {
        "triage": [*knowledge],
        "billing": [*billing, *knowledge],
        "returns": [*returns, *knowledge],
    }
