"""API errors: one JSON shape for every 4xx/5xx, with codes a client can switch on."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client caused or must react to; rendered as `{"error": {...}}`."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class Unauthorized(ApiError):
    """Missing, malformed, badly signed or expired bearer token."""

    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """Valid token, wrong role for this endpoint."""

    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    """Unknown resource, or one that belongs to someone else (same answer)."""

    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    """The resource is busy or already decided; retry later or reload."""

    status_code = 409
    code = "conflict"


class DailyBudgetExceeded(ApiError):
    """The customer spent today's `SWITCHBOARD_DAILY_TOKEN_BUDGET`; retry after `Retry-After`."""

    status_code = 429
    code = "daily_budget_exceeded"


class ServiceUnavailable(ApiError):
    """A dependency (database, model) is down; retry after `Retry-After` seconds."""

    status_code = 503
    code = "unavailable"


class RateLimited(ApiError):
    """Too many requests from one customer or address; retry after `Retry-After` seconds."""

    status_code = 429
    code = "rate_limited"


class PayloadTooLarge(ApiError):
    """The request body is over `SWITCHBOARD_MAX_BODY_BYTES`; send less."""

    status_code = 413
    code = "payload_too_large"


DATABASE_RETRY_AFTER_SECONDS = 5
"""`Retry-After` sent while the database is unreachable."""


def error_body(code: str, message: str, details: object | None = None) -> dict:
    """Return the JSON body shared by every error response."""
    body: dict = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the shared shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(error.code, error.message), error.status_code, headers=error.headers
        )

    # Postgres down or restarting (issue 8): the pool times out waiting for a
    # connection, or a connection breaks mid-query. The client gets a 503 it can
    # retry; the pool reconnects by itself once the server is back.
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, error: Exception) -> JSONResponse:
        logger.warning("database unavailable: %s: %s", type(error).__name__, error)
        return JSONResponse(
            error_body(
                ServiceUnavailable.code,
                "The service is temporarily unavailable (database unreachable). "
                f"Please retry in {DATABASE_RETRY_AFTER_SECONDS} seconds.",
            ),
            ServiceUnavailable.status_code,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(item.get("loc", ())), "message": item.get("msg", "")}
            for item in error.errors()
        ]
        first = problems[0] if problems else {"loc": [], "message": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body") or "request"
        message = f"Invalid {where}: {first['message']}"
        return JSONResponse(error_body("invalid_request", message, problems), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: PayloadTooLarge.code}.get(
            error.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(error.detail)), error.status_code, headers=error.headers
        )
