"""The GIL benchmark times real round trips and leaves no busy thread behind."""

from __future__ import annotations

import threading

from bench.gil_convoy import SPINNER_NAME, round_trip_ms


async def test_the_benchmark_times_round_trips_beside_busy_threads_then_stops_them(
    database_url: str,
) -> None:
    alone = await round_trip_ms(database_url, queries=20, busy_threads=0)
    beside_two = await round_trip_ms(database_url, queries=20, busy_threads=2)

    assert alone > 0 and beside_two > 0
    # By name: other tests' background threads may come and go meanwhile.
    assert not [t for t in threading.enumerate() if t.name.startswith(SPINNER_NAME)]
