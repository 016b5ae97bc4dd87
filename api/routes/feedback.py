"""Customers rate replies: `POST /v1/threads/{thread_id}/feedback`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Literal, cast

from fastapi import APIRouter, Request, status
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from api.deps import CurrentCustomer, GraphDep, ThreadStoreDep
from api.errors import NotFound
from api.observability.service import Observability
from api.observability.tracing import Tracing
from api.turns import thread_config
from api.worker_threads import run_blocking_io

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/threads", tags=["feedback"])


class FeedbackCreate(BaseModel):
    """A thumbs up or down on one assistant reply, with an optional comment."""

    message_id: str = Field(min_length=1, max_length=200)
    score: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackPublic(BaseModel):
    """The stored feedback (sending it again replaces it)."""

    thread_id: str
    message_id: str
    score: Literal["up", "down"]
    comment: str | None
    traced: bool
    """Whether the reply's trace was found, so LangSmith gets the feedback too."""
    updated_at: datetime


@router.post(
    "/{thread_id}/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackPublic
)
async def give_feedback(
    thread_id: str,
    body: FeedbackCreate,
    request: Request,
    user: CurrentCustomer,
    threads: ThreadStoreDep,
    graph: GraphDep,
) -> FeedbackPublic:
    """Rate an assistant reply of your own conversation; 404 for anything else."""
    if await threads.get_owned(thread_id, user.subject) is None:
        raise NotFound(f"Thread {thread_id!r} not found.")
    snapshot = await graph.aget_state(cast(RunnableConfig, thread_config(thread_id)))
    if not any(
        isinstance(m, AIMessage) and m.id == body.message_id and not m.tool_calls
        for m in snapshot.values.get("messages", [])
    ):
        raise NotFound(f"Message {body.message_id!r} is not a reply in thread {thread_id!r}.")
    observability: Observability = request.app.state.observability
    assert observability.usage is not None
    run_id = await observability.usage.run_for_message(thread_id, body.message_id)
    comment = body.comment.strip() if body.comment and body.comment.strip() else None
    row = await observability.usage.save_feedback(
        thread_id=thread_id,
        message_id=body.message_id,
        customer_id=user.subject,
        score=body.score,
        comment=comment,
        run_id=run_id,
    )
    observability.metrics.feedback.labels(score=body.score).inc()
    tracing = observability.tracing
    if tracing is not None and run_id is not None:
        # Off the request path: the client call is blocking HTTP.
        task = asyncio.create_task(
            run_blocking_io(
                _send,
                tracing,
                run_id,
                1 if body.score == "up" else 0,
                comment,
                f"{thread_id}:{body.message_id}",
            )
        )
        background: set[asyncio.Task] = request.app.state.background_tasks
        background.add(task)
        task.add_done_callback(background.discard)
    return FeedbackPublic(
        thread_id=thread_id,
        message_id=body.message_id,
        score=row["score"],
        comment=row["comment"],
        traced=run_id is not None,
        updated_at=row["updated_at"],
    )


def _send(tracing: Tracing, run_id: uuid.UUID, score: int, comment: str | None, key: str) -> None:
    try:
        tracing.send_feedback(run_id, score=score, comment=comment, feedback_id=key)
    except Exception as error:
        logger.warning("could not send feedback to LangSmith: %s", error)
