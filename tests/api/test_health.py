"""Probes and docs an operator relies on."""

from __future__ import annotations

from api.settings import Settings
from tests.conftest import make_settings, running_app
from tests.scripted_model import ScriptedChatModel


async def test_healthz_and_readyz_report_ok(settings: Settings) -> None:
    async with running_app(settings, ScriptedChatModel()) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


async def test_readyz_is_503_with_retry_after_when_the_database_is_gone(settings: Settings) -> None:
    async with running_app(settings, ScriptedChatModel()) as client:
        app_pool = client.app.state.pool  # type: ignore[attr-defined]
        await app_pool.close()
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "5"
    assert ready.json()["status"] == "unavailable"


async def test_openapi_docs_are_served(settings: Settings) -> None:
    async with running_app(settings, ScriptedChatModel()) as client:
        docs = await client.get("/docs")
        spec = (await client.get("/openapi.json")).json()
    assert docs.status_code == 200
    assert "/v1/threads/{thread_id}/messages" in spec["paths"]


def test_placeholder_jwt_secret_is_refused_outside_development(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="SWITCHBOARD_JWT_SECRET is a placeholder"):
        make_settings(
            database_url, tmp_path, SWITCHBOARD_ENV="production", SWITCHBOARD_JWT_SECRET="changeme"
        )
    development = make_settings(
        database_url, tmp_path, SWITCHBOARD_ENV="development", SWITCHBOARD_JWT_SECRET="changeme"
    )
    assert development.is_development
