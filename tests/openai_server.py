"""A loopback OpenAI-compatible server for the real-client path.

The real `langchain-openai` client talks HTTP to it; replies are scripted.
A reply is a text, a tool call, or a failure to inject: an HTTP error status
(with `Retry-After`), a slow answer, a stream that drops mid-way, or a tool
call with malformed arguments (issue 8).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """One scripted completion: `text`, a `tool` call with `args`, or an `error` status."""

    text: str = ""
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    error: int | None = None
    retry_after: str | None = None
    """`Retry-After` header sent with `error`."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow provider)."""
    drop_after: int | None = None
    """Close the connection after this many stream chunks, without `[DONE]`."""
    raw_args: str | None = None
    """Send the tool call's arguments as this exact string (malformed JSON)."""


@dataclass
class OpenAIServer:
    """Handle to a running loopback server."""

    base_url: str
    replies: list[Reply]
    requests: list[dict] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """`time.monotonic()` at each request's arrival."""


def _completion(reply: Reply, model: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    finish = "stop"
    if reply.tool:
        message["tool_calls"] = [_tool_call(reply)]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _tool_call(reply: Reply) -> dict:
    return {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {
            "name": reply.tool,
            "arguments": reply.raw_args if reply.raw_args is not None else json.dumps(reply.args),
        },
    }


class _DroppedStream(Exception):
    """Raised inside a streaming body: uvicorn then closes the connection mid-response."""


def _stream(reply: Reply, model: str, *, include_usage: bool = False) -> Iterator[str]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    if reply.tool:
        call = _tool_call(reply) | {"index": 0}
        deltas = [{"role": "assistant", "content": None, "tool_calls": [call]}]
        finish = "tool_calls"
    else:
        words = reply.text.split(" ")
        deltas = [{"role": "assistant", "content": ""}] + [
            {"content": w if i == len(words) - 1 else w + " "} for i, w in enumerate(words)
        ]
        finish = "stop"
    for sent, delta in enumerate(deltas):
        if reply.drop_after is not None and sent >= reply.drop_after:
            raise _DroppedStream
        chunk = base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n"
    if reply.drop_after is not None:
        raise _DroppedStream
    done = base | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    yield f"data: {json.dumps(done)}\n\n"
    if include_usage:  # what OpenAI sends for stream_options={"include_usage": true}
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        yield f"data: {json.dumps(base | {'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


@contextmanager
def openai_server(replies: list[Reply]) -> Iterator[OpenAIServer]:
    """Serve `replies` in order on 127.0.0.1; yield the handle."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handle = OpenAIServer(base_url=f"http://127.0.0.1:{port}/v1", replies=list(replies))

    async def completions(request: Request) -> Response:
        handle.times.append(time.monotonic())
        body = await request.json()
        handle.requests.append(body)
        if not handle.replies:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=500)
        reply = handle.replies.pop(0)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error:
            headers = {"retry-after": reply.retry_after} if reply.retry_after else None
            return JSONResponse(
                {"error": {"message": "injected", "type": "server_error"}},
                status_code=reply.error,
                headers=headers,
            )
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _stream(reply, body["model"], include_usage=include_usage),
                media_type="text/event-stream",
            )
        return JSONResponse(_completion(reply, body["model"]))

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=5)
