"""Prometheus metrics: one registry per app, exposed at `/metrics` or a separate port.

A registry per app (not prometheus_client's global one) lets tests start the
app many times in one process. Names follow Prometheus conventions: `_total`
counters, `_seconds` histograms, base units.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
"""Values of `switchboard_circuit_breaker_state`."""


class Metrics:
    """Every metric Switchboard exports, registered on `self.registry`."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        # HTTP and streams
        self.http_requests = Counter(
            "switchboard_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.active_streams = Gauge(
            "switchboard_active_sse_streams", "SSE responses open right now.", registry=registry
        )
        # Turns
        self.turns = Counter(
            "switchboard_turns",
            "Chat turns by outcome (completed, failed, or an error code).",
            ["outcome"],
            registry=registry,
        )
        self.turn_latency = Histogram(
            "switchboard_turn_duration_seconds",
            "Whole-turn latency, by the agent that ended the turn.",
            ["agent"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.first_token = Histogram(
            "switchboard_time_to_first_token_seconds",
            "From the start of a turn to the first reply token, by the agent writing it.",
            ["agent"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.handoffs = Counter(
            "switchboard_handoffs",
            "Conversations moved between agents.",
            ["from_agent", "to_agent"],
            registry=registry,
        )
        # Tools
        self.tool_calls = Counter(
            "switchboard_tool_calls",
            "Tool calls by tool and outcome (ok, error).",
            ["tool", "outcome"],
            registry=registry,
        )
        self.tool_duration = Histogram(
            "switchboard_tool_duration_seconds",
            "Tool call duration.",
            ["tool"],
            buckets=TOOL_BUCKETS,
            registry=registry,
        )
        # Guards and approvals
        self.guard_trips = Counter(
            "switchboard_guard_trips",
            "Guard scanners that fired, by stage, scanner and action.",
            ["stage", "scanner", "action"],
            registry=registry,
        )
        self.approvals = Gauge(
            "switchboard_approvals",
            "Approvals in the database by status (pending, approved, rejected, expired).",
            ["status"],
            registry=registry,
        )
        # Models
        self.model_calls = Counter(
            "switchboard_model_calls",
            "Model calls by model and outcome (ok, error).",
            ["model", "outcome"],
            registry=registry,
        )
        self.model_tokens = Counter(
            "switchboard_model_tokens",
            "Model tokens by model and direction (input, output).",
            ["model", "direction"],
            registry=registry,
        )
        self.model_cost = Counter(
            "switchboard_model_cost_usd",
            "Model spend in USD by model, from the price book.",
            ["model"],
            registry=registry,
        )
        self.model_retries = Counter(
            "switchboard_model_retries",
            "Retried model calls, by model.",
            ["model"],
            registry=registry,
        )
        self.model_fallbacks = Counter(
            "switchboard_model_fallbacks",
            "Times a failing model handed the call to the next model of the chain.",
            ["from_model", "to_model"],
            registry=registry,
        )
        self.circuit_breaker = Gauge(
            "switchboard_circuit_breaker_state",
            "Per-model circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["model"],
            registry=registry,
        )
        self.budget_exceeded = Counter(
            "switchboard_budget_exceeded",
            "Turns refused or stopped by a token budget (turn, daily).",
            ["budget"],
            registry=registry,
        )
        self.feedback = Counter(
            "switchboard_feedback",
            "Feedback on replies by score (up, down).",
            ["score"],
            registry=registry,
        )

    def set_breaker_state(self, model: str, state: str) -> None:
        """Publish a model's circuit-breaker state (`closed`, `half_open`, `open`)."""
        self.circuit_breaker.labels(model=model).set(BREAKER_STATES[state])

    def render(self) -> bytes:
        """Return the registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)
