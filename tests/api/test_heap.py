"""Start-up objects are kept out of the garbage collector's full passes."""

from __future__ import annotations

import gc

from api.heap import freeze_startup_heap
from api.settings import Settings
from tests.conftest import running_app
from tests.scripted_model import ScriptedChatModel


def test_freezing_moves_live_objects_out_of_the_collected_generations() -> None:
    survivor = [object() for _ in range(1000)]
    frozen = freeze_startup_heap()
    assert frozen >= len(survivor)
    # At most what was frozen: objects freed since (by other threads too) leave it.
    assert len(survivor) <= gc.get_freeze_count() <= frozen
    assert not any(obj is survivor for obj in gc.get_objects())  # frozen: not tracked any more


async def test_the_service_freezes_its_start_up_heap(settings: Settings) -> None:
    gc.unfreeze()
    async with running_app(settings, ScriptedChatModel()) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() > 100_000  # models, scanners, graph
