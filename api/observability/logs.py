"""Structured logs: one JSON object per line in production, readable lines in development.

Every record carries the request id, thread id, agent and trace (root run) id
of the turn it belongs to, from context variables the API sets; every record
is redacted (`RedactionFilter`) before any handler formats it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from api.observability.redaction import redact_text

if TYPE_CHECKING:
    from api.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("switchboard_request_id", default=None)
thread_id_var: ContextVar[str | None] = ContextVar("switchboard_thread_id", default=None)
agent_var: ContextVar[str | None] = ContextVar("switchboard_agent", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("switchboard_trace_id", default=None)

CONTEXT_FIELDS = {
    "request_id": request_id_var,
    "thread_id": thread_id_var,
    "agent": agent_var,
    "trace_id": trace_id_var,
}

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Copy the request/thread/agent/trace context variables onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        for name, var in CONTEXT_FIELDS.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class RedactionFilter(logging.Filter):
    """Mask e-mails, card and phone numbers and keys in the message and traceback.

    The message is rendered (`msg % args`) and redacted once, so no handler
    downstream can format the raw arguments again.
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
            record.exc_info = None  # formatted (and redacted) already
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact_text(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extras."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_") or value is None:
                continue
            entry[key] = value if isinstance(value, int | float | bool | str) else str(value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """`time level logger: message  key=value …` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        line = super().format(record)
        context = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_") and value is not None
        )
        if not context:
            return line
        head, _, tail = line.partition("\n")
        return f"{head}  [{context}]" + (f"\n{tail}" if tail else "")


def log_format(settings: Settings) -> str:
    """Return the effective format: the setting, else console in development, json elsewhere."""
    return settings.log_format or ("console" if settings.is_development else "json")


def make_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """Return a stream handler with the context and redaction filters and `fmt`'s formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.set_name("switchboard")
    return handler


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Route every log record (uvicorn's too) through one redacting handler on the root.

    Replaces the root logger's handlers; returns the handler installed.
    """
    handler = make_handler(log_format(settings), stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


@contextmanager
def log_context(**values: str | None) -> Iterator[None]:
    """Set some of the context variables for the block (`thread_id=…, agent=…`)."""
    tokens = [(CONTEXT_FIELDS[k], CONTEXT_FIELDS[k].set(v)) for k, v in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
