"""Fixtures shared by the whole suite: real Postgres, the app, and a network guard.

Postgres is real: the server named by `DATABASE_URL` when set (CI uses the
machine's server), else an embedded one started for the session. Each session
gets its own database, dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from api.app import create_app
from api.auth import mint_token
from api.settings import Settings
from api.worker_threads import cpu_workers
from db.embedded import start_embedded_postgres
from db.migrations import apply_migrations
from db.pool import open_pool

TEST_JWT_SECRET = "test-secret-" + "x" * 40

# --- No real LLM provider, ever ---------------------------------------------------

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver", "test"}
_real_getaddrinfo = socket.getaddrinfo


class RealNetworkCallError(RuntimeError):
    """A test tried to reach a host outside this machine (a hosted LLM, say)."""


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name not in _LOOPBACK and not str(name).startswith("127."):
        raise RealNetworkCallError(
            f"test tried to reach {name!r}: tests must use scripted models or the loopback "
            "OpenAI-compatible server, never a real provider"
        )
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.getaddrinfo = _guarded_getaddrinfo
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LANGSMITH_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(key, None)
    os.environ["LANGSMITH_TRACING"] = "false"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


# --- Postgres ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a real Postgres server: `DATABASE_URL`, or an embedded one."""
    return os.environ.get("DATABASE_URL") or start_embedded_postgres(
        tmp_path_factory.mktemp("postgres")
    )


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    name = f"switchboard_test_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(
        postgres_server_url,
        dbname=conninfo_to_dict(postgres_server_url).get("dbname") or "postgres",
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(postgres_server_url, dbname=name)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError as error:
        # Cleanup only: an embedded server that outage tests restarted may drop this
        # admin connection; a leftover scratch database must not fail the session.
        warnings.warn(f"could not drop test database {name!r}: {error}", stacklevel=1)


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    """A pool on the session database with every migration applied."""
    pool = await open_pool(database_url, min_size=1, max_size=8, prepare_threshold=None)
    async with pool.connection() as conn:
        await apply_migrations(conn)
    yield pool
    await pool.close()


# --- The app -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session: the help center is indexed once, not per app start."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def checkpoint_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The configs of the checkpoint reads that reach Postgres, in order."""
    seen: list[dict] = []
    read = AsyncPostgresSaver.aget_tuple

    async def counted(self: AsyncPostgresSaver, config: Any) -> Any:
        seen.append(config)
        return await read(self, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    return seen


@pytest.fixture
def settings(database_url: str, shared_data_dir: Path) -> Settings:
    """Settings for an app on the session database and data dir, test mode."""
    return make_settings(database_url, shared_data_dir)


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Build test settings; `overrides` use the environment variable names."""
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_JWT_SECRET": TEST_JWT_SECRET,
        "SWITCHBOARD_SHUTDOWN_GRACE": 1,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def only_cpu_worker_busy() -> AsyncIterator[None]:
    """Make one thread the loop's CPU worker (api/worker_threads.py) and keep it busy.

    What runs in the block must not need that worker, or it waits until the
    block gives up (30 s).
    """
    release = threading.Event()
    with cpu_workers(asyncio.get_running_loop(), 1):
        busy = asyncio.ensure_future(asyncio.to_thread(release.wait, 30))
        try:
            yield
        finally:
            release.set()
            assert await busy, "the CPU worker was held for 30 s"


@asynccontextmanager
async def running_app(
    settings: Settings, model: BaseChatModel | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (lifespan included) and yield an HTTP client talking to it."""
    app = create_app(settings, model=model)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]  # for tests that poke at app.state
            yield client


def auth(subject: str, role: str = "customer", *, ttl: int = 600) -> dict[str, str]:
    """Authorization header for `subject` acting as `role`."""
    token = mint_token(subject, role, secret=TEST_JWT_SECRET, ttl_seconds=ttl)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token}"}
