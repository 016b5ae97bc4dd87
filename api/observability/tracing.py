"""LangSmith tracing: one trace per turn, redacted before it leaves the process.

Off unless `LANGSMITH_TRACING=true`. When on, each turn runs with an explicit
`LangChainTracer` on its own `langsmith.Client`, so LangGraph and LangChain
trace the graph, its nodes (the input guard, triage, the specialists), model
calls, tools and retrieval as child runs of one root run, `switchboard.turn`.

What is uploaded passes through `scrub` first (the client's `anonymizer`: run
inputs, outputs, metadata and errors): e-mails, card and phone numbers and keys
are masked and the thread's PII vault is dropped. The raw text of a turn's
message travels only in the run context (`SupportContext.user_message`), which
LangGraph never puts in traced inputs, so a blocked message is never sent.

Uploads happen on the client's background thread; an unreachable endpoint is
logged (`tracing_error_callback`), never raised into a turn.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from typing import TYPE_CHECKING, Any

from api.observability.redaction import redact

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackHandler

    from api.settings import Settings

logger = logging.getLogger(__name__)

ROOT_RUN_NAME = "switchboard.turn"
HIDDEN_KEYS = frozenset({"pii_vault", "user_message", "caller_emails", "caller_order_ids"})
"""State and context fields never uploaded, whatever their content."""
TRUSTED_KEYS = frozenset(
    {"thread_id", "request_id", "customer", "prompt_version", "app_version", "run_id"}
)
"""Metadata the service writes itself (ids, versions): uploaded as they are."""

FLUSH_SECONDS = 5.0
"""How long shutdown waits for pending traces."""


def pseudonym(customer_id: str, secret: str) -> str:
    """Return a stable, non-reversible id for `customer_id` (HMAC-SHA256 with `secret`)."""
    digest = hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()
    return f"cust-{digest[:16]}"


def scrub(payload: Any) -> Any:
    """Redact a run payload before upload (LangSmith `anonymizer`)."""
    if isinstance(payload, dict):
        return {
            key: "[hidden]"
            if key in HIDDEN_KEYS
            else value
            if key in TRUSTED_KEYS and isinstance(value, str)
            else scrub(value)
            for key, value in payload.items()
        }
    if isinstance(payload, list | tuple):
        return [scrub(item) for item in payload]
    return redact(payload)


class Tracing:
    """The LangSmith client and what each turn needs to be traced by it."""

    def __init__(self, settings: Settings, *, app_version: str) -> None:
        from langsmith import Client

        self.project = settings.langsmith_project or "switchboard"
        self.app_version = app_version
        self.secret = settings.jwt_secret.get_secret_value()
        self._project: uuid.UUID | None = None
        self.client = Client(
            api_url=settings.langsmith_endpoint,
            api_key=(
                settings.langsmith_api_key.get_secret_value()
                if settings.langsmith_api_key
                else None
            ),
            anonymizer=scrub,
            auto_batch_tracing=True,  # uploads on a background thread
            timeout_ms=(2_000, 10_000),
            tracing_error_callback=_log_upload_error,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, app_version: str) -> Tracing | None:
        """Return the tracing setup, or None when `LANGSMITH_TRACING` is off."""
        if not settings.langsmith_tracing:
            return None
        tracing = cls(settings, app_version=app_version)
        logger.info(
            "LangSmith tracing on (project=%s, endpoint=%s)",
            tracing.project,
            settings.langsmith_endpoint or "default",
        )
        return tracing

    def tracer(self) -> BaseCallbackHandler:
        """Return a tracer for one turn (a fresh one: tracers keep per-run state)."""
        from langchain_core.tracers.langchain import LangChainTracer

        return LangChainTracer(project_name=self.project, client=self.client)

    def send_feedback(
        self, run_id: uuid.UUID | str, *, score: int, comment: str | None, feedback_id: str
    ) -> None:
        """Attach a customer's thumbs up (1) or down (0) to a turn's root run (blocking)."""
        self.client.create_feedback(
            run_id=run_id,
            session_id=self._project_id(),
            trace_id=run_id,  # the root run is its own trace: lets the client batch it
            key="user_score",
            score=score,
            comment=redact(comment) if comment else None,
            feedback_id=uuid.uuid5(uuid.NAMESPACE_URL, feedback_id),
        )

    def _project_id(self) -> uuid.UUID | None:
        if self._project is None:
            try:
                self._project = self.client.read_project(project_name=self.project).id
            except Exception:  # unknown yet (no trace uploaded) or unreachable
                return None
        return self._project

    def flush(self, timeout: float = FLUSH_SECONDS) -> None:
        """Wait (at most `timeout` seconds) for pending uploads (blocking)."""
        try:
            self.client.flush(timeout=timeout)
        except Exception as error:  # never fail a shutdown over traces
            logger.warning("could not flush traces: %s", error)


def _log_upload_error(error: Exception) -> None:
    logger.warning("LangSmith upload failed (traces dropped): %s", error)
