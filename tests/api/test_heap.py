"""Start-up objects are kept out of the garbage collector's passes, and its young passes are few."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from api.heap import freeze_startup_heap, young_collection_threshold
from api.settings import Settings
from tests.conftest import make_settings, running_app
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


def test_the_young_threshold_holds_inside_the_block_and_the_old_ones_come_back() -> None:
    before = gc.get_threshold()

    with pytest.raises(RuntimeError), young_collection_threshold(12_345):
        assert gc.get_threshold() == (12_345, *before[1:])
        raise RuntimeError("the block failed")

    assert gc.get_threshold() == before


async def test_a_serving_app_collects_at_its_configured_young_threshold(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_GC_YOUNG_THRESHOLD=4321)
    before = gc.get_threshold()

    async with running_app(settings, ScriptedChatModel()) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_threshold()[0] == 4321

    assert gc.get_threshold() == before


def test_the_young_threshold_must_be_positive(database_url: str, shared_data_dir: Path) -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_GC_YOUNG_THRESHOLD"):
        make_settings(database_url, shared_data_dir, SWITCHBOARD_GC_YOUNG_THRESHOLD=0)
