"""Start the real service against a scratch copy of the demo store, and run turns on it.

The app is built by `api.app.create_app` and started through its own lifespan
(pool, migrations, checkpointer, guards, knowledge base, toolkit, the configured
model), so an evaluation exercises exactly what production runs; turns go
through `api.turns.run_turn`, the function behind the SSE endpoint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.app import create_app
from api.events import Event, MessageEvent, TokenEvent
from api.settings import Settings
from api.thread_store import caller_identity
from api.turns import run_turn
from db.migrations import apply_migrations
from db.seed import seed_demo_store
from graph.context import SupportContext


@asynccontextmanager
async def scratch_database(
    server_url: str, *, prefix: str = "switchboard_eval"
) -> AsyncIterator[str]:
    """Create a fresh database on `server_url`, migrate and seed it; drop it afterwards.

    Yields:
        The URL of the new database.

    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(
        server_url, dbname=conninfo_to_dict(server_url).get("dbname") or "postgres"
    )
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(server_url, dbname=name)
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await apply_migrations(conn)
            await seed_demo_store(conn)  # type: ignore[arg-type]
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def eval_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Return settings for an evaluation app: test mode, scratch database, its own data dir.

    `overrides` use the environment variable names; anything not given comes
    from the environment (so `SWITCHBOARD_MODEL` selects the model under test).
    """
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_JWT_SECRET": "eval-only-secret-" + "x" * 32,
        "SWITCHBOARD_SHUTDOWN_GRACE": 1,
        "SWITCHBOARD_DB_POOL_MAX": 20,
        **overrides,
    }
    return Settings(**values)


@dataclass
class TurnRecord:
    """What one turn produced, as the customer would have seen it."""

    message: str
    events: list[Event]
    latency_s: float
    first_token_s: float | None

    @property
    def reply(self) -> str:
        """The assistant's words this turn (complete `message` events, joined)."""
        parts = [
            e.content for e in self.events if isinstance(e, MessageEvent) and e.role == "assistant"
        ]
        if parts:
            return "\n".join(parts)
        return "".join(e.delta for e in self.events if isinstance(e, TokenEvent))


@dataclass
class Conversation:
    """One evaluated thread: the customer acting, and every turn."""

    thread_id: str
    customer_id: str
    turns: list[TurnRecord] = field(default_factory=list)


class EvalService:
    """The running app: its compiled graph and pool, and a way to hold conversations."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.settings: Settings = app.state.settings
        self.graph = app.state.graph
        self.pool = app.state.pool

    async def converse(self, customer_id: str, messages: list[str]) -> Conversation:
        """Send `messages` one turn after another on a new thread of `customer_id`."""
        thread = await self.app.state.threads.create(customer_id)
        conversation = Conversation(thread_id=thread.thread_id, customer_id=customer_id)
        identity = await caller_identity(self.pool, customer_id)
        for text in messages:
            context = SupportContext(
                customer_id=customer_id,
                thread_id=conversation.thread_id,
                request_id=str(uuid.uuid4()),
                caller_emails=identity.emails,
                caller_order_ids=identity.order_ids,
            )
            events: list[Event] = []
            start = time.perf_counter()
            first: float | None = None
            async for event in run_turn(
                self.graph,
                thread_id=conversation.thread_id,
                content=text,
                context=context,
                timeout_seconds=self.settings.turn_timeout_seconds,
                guards=self.app.state.guards,
                checkpoint_every=self.settings.checkpoint_every,
            ):
                if first is None and isinstance(event, TokenEvent):
                    first = time.perf_counter() - start
                events.append(event)
            conversation.turns.append(TurnRecord(text, events, time.perf_counter() - start, first))
        return conversation

    async def state_messages(self, thread_id: str) -> list[Any]:
        """Return the checkpointed messages of a thread."""
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": thread_id}})
        return list(snapshot.values.get("messages", []))

    async def fetch(self, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Run a read-only query on the scratch database."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(query, params)
            return list(await cursor.fetchall())


@asynccontextmanager
async def running_service(
    settings: Settings, model: BaseChatModel | None = None
) -> AsyncIterator[EvalService]:
    """Start the app's lifespan on `settings` and yield the service."""
    app = create_app(settings, model=model)
    async with LifespanManager(app, startup_timeout=300, shutdown_timeout=30):
        yield EvalService(app)
