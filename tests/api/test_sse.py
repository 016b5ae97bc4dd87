"""Open SSE streams on server shutdown: a stream stops waiting, a turn's stream says farewell."""

from __future__ import annotations

import asyncio

import anyio

from api.events import DoneEvent, ErrorEvent, Event, TokenEvent
from api.routes.threads import _drain
from api.sse import unless_shutdown


async def test_the_next_item_is_returned_when_it_comes_before_shutdown() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait("approval")

    assert await unless_shutdown(queue.get(), anyio.Event()) == "approval"


async def test_shutdown_stops_the_wait_and_leaves_the_item_for_no_one() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    shutdown = anyio.Event()
    waiting = asyncio.create_task(unless_shutdown(queue.get(), shutdown))
    await asyncio.sleep(0.01)

    shutdown.set()

    assert await asyncio.wait_for(waiting, 1) is None
    queue.put_nowait("late")
    assert queue.get_nowait() == "late", "the cancelled get took nothing"


async def test_a_turn_stream_passes_events_then_says_farewell_on_shutdown() -> None:
    shutdown = anyio.Event()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    queue.put_nowait(TokenEvent(delta="Hello", agent="triage"))
    # ...and the model is still working when the server stops.

    seen: list[Event] = []
    async for batch in _drain(queue, shutdown):
        seen += batch
        if len(seen) == 1:
            shutdown.set()

    assert seen[0] == TokenEvent(delta="Hello", agent="triage")
    assert isinstance(seen[1], ErrorEvent) and seen[1].code == "server_restarting"
    assert isinstance(seen[2], DoneEvent)
    assert len(seen) == 3


async def test_events_already_queued_go_out_before_the_farewell() -> None:
    shutdown = anyio.Event()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    stream = _drain(queue, shutdown)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the stream waits for the turn
    queue.put_nowait(TokenEvent(delta="Hello", agent="triage"))
    queue.put_nowait(TokenEvent(delta=" there", agent="triage"))
    shutdown.set()
    seen = [e for batch in [await first] + [b async for b in stream] for e in batch]
    assert [type(e) for e in seen] == [TokenEvent, TokenEvent, ErrorEvent, DoneEvent]


async def test_a_turn_stream_that_ends_first_ends_without_farewell() -> None:
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    queue.put_nowait(DoneEvent())
    queue.put_nowait(TokenEvent(delta="after done", agent="triage"))
    assert [b async for b in _drain(queue, anyio.Event())] == [[DoneEvent()]]


async def test_events_queued_together_go_out_together_and_none_waits_for_company() -> None:
    """A burst is one write; an event alone is sent at once, not held for a batch."""
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    stream = _drain(queue, anyio.Event())
    hello, there = TokenEvent(delta="Hello", agent="triage"), TokenEvent(delta=" there", agent="x")
    queue.put_nowait(hello)
    queue.put_nowait(there)
    assert await anext(stream) == [hello, there]

    queue.put_nowait(hello)
    assert await asyncio.wait_for(anext(stream), 1) == [hello]

    queue.put_nowait(there)
    queue.put_nowait(DoneEvent())
    queue.put_nowait(hello)  # after done: never sent
    assert [b async for b in stream] == [[there, DoneEvent()]]
