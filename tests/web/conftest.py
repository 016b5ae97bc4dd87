"""Browser fixtures: the real app under uvicorn on a loopback port, and Debian's chromium.

The app runs in development mode (demo store seeded, demo token routes on) on
its own database, with the offline model or a scripted one; Playwright drives
chromium headless. Screenshots land in `test-artifacts/web/`.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.outputs import ChatGenerationChunk
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.live_server import LiveServer, serve
from tests.scripted_model import ScriptedChatModel

playwright_sync = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def web_database_url(postgres_server_url: str) -> Iterator[str]:
    """A database of its own: the approval flow refunds seeded orders."""
    name = f"switchboard_web_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(
        postgres_server_url,
        dbname=conninfo_to_dict(postgres_server_url).get("dbname") or "postgres",
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(postgres_server_url, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def web_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-data")


@pytest.fixture(scope="package")
def live_server(web_database_url: str, web_data_dir: Path) -> Iterator[LiveServer]:
    """The app with the offline model (the one `make run` uses)."""
    with serve(web_database_url, web_data_dir, None) as server:
        yield server


class PacedScriptedChatModel(ScriptedChatModel):
    """A scripted model that waits `token_delay` seconds between words, like a real one."""

    token_delay: float = 0.0

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.token_delay)
            yield chunk


@pytest.fixture(scope="package")
def scripted_model() -> PacedScriptedChatModel:
    return PacedScriptedChatModel()


@pytest.fixture(scope="package")
def scripted_server(
    web_database_url: str, web_data_dir: Path, scripted_model: PacedScriptedChatModel
) -> Iterator[LiveServer]:
    """The app with a scripted model: tests queue exactly what the model says."""
    with serve(web_database_url, web_data_dir, scripted_model) as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    """Open a page in a fresh browser context (its own localStorage), closed after the test."""
    contexts = []

    def open_page(width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught exceptions, asserted empty by the tests
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str, *, full_page: bool = False) -> Path:  # type: ignore[no-untyped-def]
    """Save a screenshot under test-artifacts/web/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
