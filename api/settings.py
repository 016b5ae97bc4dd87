"""Every environment variable Switchboard reads, in one place.

Settings are read once (`get_settings`) and passed down; nothing else in the
code base reads `os.environ` for configuration. Each field's alias is the
environment variable name; README's configuration table and `.env.example`
list the same names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev-secret-change-me", "development-only-secret"}
)
"""Secrets that are only acceptable in development mode."""

DEV_JWT_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    """Switchboard configuration, from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- Service -----------------------------------------------------------------
    env: Literal["development", "production", "test"] = Field(
        "development", alias="SWITCHBOARD_ENV"
    )
    """`development` allows placeholder secrets and the demo helpers."""
    host: str = Field("127.0.0.1", alias="SWITCHBOARD_HOST")
    port: int = Field(8000, alias="SWITCHBOARD_PORT")
    data_dir: Path = Field(Path(".data"), alias="SWITCHBOARD_DATA_DIR")
    """Embedded Postgres, Chroma and caches live here."""
    log_level: str = Field("INFO", alias="SWITCHBOARD_LOG_LEVEL")

    # --- Database ----------------------------------------------------------------
    database_url: str | None = Field(None, alias="DATABASE_URL")
    """Unset: an embedded Postgres (the `pgserver` package) under `<data_dir>/postgres`."""
    db_pool_min_size: int = Field(1, alias="SWITCHBOARD_DB_POOL_MIN", ge=1)
    db_pool_max_size: int = Field(10, alias="SWITCHBOARD_DB_POOL_MAX", ge=1)
    db_prepare_threshold: int | None = Field(5, alias="SWITCHBOARD_DB_PREPARE_THRESHOLD")
    """Server-side prepared statements after N uses; empty or `none` turns them
    off, as transaction-mode poolers (PgBouncer, Cloud SQL) require."""

    # --- Model -------------------------------------------------------------------
    model: str = Field("offline", alias="SWITCHBOARD_MODEL")
    """`offline`, or any `provider:model` accepted by LangChain's `init_chat_model`."""
    fallback_models: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="SWITCHBOARD_FALLBACK_MODELS")
    """Comma-separated models tried after the primary fails; `offline` is always last."""
    model_temperature: float = Field(0.2, alias="SWITCHBOARD_MODEL_TEMPERATURE")
    model_timeout_seconds: float = Field(60.0, alias="SWITCHBOARD_MODEL_TIMEOUT", gt=0)
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    """Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, a gateway)."""
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    anthropic_api_key: SecretStr | None = Field(None, alias="ANTHROPIC_API_KEY")
    ollama_base_url: str | None = Field(None, alias="OLLAMA_BASE_URL")

    # --- Auth --------------------------------------------------------------------
    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), alias="SWITCHBOARD_JWT_SECRET")
    """HS256 key for bearer tokens; at least 32 characters outside development."""
    token_ttl_seconds: int = Field(8 * 3600, alias="SWITCHBOARD_TOKEN_TTL", gt=0)

    # --- Chat limits and streaming -----------------------------------------------
    max_message_chars: int = Field(4000, alias="SWITCHBOARD_MAX_MESSAGE_CHARS", gt=0)
    turn_timeout_seconds: float = Field(120.0, alias="SWITCHBOARD_TURN_TIMEOUT", gt=0)
    sse_ping_seconds: int = Field(15, alias="SWITCHBOARD_SSE_PING", gt=0)
    sse_send_timeout_seconds: float = Field(30.0, alias="SWITCHBOARD_SSE_SEND_TIMEOUT", gt=0)
    shutdown_grace_seconds: float = Field(5.0, alias="SWITCHBOARD_SHUTDOWN_GRACE", ge=0)

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

    # --- Tracing (read by the LangSmith client itself; listed for validation) ----
    langsmith_tracing: bool = Field(
        False, validation_alias=AliasChoices("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2")
    )
    langsmith_api_key: SecretStr | None = Field(None, alias="LANGSMITH_API_KEY")
    langsmith_project: str | None = Field(None, alias="LANGSMITH_PROJECT")
    langsmith_endpoint: str | None = Field(None, alias="LANGSMITH_ENDPOINT")

    @field_validator("fallback_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("db_prepare_threshold", mode="before")
    @classmethod
    def _none_disables(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
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
