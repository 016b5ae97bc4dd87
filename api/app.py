"""The FastAPI application factory and its lifespan (long-lived clients live here).

Run with: switchboard serve   (or: uvicorn --factory api.app:create_app)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langchain_core.language_models import BaseChatModel

from api.approval_events import ApprovalEvents
from api.approval_flow import ApprovalFlow
from api.errors import install_error_handlers
from api.heap import freeze_startup_heap, young_collection_threshold
from api.limits import AbuseLimitMiddleware, RateLimiter
from api.observability.metrics_server import serve_metrics
from api.observability.middleware import ObservabilityMiddleware
from api.observability.service import Observability
from api.observability.tracing import Tracing
from api.resources import load_guards, open_knowledge_base
from api.routes import approvals, demo, feedback, health, metrics, threads, web
from api.settings import Settings, get_settings
from api.thread_store import ThreadStore
from api.worker_threads import cpu_workers, run_blocking_io
from db.checkpointer import TurnCheckpointer
from db.embedded import start_embedded_postgres
from db.migrations import apply_migrations
from db.pool import open_pool
from db.seed import seed_demo_store
from graph.builder import build_graph
from graph.llm import build_chat_model
from graph.llm.offline import classify
from ingestion.embeddings import get_embedder
from tools import build_toolkit
from tools.knowledge import KnowledgeSource, make_knowledge_tools

logger = logging.getLogger(__name__)

APP_VERSION = "0.1.0"


async def resolve_database_url(settings: Settings) -> str:
    """Return `DATABASE_URL`, or start the embedded server and return its URL."""
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(start_embedded_postgres, settings.data_dir / "postgres")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the pool, migrate, set up checkpoints, compile the graph; close on exit."""
    settings: Settings = app.state.settings
    observability: Observability = app.state.observability
    url = await resolve_database_url(settings)
    pool = await open_pool(
        url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        prepare_threshold=settings.db_prepare_threshold,
        timeout=settings.db_pool_timeout_seconds,
    )
    app.state.approval_events = events = None
    try:
        async with pool.connection() as conn:
            await apply_migrations(conn)
            if settings.is_development:
                await seed_demo_store(conn)  # no-op once seeded (db/seed.py)
        checkpointer = TurnCheckpointer(pool)
        await checkpointer.setup()
        model: BaseChatModel = app.state.model_override or build_chat_model(settings)
        # Load the local models now, not on the first customer's turn.
        await get_embedder().aembed_query("warm-up")
        await asyncio.to_thread(classify, "hello")
        app.state.pool = pool
        observability.attach(pool)
        guards, kb = await asyncio.gather(
            asyncio.to_thread(load_guards, settings),
            asyncio.to_thread(open_knowledge_base, settings),
        )
        app.state.guards, app.state.knowledge_base = guards, kb
        # Chroma down at start: the help-center tool reopens it once it answers.
        source = KnowledgeSource(
            kb,
            lambda: open_knowledge_base(settings),
            retry_seconds=settings.kb_reconnect_seconds,
        )
        app.state.knowledge_source = source
        knowledge = make_knowledge_tools(source, top_k=settings.kb_top_k)
        toolkit = build_toolkit(pool, settings, knowledge=knowledge)
        app.state.graph = build_graph(
            model, toolkit, guards=guards, context_max_tokens=settings.context_max_tokens
        ).compile(checkpointer=checkpointer)
        app.state.threads = ThreadStore(pool, lease_seconds=settings.turn_timeout_seconds + 30)
        app.state.approval_flow = ApprovalFlow.for_app(
            app.state.graph, app.state.threads, pool, settings
        )
        sweeper = asyncio.create_task(app.state.approval_flow.sweep_forever(), name="approvals")
        if settings.approval_events:
            events = app.state.approval_events = ApprovalEvents(url)
            await events.start()
        app.state.rate_limiter = RateLimiter(settings)
        app.state.turn_tasks = set()
        app.state.background_tasks = set()
        metrics_server = await serve_metrics(observability, settings)
        freeze_startup_heap()
        # Start-up loaded in parallel on asyncio's default threads; serving uses few.
        with (
            cpu_workers(asyncio.get_running_loop(), settings.worker_threads),
            young_collection_threshold(settings.gc_young_threshold),
        ):
            logger.info("Switchboard ready (model=%s)", settings.model)
            yield
            sweeper.cancel()
            await _finish_running_turns(app.state.turn_tasks, settings.shutdown_grace_seconds)
            if metrics_server is not None:
                await metrics_server.stop()
            if app.state.background_tasks:
                await asyncio.wait(set(app.state.background_tasks), timeout=5)
        await app.state.rate_limiter.close()
    finally:
        if events is not None:
            await events.stop()
        await pool.close()
        if observability.tracing is not None:
            await run_blocking_io(observability.tracing.flush)


async def _finish_running_turns(tasks: set[asyncio.Task], grace_seconds: float) -> None:
    """Give running turns the grace period to finish, then cancel the rest."""
    if not tasks:
        return
    _, pending = await asyncio.wait(set(tasks), timeout=grace_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def create_app(settings: Settings | None = None, *, model: BaseChatModel | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings and a scripted model."""
    app = FastAPI(
        title="Switchboard",
        version=APP_VERSION,
        summary="Customer-support agents: triage, billing and returns, streamed over SSE.",
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    app.state.model_override = model
    settings = app.state.settings
    app.state.observability = Observability(
        settings,
        app_version=APP_VERSION,
        tracing=Tracing.from_settings(settings, app_version=APP_VERSION),
    )
    app.add_middleware(AbuseLimitMiddleware, settings=settings)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.observability.metrics)
    install_error_handlers(app)
    if app.state.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=app.state.settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            max_age=600,
        )
    app.include_router(health.router)
    app.include_router(threads.router)
    app.include_router(feedback.router)
    app.include_router(metrics.router)
    app.include_router(approvals.router)
    app.include_router(demo.router)
    app.include_router(web.router)
    return app
