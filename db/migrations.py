"""Versioned SQL migrations, applied in order, once each.

Files in `db/migrations/` are named `NNNN_description.sql`. Each runs in its own
transaction and is recorded in `switchboard.schema_migrations`; a Postgres
advisory lock keeps two processes starting together from racing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from db.errors import MigrationError

logger = logging.getLogger(__name__)

_LOCK_KEY = 0x5357_4244  # "SWBD"


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: str
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Return the bundled migrations sorted by version."""
    folder = resources.files("db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(version=version, name=name, sql=entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


async def apply_migrations(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Apply the pending migrations on `conn` (autocommit); return their versions.

    Raises:
        MigrationError: A migration failed; it was rolled back and later ones skipped.

    """
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS switchboard")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS switchboard.schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT version FROM switchboard.schema_migrations")
        done = {_version(row) for row in await cursor.fetchall()}
        for migration in load_migrations():
            if migration.version in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO switchboard.schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
            except psycopg.Error as error:
                raise MigrationError(
                    f"migration {migration.version}_{migration.name}.sql failed: {error}"
                ) from error
            logger.info("applied migration %s_%s", migration.version, migration.name)
            applied.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _version(row: object) -> str:
    return str(row["version"] if isinstance(row, dict) else row[0])  # type: ignore[index]
