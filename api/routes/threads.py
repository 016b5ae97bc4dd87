"""Threads: create one, read its history, send a message and stream the reply."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from functools import partial

import anyio
from fastapi import APIRouter, Request, status
from langchain_core.messages import AIMessage, HumanMessage
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.approval_events import approval_stream
from api.deps import CurrentCustomer, GraphDep, SettingsDep, ThreadStoreDep
from api.errors import ApiError, Conflict, DailyBudgetExceeded, NotFound
from api.events import (
    DoneEvent,
    ErrorEvent,
    Event,
    GuardEvent,
    TokenEvent,
    event_from_payload,
    event_json,
    event_payload,
)
from api.observability.logs import thread_id_var, trace_id_var
from api.observability.service import Observability
from api.observability.usage import seconds_until_utc_midnight
from api.schemas import MessageCreate, MessagePublic, ThreadHistoryPublic, ThreadPublic
from api.sse import sse_response
from api.thread_store import ThreadStore
from api.turns import pending_approvals, run_turn, thread_config
from graph.context import SupportContext
from graph.llm.observer import report_calls_to
from graph.messages import text_of
from tools.audit import AuditLog

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/threads", tags=["threads"])


class InvalidMessage(ApiError):
    """The message is empty or too long; nothing was stored."""

    status_code = 422
    code = "invalid_message"


class InvalidThreadId(ApiError):
    """A thread to create was not named by a canonical UUID; nothing was stored."""

    status_code = 422
    code = "invalid_thread_id"


def _canonical_uuid(text: str) -> bool:
    """Whether `text` is a UUID as the API writes one (lowercase, with dashes).

    A thread's id keys its checkpoints as written, so a new one must be written
    the one way every later request writes it.
    """
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ThreadPublic)
async def create_thread(
    request: Request, user: CurrentCustomer, threads: ThreadStoreDep
) -> ThreadPublic:
    """Start a conversation owned by the caller."""
    await request.app.state.rate_limiter.check_customer(user.subject)
    record = await threads.create(user.subject)
    return ThreadPublic(thread_id=record.thread_id, created_at=record.created_at)


@router.get("/{thread_id}/messages", response_model=ThreadHistoryPublic)
async def list_messages(
    thread_id: str, user: CurrentCustomer, threads: ThreadStoreDep, graph: GraphDep
) -> ThreadHistoryPublic:
    """Return the conversation so far (user and assistant messages)."""
    await _owned(threads, thread_id, user.subject)
    snapshot = await graph.aget_state(thread_config(thread_id))
    messages = [
        public
        for message in snapshot.values.get("messages", [])
        if (public := _public_message(message)) is not None
    ]
    # A run paused for staff approval has not written its reply yet: show the note.
    active = snapshot.values.get("active_agent", "triage")
    messages += [
        MessagePublic(
            id=f"note-{a['approval_id']}", role="assistant", agent=active, content=a["message"]
        )
        for a in pending_approvals(snapshot)
    ]
    return ThreadHistoryPublic(
        thread_id=thread_id,
        active_agent=snapshot.values.get("active_agent", "triage"),
        messages=messages,
    )


@router.get(
    "/{thread_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Approval changes."}},
)
async def thread_events(
    thread_id: str,
    request: Request,
    user: CurrentCustomer,
    settings: SettingsDep,
    threads: ThreadStoreDep,
) -> EventSourceResponse:
    """Stream the changes to this conversation's approvals as staff act on them.

    The widget listens while a request waits for a team member: `ready {live}`
    first; `approval {approval_id, status, thread_id, answered}` when one is
    requested, decided, expires, gets its outcome, and once that outcome is in
    the conversation (`answered`: read the messages then); `down` while the
    server does not hear changes (poll meanwhile) and `resync` when it does
    again (read the messages once).
    """
    await _owned(threads, thread_id, user.subject)
    return approval_stream(
        request.app.state.approval_events,
        settings,
        poll_instead=f"GET /v1/threads/{thread_id}/messages",
        thread_id=thread_id,
    )


@router.post(
    "/{thread_id}/messages",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The turn's events."}},
)
async def post_message(
    thread_id: str,
    body: MessageCreate,
    request: Request,
    user: CurrentCustomer,
    settings: SettingsDep,
    threads: ThreadStoreDep,
    graph: GraphDep,
) -> EventSourceResponse:
    """Send a message; the reply streams back as server-sent events."""
    content = body.content.strip()
    if not content:
        raise InvalidMessage("The message is empty: type something before sending.")
    if len(content) > settings.max_message_chars:
        raise InvalidMessage(
            f"The message is {len(content)} characters long; the limit is "
            f"{settings.max_message_chars}. Shorten it or split it in two."
        )
    if body.create_thread and not _canonical_uuid(thread_id):
        raise InvalidThreadId(
            f"A new thread's id must be a random UUID written in lowercase with dashes, "
            f"like {uuid.uuid4()}; got {thread_id!r}."
        )
    await request.app.state.rate_limiter.check_customer(user.subject)
    observability: Observability = request.app.state.observability
    await _within_daily_budget(observability, settings, user.subject)
    # The ownership check, the caller's identity and the claim (creating the thread
    # when asked): one round trip.
    claim = await threads.claim_turn(
        thread_id, body.client_message_id, owner=user.subject, create=body.create_thread
    )
    if claim.kind == "not_found" and body.create_thread:
        raise NotFound(
            f"Thread {thread_id!r} belongs to someone else: start the conversation with "
            "a new random id."
        )
    if claim.kind == "not_found":
        raise NotFound(f"Thread {thread_id!r} not found.")
    if claim.kind == "running":
        raise Conflict(
            "This message is already being answered; wait for the reply.",
            headers={"Retry-After": "2"},
        )
    if claim.kind == "busy":
        raise Conflict(
            "Another message of this conversation is being answered; send yours when it ends.",
            headers={"Retry-After": "2"},
        )
    if claim.kind == "replay":
        events = [event_from_payload(e["event"], e["data"]) for e in claim.events or []]
        return _sse(lambda _shutdown: _replay(events), settings, observability)

    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    context = SupportContext(
        customer_id=user.subject,
        thread_id=thread_id,
        role=user.role,
        request_id=getattr(request.state, "request_id", None) or str(uuid.uuid4()),
        caller_emails=claim.identity.emails,
        caller_order_ids=claim.identity.order_ids,
    )

    observer = observability.observe_turn(context, client_message_id=body.client_message_id)

    async def produce() -> None:
        recorded: list[dict] = []
        outcome = "completed"
        done: Event = DoneEvent()
        thread_id_var.set(thread_id)
        trace_id_var.set(str(observer.run_id))
        # This task's model and tool calls, in the graph's tasks too, are counted.
        report_calls_to(observer.telemetry)
        try:
            async for event in run_turn(
                graph,
                thread_id=thread_id,
                content=content,
                context=context,
                timeout_seconds=settings.turn_timeout_seconds,
                observer=observer,
                resume=claim.resume,
                guards=request.app.state.guards,
                checkpoint_every=settings.checkpoint_every,
                new_thread=claim.created,
            ):
                if isinstance(event, ErrorEvent):
                    outcome = "failed"
                if isinstance(event, DoneEvent):
                    done = event  # sent once the turn and its usage are recorded
                    continue
                if not isinstance(event, TokenEvent):
                    recorded.append({"event": event.event, "data": event_payload(event)})
                queue.put_nowait(event)
                if isinstance(event, GuardEvent):
                    await _audit_guard(request, context, event)
        finally:
            try:
                # Two rows on two connections at once: the turn's outcome (which
                # frees the thread) and its usage (`finish` never raises).
                await asyncio.gather(
                    threads.finish_turn(
                        thread_id,
                        body.client_message_id,
                        claim.lease or "",
                        status=outcome,  # type: ignore[arg-type]
                        events=recorded,
                    ),
                    observer.finish(),
                )
            finally:
                queue.put_nowait(done)

    # The turn runs on its own task: a client that disconnects mid-stream does
    # not cancel it, so the reply still lands in the history.
    task = asyncio.create_task(produce(), name=f"turn:{thread_id}")
    tasks: set[asyncio.Task] = request.app.state.turn_tasks
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return _sse(partial(_drain, queue), settings, observability)


async def _within_daily_budget(
    observability: Observability, settings: SettingsDep, customer_id: str
) -> None:
    """Refuse a new turn once the customer spent today's token budget (429)."""
    budget = settings.daily_token_budget
    if budget is None or observability.usage is None:
        return
    spent = await observability.usage.tokens_today(customer_id)
    if spent >= budget:
        observability.metrics.budget_exceeded.labels(budget="daily").inc()
        raise DailyBudgetExceeded(
            "You have reached today's usage limit for the assistant. Please try again "
            "tomorrow, or contact us another way if it is urgent.",
            headers={"Retry-After": str(seconds_until_utc_midnight())},
        )


