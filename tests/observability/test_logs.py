"""Structured logs: JSON lines with request and thread ids, and no PII or secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.observability.logs import configure_logging
from tests.conftest import auth, make_settings, running_app
from tests.observability.helpers import CARD, EMAIL, PII_MESSAGE, SECRET, chat, new_thread
from tests.scripted_model import ScriptedChatModel

OTHER_CARD = "5500 0000 0000 0004"


class _LeakyProvider(ScriptedChatModel):
    """A provider whose error echoes request details, as some 400 responses do."""

    def _stream(self, messages, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Not the guarded card of PII_MESSAGE: LangGraph checkpoints a node's error,
        # and tests/api/test_guarded_chat.py looks for that card in the checkpoints.
        raise ValueError(f"bad request for {EMAIL} (key {SECRET}): card {OTHER_CARD} declined")
        yield


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_json_log_lines_carry_ids_and_no_pii(
    database_url: str, shared_data_dir: Path, log_output: io.StringIO
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_LOG_FORMAT="json")
    configure_logging(settings, stream=log_output)
    async with running_app(settings, _LeakyProvider()) as client:
        headers = {**auth("cust-logs-1"), "X-Request-ID": "req-logs-0001"}
        thread_id = await new_thread(client, headers)
        events = await chat(client, thread_id, PII_MESSAGE, headers)
        # The provider's error carries the raw text too (guards see only the input).
        logging.getLogger("tests").error("raw %s and %s", EMAIL, SECRET)

    assert events[-2].event == "error" and events[-1].event == "done"
    text = log_output.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON event
    failure = next(line for line in lines if "failed" in line["event"] and "exception" in line)
    assert failure["request_id"] == "req-logs-0001"
    assert failure["thread_id"] == thread_id
    assert failure["trace_id"] and failure["agent"] == "triage"
    turn = next(line for line in lines if line["logger"] == "api.observability.service")
    assert turn["thread_id"] == thread_id and turn["outcome"] == "internal_error"
    access = [line for line in lines if line["logger"] == "switchboard.access"]
    assert any(line["event"].startswith("POST /v1/threads/{thread_id}/messages") for line in access)
    for secret in (EMAIL, CARD, CARD.replace(" ", ""), SECRET, OTHER_CARD):
        assert secret not in text
    assert "[email]" in text and "[secret]" in text


def test_console_format_is_readable_and_redacted(log_output: io.StringIO) -> None:
    settings = make_settings("postgresql://unused", Path("."), SWITCHBOARD_ENV="development")
    configure_logging(settings, stream=log_output)
    logging.getLogger("switchboard.test").warning("card %s", CARD)
    line = log_output.getvalue().strip()
    assert not line.startswith("{")
    assert "WARNING" in line and "card [card]" in line
