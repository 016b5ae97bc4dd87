"""The widget may be embedded on the store's own site: CORS from an allow-list."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_settings, running_app
from tests.scripted_model import ScriptedChatModel

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def test_allowed_origin_gets_cors_headers_and_others_do_not(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(
        database_url, shared_data_dir, SWITCHBOARD_CORS_ORIGINS="https://shop.example.com"
    )
    async with running_app(settings, ScriptedChatModel()) as client:
        allowed = await client.options(
            "/v1/threads", headers={"Origin": "https://shop.example.com", **PREFLIGHT}
        )
        denied = await client.options(
            "/v1/threads", headers={"Origin": "https://evil.example.net", **PREFLIGHT}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-origin" not in denied.headers


async def test_no_cors_headers_by_default(settings) -> None:  # type: ignore[no-untyped-def]
    async with running_app(settings, ScriptedChatModel()) as client:
        response = await client.get("/healthz", headers={"Origin": "https://shop.example.com"})
    assert "access-control-allow-origin" not in response.headers
