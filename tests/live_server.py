"""The real app under uvicorn on a loopback port, in a thread: for browsers and SSE streams.

httpx's ASGI transport answers only once a response is complete, so a stream
that stays open (the console's approval events) needs a real server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import uvicorn
from langchain_core.language_models import BaseChatModel
from psycopg.rows import dict_row

from api.app import create_app
from tests.conftest import make_settings
from tests.processes import free_port


class LiveServer:
    """A running app: its base URL and its database, for arranging data."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url

    def query(self, sql: str, *params: object) -> list[dict]:
        """Run `sql` on the app's database and return the rows."""
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


@contextmanager
def serve(database_url: str, data_dir: Path, model: BaseChatModel | None) -> Iterator[LiveServer]:
    """Run the app under uvicorn in a thread until the block ends."""
    settings = make_settings(database_url, data_dir, SWITCHBOARD_ENV="development")
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, model=model), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start; see the log above")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
