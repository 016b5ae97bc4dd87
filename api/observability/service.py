"""The app's observability: metrics, price book, tracing, usage; and one turn's observer."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.events import ErrorEvent, Event, HandoffEvent, MessageEvent, TokenEvent
from api.observability.callbacks import TurnTelemetry
from api.observability.logs import agent_var
from api.observability.metrics import Metrics
from api.observability.pricing import PriceBook
from api.observability.tracing import ROOT_RUN_NAME, Tracing, pseudonym
from api.observability.usage import TurnUsage, UsageStore
from graph.prompts import PROMPT_VERSION

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow
    from psycopg_pool import AsyncConnectionPool

    from api.settings import Settings
    from graph.context import SupportContext

logger = logging.getLogger(__name__)


class Observability:
    """Long-lived observability clients; the lifespan keeps one in `app.state.observability`."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_version: str,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.app_version = app_version
        self.metrics = metrics or Metrics()
        self.prices = PriceBook.load(settings.price_book)
        self.tracing = tracing
        self.usage: UsageStore | None = None

    def attach(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]]) -> None:
        """Start recording usage in the app's database."""
        self.usage = UsageStore(pool)

    def pseudonym(self, customer_id: str) -> str:
        """Return the customer's id as traces show it."""
        return pseudonym(customer_id, self.settings.jwt_secret.get_secret_value())

    def observe_turn(
        self, context: SupportContext, *, client_message_id: str | None = None
    ) -> TurnObserver:
        """Return the observer of a turn about to start."""
        return TurnObserver(self, context, client_message_id)

    async def refresh_gauges(self) -> None:
        """Re-read gauges that live in the database (approvals by status)."""
        if self.usage is None:
            return
        counts = await self.usage.approval_counts()
        for status in ("pending", "approved", "rejected", "expired", *counts):
            self.metrics.approvals.labels(status=status).set(counts.get(status, 0))


@dataclass
class TurnObserver:
    """Measures, traces and records one chat turn.

    `configure()` adds callbacks, run id, run name, metadata and tags to the
    turn's run config; `saw()` is told every event the client gets; `finish()`
    publishes the metrics and stores the usage row.
    """

    hub: Observability
    context: SupportContext
    client_message_id: str | None
    agent: str = "triage"
    """The agent holding the conversation; `configure()` sets the starting one."""
    run_id: uuid.UUID = field(default_factory=uuid.uuid4)
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    outcome: str = "completed"
    message_ids: list[str] = field(default_factory=list)
    telemetry: TurnTelemetry = field(init=False)

    def __post_init__(self) -> None:
        self.telemetry = TurnTelemetry(
            self.hub.metrics, self.hub.prices, token_budget=self.hub.settings.turn_token_budget
        )

    def configure(self, config: RunnableConfig, *, agent: str) -> None:
        """Add the tracer (when tracing), root run id and name, metadata and tags to `config`.

        The turn's telemetry is no callback: the graph reports to it (`graph/llm/observer.py`).
        """
        settings = self.hub.settings
        self.agent = agent
        agent_var.set(agent)
        if self.hub.tracing is not None:
            config["callbacks"] = [self.hub.tracing.tracer()]
        config["run_id"] = self.run_id
        config["run_name"] = ROOT_RUN_NAME
        config["metadata"] = {
            **config.get("metadata", {}),
            "thread_id": self.context.thread_id,
            "request_id": self.context.request_id,
            "customer": self.hub.pseudonym(self.context.customer_id),
            "active_agent": self.agent,
            "model": settings.model,
            "prompt_version": PROMPT_VERSION,
            "app_version": self.hub.app_version,
        }
        config["tags"] = [
            "switchboard",
            f"agent:{self.agent}",
            f"model:{settings.model}",
            f"prompt:{PROMPT_VERSION}",
        ]

    def custom(self, payload: Any) -> None:
        """Count what the graph's custom stream reports (guard trips, visible or not)."""
        if isinstance(payload, dict) and payload.get("kind") in ("guard", "guard_flagged"):
            self.hub.metrics.guard_trips.labels(
                stage=str(payload.get("stage")),
                scanner=str(payload.get("scanner")),
                action=str(payload.get("action")),
            ).inc()

    def saw(self, event: Event) -> None:
        """Take note of an event sent to the client."""
        metrics = self.hub.metrics
        if isinstance(event, TokenEvent) and self.first_token_at is None:
            self.first_token_at = time.monotonic()
            metrics.first_token.labels(agent=event.agent).observe(
                self.first_token_at - self.started
            )
        elif isinstance(event, HandoffEvent):
            metrics.handoffs.labels(from_agent=event.from_agent, to_agent=event.to).inc()
            self.agent = event.to
            agent_var.set(event.to)
        elif isinstance(event, MessageEvent) and event.id and event.role == "assistant":
            self.message_ids.append(event.id)
        elif isinstance(event, ErrorEvent):
            self.outcome = event.code

    async def finish(self) -> TurnUsage:
        """Publish the turn's metrics, store its usage row, log one line; never raises."""
        seconds = time.monotonic() - self.started
        metrics, telemetry = self.hub.metrics, self.telemetry
        metrics.turns.labels(outcome=self.outcome).inc()
        metrics.turn_latency.labels(agent=self.agent).observe(seconds)
        usage = TurnUsage(
            thread_id=self.context.thread_id,
            customer_id=self.context.customer_id,
            request_id=self.context.request_id,
            run_id=self.run_id,
            outcome=self.outcome,
            input_tokens=sum(u.input_tokens for u in telemetry.usage.values()),
            output_tokens=sum(u.output_tokens for u in telemetry.usage.values()),
            cost_usd=telemetry.cost_usd,
            models={name: u.as_json() for name, u in telemetry.usage.items()},
            message_ids=tuple(self.message_ids),
            client_message_id=self.client_message_id,
        )
        try:
            if self.hub.usage is not None:
                await self.hub.usage.record(usage)
        except Exception:
            logger.exception("could not record the turn's usage")
        logger.info(
            "turn %s in %.2fs",
            self.outcome,
            seconds,
            extra={
                "outcome": self.outcome,
                "duration_ms": int(seconds * 1000),
                "tokens_in": usage.input_tokens,
                "tokens_out": usage.output_tokens,
                "cost_usd": float(usage.cost_usd),
                "agent": self.agent,
            },
        )
        return usage
