"""An embedded PostgreSQL server for first runs (the `pgserver` package)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from db.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def start_embedded_postgres(pgdata: Path) -> str:
    """Start (or reuse) a Postgres server whose data lives in `pgdata`; return its URL.

    Blocking (initdb on first use takes a few seconds): call it from a worker
    thread in async code. The server stops when the last process using it exits.
    """
    pgdata = pgdata.resolve()
    if pgdata not in _servers:
        pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs nags about XDG_RUNTIME_DIR
            import pgserver

            try:
                _servers[pgdata] = pgserver.get_server(pgdata, cleanup_mode="stop")
            except Exception as error:
                raise DatabaseUnavailableError(
                    f"could not start the embedded Postgres in {str(pgdata)!r}: {error}. "
                    "Set DATABASE_URL to use an external server instead."
                ) from error
        logger.info("embedded Postgres running with data in %s", pgdata)
    return str(_servers[pgdata].get_uri("postgres"))