async def _audit_guard(request: Request, context: SupportContext, event: GuardEvent) -> None:
    """Append a guard trip to the audit trail: which scanner, what it did, never the text."""
    try:
        await AuditLog(request.app.state.pool).append(
            actor=context.customer_id,
            actor_role=context.role,
            tool=f"guard:{event.stage}:{event.scanner}",
            arguments={},
            outcome=event.action,
            duration_ms=0,
            thread_id=context.thread_id,
            request_id=context.request_id,
        )
    except Exception:  # the audit row must never break the turn; it is logged instead
        logger.exception("could not audit a guard trip on thread %s", context.thread_id)


async def _owned(threads: ThreadStore, thread_id: str, customer_id: str) -> None:
    if await threads.get_owned(thread_id, customer_id) is None:
        raise NotFound(f"Thread {thread_id!r} not found.")


def _public_message(message: object) -> MessagePublic | None:
    if isinstance(message, HumanMessage):
        return MessagePublic(
            id=message.id, role="user", agent=None, content=text_of(message.content)
        )
    if isinstance(message, AIMessage) and not message.tool_calls:
        text = text_of(message.content)
        if text:
            return MessagePublic(id=message.id, role="assistant", agent=message.name, content=text)
    return None


async def _drain(
    queue: asyncio.Queue[Event | None], shutdown: anyio.Event
) -> AsyncIterator[list[Event]]:
    """Yield a turn's events up to `done`; on server shutdown, a farewell instead of silence.

    Events are yielded in batches: all that are queued when the stream is ready to
    send, so a burst (the guarded reply's segments, say) is one write, not one per
    event; nothing waits for a batch to fill. One watcher per stream puts `None`
    in the queue when the server stops (racing every event against the shutdown
    cost two tasks an event, ~70 a turn), so the events already queued go out first.
    """

    async def watch() -> None:
        await shutdown.wait()
        queue.put_nowait(None)

    watcher = asyncio.create_task(watch())
    try:
        while True:
            batch: list[Event] = []
            item = await queue.get()
            while item is not None:
                batch.append(item)
                if isinstance(item, DoneEvent):
                    yield batch
                    return
                if queue.empty():
                    break
                item = queue.get_nowait()
            if item is None:
                farewell = ErrorEvent(
                    code="server_restarting",
                    message="The service is restarting. Your reply will be in the "
                    "conversation when you reload.",
                )
                yield [*batch, farewell, DoneEvent()]
                return
            yield batch
    finally:
        watcher.cancel()


async def _replay(events: list) -> AsyncIterator[list[Event]]:
    yield [*events, DoneEvent(replayed=True)]


def _sse(
    events: Callable[[anyio.Event], AsyncIterator[list[Event]]],
    settings: SettingsDep,
    observability: Observability,
) -> EventSourceResponse:
    """Stream `events(shutdown)` as SSE, each batch in one write; `shutdown` is set on stop."""
    shutdown = anyio.Event()
    streams = observability.metrics.active_streams

    async def frames() -> AsyncIterator[bytes]:
        sequence = 0
        streams.inc()
        try:
            async for batch in events(shutdown):
                chunk = []
                for event in batch:
                    sequence += 1
                    chunk.append(
                        ServerSentEvent(
                            data=event_json(event),
                            event=event.event,
                            id=str(sequence),
                            sep=EventSourceResponse.DEFAULT_SEPARATOR,
                        ).encode()
                    )
                yield b"".join(chunk)
        finally:
            streams.dec()

    return sse_response(frames(), settings, shutdown)
