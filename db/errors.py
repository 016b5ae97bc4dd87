"""Errors of the database layer."""

from __future__ import annotations


class DatabaseUnavailableError(RuntimeError):
    """Raised when Postgres cannot be reached or started.

    Check `DATABASE_URL` (or, for the embedded server, that `.data/postgres` is
    writable and not used by another Switchboard version).
    """


class MigrationError(RuntimeError):
    """Raised when a migration file fails; nothing of that file is applied."""
