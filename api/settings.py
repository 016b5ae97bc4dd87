"""Every environment variable Switchboard reads, in one place.

Settings are read once (`get_settings`) and passed down; nothing else in the
code base reads `os.environ` for configuration. Each field's alias is the
environment variable name; README's configuration table and `.env.example`
list the same names.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "secret",
        "dev-secret-change-me",
        "dev-secret-change-me-never-use-in-production",
    }
)
"""Secrets that are only acceptable in development mode."""

DEV_JWT_SECRET = "dev-secret-change-me-never-use-in-production"


class Settings(BaseSettings):
    """Switchboard configuration, from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        use_attribute_docstrings=True,
    )

    # --- Service -----------------------------------------------------------------
    env: Literal["development", "production", "test"] = Field(
        "development", alias="SWITCHBOARD_ENV"
    )
    """`development` allows placeholder secrets and the demo helpers."""
    host: str = Field("127.0.0.1", alias="SWITCHBOARD_HOST")
    """Interface `switchboard serve` binds to (`0.0.0.0` in containers)."""
    port: int = Field(8000, alias="SWITCHBOARD_PORT")
    """Port `switchboard serve` listens on."""
    data_dir: Path = Field(Path(".data"), alias="SWITCHBOARD_DATA_DIR")
    """Embedded Postgres, Chroma and caches live here."""
    log_level: str = Field("INFO", alias="SWITCHBOARD_LOG_LEVEL")
    """Python log level: DEBUG, INFO, WARNING or ERROR."""
    worker_threads: int = Field(1, alias="SWITCHBOARD_WORKER_THREADS", ge=1)
    """Threads running CPU work beside the event loop (guards, embeddings, checkpoint
    serialisation). More contend with the loop for Python's GIL and slow every
    database round trip: see `api/worker_threads.py`."""
    gc_young_threshold: int = Field(10_000, alias="SWITCHBOARD_GC_YOUNG_THRESHOLD", ge=1)
    """Allocations between the garbage collector's young passes once serving (CPython's
    default: 700). Each pass walks every turn in flight again: fewer passes cost
    less CPU under load, and each pauses the event loop longer (see `api/heap.py`)."""

    # --- Database ----------------------------------------------------------------
    database_url: str | None = Field(None, alias="DATABASE_URL")
    """Unset: an embedded Postgres (the `pgserver` package) under `<data_dir>/postgres`."""
    db_pool_min_size: int = Field(1, alias="SWITCHBOARD_DB_POOL_MIN", ge=1)
    """Connections the pool keeps open."""
    db_pool_max_size: int = Field(10, alias="SWITCHBOARD_DB_POOL_MAX", ge=1)
    """Most connections the pool opens. Requests, tools and LangGraph's checkpoint
    queries share them, concurrently; a query waits for a free one up to
    `SWITCHBOARD_DB_POOL_TIMEOUT`."""
    db_prepare_threshold: int | None = Field(5, alias="SWITCHBOARD_DB_PREPARE_THRESHOLD")
    """Server-side prepared statements after N uses; empty or `none` turns them
    off, as transaction-mode poolers (PgBouncer, Cloud SQL) require."""
    db_pool_timeout_seconds: float = Field(5.0, alias="SWITCHBOARD_DB_POOL_TIMEOUT", gt=0)
    """Seconds a request waits for a database connection; then it gets a 503 with
    `Retry-After` (the database is down or the pool is exhausted)."""
    checkpoint_every: Literal["turn", "step"] = Field("turn", alias="SWITCHBOARD_CHECKPOINT_EVERY")
    """`turn`: a thread is checkpointed at the end of each turn and before each
    action (refund, return, approval request), which is what crash recovery needs;
    `step`: after every LangGraph step too, for inspecting each step's state, at
    more CPU per turn and three times the storage (`api/graph_runs.py`; README,
    Benchmarks)."""

    # --- Model -------------------------------------------------------------------
    model: str = Field("offline", alias="SWITCHBOARD_MODEL")
    """`offline`, or any `provider:model` accepted by LangChain's `init_chat_model`."""
    fallback_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SWITCHBOARD_FALLBACK_MODELS"
    )
    """Comma-separated models tried after the primary fails; `offline` is always last."""
    model_temperature: float = Field(0.2, alias="SWITCHBOARD_MODEL_TEMPERATURE")
    """Sampling temperature for provider models."""
    model_timeout_seconds: float = Field(60.0, alias="SWITCHBOARD_MODEL_TIMEOUT", gt=0)
    """Seconds one provider request may take (to the answer, or to each chunk of a
    stream) before it is retried or the next model is tried."""
    model_connect_timeout_seconds: float = Field(
        5.0, alias="SWITCHBOARD_MODEL_CONNECT_TIMEOUT", gt=0
    )
    """Seconds to open a connection to an `openai:` provider (other providers use
    `SWITCHBOARD_MODEL_TIMEOUT` for the whole request)."""
    model_max_retries: int = Field(2, alias="SWITCHBOARD_MODEL_MAX_RETRIES", ge=0)
    """Retries of a provider model after a timeout, a dropped connection, 429 or 5xx,
    before the next model is tried; the SDKs' own retries are off."""
    model_retry_base_delay: float = Field(0.5, alias="SWITCHBOARD_MODEL_RETRY_BASE_DELAY", ge=0)
    """Seconds before the first retry; doubled for each next one, with jitter."""
    model_retry_max_delay: float = Field(8.0, alias="SWITCHBOARD_MODEL_RETRY_MAX_DELAY", ge=0)
    """Longest wait before a retry; a `Retry-After` longer than this skips to the next model."""
    breaker_failures: int = Field(5, alias="SWITCHBOARD_BREAKER_FAILURES", ge=1)
    """Failed requests in a row that open a provider model's circuit breaker (its
    calls then go straight to the next model)."""
    breaker_open_seconds: float = Field(30.0, alias="SWITCHBOARD_BREAKER_OPEN_SECONDS", gt=0)
    """Seconds an open breaker skips its model before letting probe requests through."""
    breaker_half_open_probes: int = Field(1, alias="SWITCHBOARD_BREAKER_HALF_OPEN_PROBES", ge=1)
    """Probe requests a half-open breaker lets through; that many successes close it,
    one failure opens it again."""
    context_max_tokens: int = Field(12000, alias="SWITCHBOARD_CONTEXT_MAX_TOKENS", ge=500)
    """Approximate tokens of conversation sent to the model per call: older messages
    are left out (the checkpoint and history keep them all); the current turn always goes."""
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    """Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, a gateway)."""
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    """Key for `openai:` models (any placeholder works for keyless local servers)."""
    anthropic_api_key: SecretStr | None = Field(None, alias="ANTHROPIC_API_KEY")
    """Key for `anthropic:` models."""
    ollama_base_url: str | None = Field(None, alias="OLLAMA_BASE_URL")
    """Ollama server for `ollama:` models (default http://localhost:11434)."""

    # --- Auth --------------------------------------------------------------------
    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), alias="SWITCHBOARD_JWT_SECRET")
    """HS256 key for bearer tokens; at least 32 characters outside development."""
    token_ttl_seconds: int = Field(8 * 3600, alias="SWITCHBOARD_TOKEN_TTL", gt=0)
    """Lifetime of tokens minted by `switchboard token`, in seconds."""

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SWITCHBOARD_CORS_ORIGINS"
    )
    """Comma-separated origins allowed to call the API from a browser (the store's
    site embedding the widget, e.g. `https://shop.example.com`); empty: same origin only."""

    # --- Abuse limits (issue 8; api/limits.py) -------------------------------------
    redis_url: str | None = Field(None, alias="REDIS_URL")
    """Redis for rate limits shared by all API processes (`redis://host:6379/0`);
    unset: each process counts on its own."""
    rate_limit_prefix: str = Field("switchboard:rl", alias="SWITCHBOARD_RATE_LIMIT_PREFIX")
    """Prefix of the rate-limit keys in Redis."""
    rate_limit_window_seconds: int = Field(60, alias="SWITCHBOARD_RATE_LIMIT_WINDOW", gt=0)
    """Length of the rate-limit window, in seconds (a fixed window)."""
    rate_limit_per_customer: int = Field(20, alias="SWITCHBOARD_RATE_LIMIT_CUSTOMER", ge=0)
    """Chat messages and new threads one customer may send per window; 0: no limit."""
    rate_limit_per_ip: int = Field(300, alias="SWITCHBOARD_RATE_LIMIT_IP", ge=0)
    """API requests (`/v1/...`) one client address may make per window; 0: no limit."""
    trust_forwarded_for: bool = Field(False, alias="SWITCHBOARD_TRUST_FORWARDED_FOR")
    """Take the client address from `X-Forwarded-For` (behind a trusted proxy only)."""
    max_body_bytes: int = Field(65536, alias="SWITCHBOARD_MAX_BODY_BYTES", gt=0)
    """Largest request body accepted, in bytes; larger ones get a 413."""

    # --- Chat limits and streaming -----------------------------------------------
    max_message_chars: int = Field(4000, alias="SWITCHBOARD_MAX_MESSAGE_CHARS", gt=0)
    """Longest chat message accepted, in characters; longer ones get a 422."""
    turn_timeout_seconds: float = Field(120.0, alias="SWITCHBOARD_TURN_TIMEOUT", gt=0)
    """Seconds a whole turn may take before it ends with an error event."""
    sse_ping_seconds: int = Field(15, alias="SWITCHBOARD_SSE_PING", gt=0)
    """Seconds between SSE keep-alive pings."""
    sse_send_timeout_seconds: float = Field(30.0, alias="SWITCHBOARD_SSE_SEND_TIMEOUT", gt=0)
    """Seconds a stalled client may block one SSE write before the stream closes."""
    shutdown_grace_seconds: float = Field(5.0, alias="SWITCHBOARD_SHUTDOWN_GRACE", ge=0)
    """On shutdown, seconds running turns get to finish; open streams get a farewell event."""

    # --- Store and approvals -----------------------------------------------------
    refund_approval_threshold: Decimal = Field(
        Decimal("200.00"), alias="SWITCHBOARD_REFUND_APPROVAL_THRESHOLD", ge=0, decimal_places=2
    )
    """Refunds above this amount (in the order's currency) wait for a staff member's
    approval; at or below it the billing agent issues them at once."""
    approval_ttl_seconds: int = Field(86400, alias="SWITCHBOARD_APPROVAL_TTL", gt=0)
    """Seconds a pending approval waits for a decision; after that it expires and
    the customer is told in the conversation."""
    approval_events: bool = Field(True, alias="SWITCHBOARD_APPROVAL_EVENTS")
    """Push approval changes as they happen to the staff console and to the
    shopper's widget waiting on one (Postgres LISTEN/NOTIFY on a connection of its
    own). Turn off behind a transaction-mode pooler such as PgBouncer, where LISTEN
    does not work: both then poll every 2 s."""

    # --- Knowledge base ----------------------------------------------------------
    chroma_url: str | None = Field(None, alias="CHROMA_URL")
    """Unset: embedded Chroma (`PersistentClient`) under `<data_dir>/chroma`."""
    kb_collection: str = Field("switchboard-kb", alias="SWITCHBOARD_KB_COLLECTION")
    """Chroma collection holding the knowledge-base chunks (3-512 chars of `[a-zA-Z0-9._-]`)."""
    chunk_size: int = Field(1000, alias="SWITCHBOARD_CHUNK_SIZE", ge=200)
    """Largest chunk, in characters; sections longer than this are split."""
    chunk_overlap: int = Field(150, alias="SWITCHBOARD_CHUNK_OVERLAP", ge=0)
    """Characters of a split section repeated at the start of the next chunk."""
    kb_top_k: int = Field(4, alias="SWITCHBOARD_KB_TOP_K", ge=1, le=20)
    """Passages the `search_knowledge_base` tool returns to the model."""
    kb_fusion: Literal["score", "rrf"] = Field("score", alias="SWITCHBOARD_KB_FUSION")
    """How hybrid search fuses BM25 and vector results: `score` (0.75 x cosine +
    0.25 x BM25 / the query's best BM25) or `rrf` (Reciprocal Rank Fusion, as issue 4
    names it). `score` is the default because it measured better on the benchmark's
    dev split (issue 4; `python -m bench.retrieval`): MRR 0.965 vs RRF's 0.942,
    Recall@5 0.987 vs 0.992."""
    kb_rrf_k: int = Field(5, alias="SWITCHBOARD_KB_RRF_K", ge=1)
    """RRF constant k (score = weight / (k + rank)) when the fusion is `rrf`; tuned on
    the benchmark's dev split (`python -m bench.retrieval --tune`)."""
    kb_reconnect_seconds: float = Field(30.0, alias="SWITCHBOARD_KB_RECONNECT", ge=0)
    """While Chroma is unreachable, seconds between attempts to reopen the knowledge
    base (the help-center tool answers "unavailable" meanwhile)."""

    # --- Guards (issue 5; graph/guards) -----------------------------------------------
    guard_banned_substrings: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SWITCHBOARD_GUARD_BANNED_SUBSTRINGS"
    )
    """Comma-separated substrings that block a user message (case-insensitive)."""
    guard_banned_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="SWITCHBOARD_GUARD_BANNED_PATTERNS"
    )
    """Regular expressions that block a user message: comma-separated, or a JSON
    list when a pattern contains a comma."""
    guard_injection_threshold: float = Field(
        0.6, alias="SWITCHBOARD_GUARD_INJECTION_THRESHOLD", gt=0, lt=1
    )
    """Probability above which the bundled injection classifier blocks a message
    (also used for tool results); lower catches more and refuses more."""
    guard_max_tokens: int = Field(1024, alias="SWITCHBOARD_GUARD_MAX_TOKENS", gt=0)
    """Longest user message in cl100k_base tokens; longer ones are refused."""
    allowed_link_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["example-store.com"], alias="SWITCHBOARD_ALLOWED_LINK_DOMAINS"
    )
    """Comma-separated domains (subdomains included) that replies may link to;
    other links are removed from the reply."""
    guard_model_dir: Path | None = Field(None, alias="SWITCHBOARD_GUARD_MODEL_DIR")
    """Folder of local Hugging Face models; subfolders `prompt-injection`,
    `toxicity`, `ner` and `no-refusal` enable those llm-guard scanners."""
    guard_prompt_injection_model: Path | None = Field(
        None, alias="SWITCHBOARD_GUARD_PROMPT_INJECTION_MODEL"
    )
    """Local model dir for llm-guard PromptInjection (label `INJECTION`); overrides
    `<model_dir>/prompt-injection`."""
    guard_toxicity_model: Path | None = Field(None, alias="SWITCHBOARD_GUARD_TOXICITY_MODEL")
    """Local model dir for llm-guard Toxicity (input and output)."""
    guard_ner_model: Path | None = Field(None, alias="SWITCHBOARD_GUARD_NER_MODEL")
    """Local token-classification model dir adding names/addresses to PII redaction."""
    guard_no_refusal_model: Path | None = Field(None, alias="SWITCHBOARD_GUARD_NO_REFUSAL_MODEL")
    """Local model dir for llm-guard NoRefusal; without it NoRefusalLight is used."""
    guard_use_onnx: bool = Field(False, alias="SWITCHBOARD_GUARD_USE_ONNX")
    """Load the model dirs above with ONNX Runtime (needs `llm-guard[onnxruntime]`)."""
    guard_require_models: bool = Field(False, alias="SWITCHBOARD_GUARD_REQUIRE_MODELS")
    """Fail start-up when a configured model cannot load, instead of skipping it."""

    # --- Tracing (read by the LangSmith client itself; listed for validation) ----
    langsmith_tracing: bool = Field(
        False, validation_alias=AliasChoices("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2")
    )
    """Send traces to LangSmith (read by the LangSmith client itself)."""
    langsmith_api_key: SecretStr | None = Field(None, alias="LANGSMITH_API_KEY")
    """LangSmith API key."""
    langsmith_project: str | None = Field(None, alias="LANGSMITH_PROJECT")
    """LangSmith project the traces go to."""
    langsmith_endpoint: str | None = Field(None, alias="LANGSMITH_ENDPOINT")
    """LangSmith API URL (self-hosted or EU instance)."""

    # --- Observability (issue 7; api/observability) ---------------------------------
    log_format: Literal["json", "console"] | None = Field(None, alias="SWITCHBOARD_LOG_FORMAT")
    """`json` (one event per line) or `console`; unset: console in development, json
    otherwise. E-mails, card and phone numbers, keys and public IP addresses are redacted
    either way (loopback and private addresses, our own hosts, are kept)."""
    metrics_token: SecretStr | None = Field(None, alias="SWITCHBOARD_METRICS_TOKEN")
    """Bearer token `/metrics` requires when set. Outside development `/metrics` on the
    API port answers 403 unless this or `SWITCHBOARD_METRICS_PORT` is set."""
    metrics_port: int | None = Field(None, alias="SWITCHBOARD_METRICS_PORT")
    """Serve Prometheus metrics on this separate (internal) port instead of the API's
    `/metrics`."""
    price_book: str | None = Field(None, alias="SWITCHBOARD_PRICE_BOOK")
    """USD per million input/output tokens per model: a JSON or TOML file, or inline
    JSON (`{"gpt-4.1-mini": {"input": 0.4, "output": 1.6}}`); merged over the built-in
    book of common OpenAI and Anthropic models. The offline model costs nothing."""
    turn_token_budget: int | None = Field(None, alias="SWITCHBOARD_TURN_TOKEN_BUDGET", gt=0)
    """Most model tokens (in + out) one turn may spend; past it the turn ends with an
    `error` event `token_budget_exceeded`. Unset: no limit."""
    daily_token_budget: int | None = Field(None, alias="SWITCHBOARD_DAILY_TOKEN_BUDGET", gt=0)
    """Most model tokens one customer may spend per UTC day; past it new messages get
    `429 daily_budget_exceeded`. Unset: no limit."""

    @field_validator("fallback_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "guard_banned_substrings",
        "guard_banned_patterns",
        "allowed_link_domains",
        "cors_origins",
        mode="before",
    )
    @classmethod
    def _split_guard_lists(cls, value: object) -> object:
        # A JSON list allows commas inside regular expressions.
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("db_prepare_threshold", mode="before")
    @classmethod
    def _none_disables(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
            return None
        return value

    @field_validator(
        "log_format",
        "metrics_port",
        "price_book",
        "turn_token_budget",
        "daily_token_budget",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "development":
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
            raise ValueError(
                f"SWITCHBOARD_JWT_SECRET is a placeholder or shorter than 32 characters, which "
                f"is only allowed with SWITCHBOARD_ENV=development (current: {self.env!r}). "
                'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return self

    @property
    def is_development(self) -> bool:
        """Whether demo helpers (token minting, customer picker) are enabled."""
        return self.env == "development"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process."""
    return Settings()
