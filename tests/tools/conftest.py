"""Fixtures for calling the store tools directly, as ToolNode would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from graph.context import SupportContext
from tools.approvals import ApprovalStore
from tools.audit import AuditLog
from tools.billing import make_billing_tools
from tools.returns import make_returns_tools
from tools.store import Store


@pytest.fixture
async def conn(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection for factories and assertions."""
    async with pool.connection() as connection:
        yield connection


@pytest.fixture(scope="session")
def tools(pool: AsyncConnectionPool) -> dict[str, BaseTool]:
    """Every store tool by name (approval threshold 200.00, one-hour expiry)."""
    store, audit = Store(pool), AuditLog(pool)
    billing = make_billing_tools(
        store,
        audit,
        ApprovalStore(pool),
        approval_threshold=Decimal("200.00"),
        approval_ttl=timedelta(hours=1),
    )
    return {t.name: t for t in [*billing, *make_returns_tools(store, audit)]}


async def invoke(
    tool: BaseTool,
    customer_id: str,
    args: dict[str, Any] | None = None,
    *,
    role: str = "customer",
    thread_id: str | None = None,
    tool_call_id: str | None = None,
) -> Any:
    """Call `tool` as the ToolNode would, with a run context for `customer_id`."""
    runtime = ToolRuntime(
        state={"messages": []},
        context=SupportContext(
            customer_id=customer_id,
            thread_id=thread_id or str(uuid.uuid4()),
            role=role,  # type: ignore[arg-type]
            request_id="test",
        ),
        config={},
        stream_writer=lambda _: None,
        tool_call_id=tool_call_id or f"call-{uuid.uuid4().hex[:8]}",
        store=None,
    )
    return await tool.ainvoke({**(args or {}), "runtime": runtime})
