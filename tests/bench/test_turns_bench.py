"""The turn benchmark measures what it says: the whole scripted turn, and the floors.

Timings are the benchmark's to print (`python -m bench.turns`); this only checks
that a run completes and measured a full turn, not how fast it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from bench import turns
from bench.scripted import BenchScriptedModel


async def test_the_benchmark_times_the_full_turn_and_the_bare_floors(
    postgres_server_url: str, shared_data_dir: Path
) -> None:
    result = await turns.run(2, 1, server=postgres_server_url, data_dir=shared_data_dir)

    # Guarded by the API before the run: triage (handing off in the same step), then
    # billing, which runs its read-only lookups (knowledge base, explain_charge) itself.
    assert result["full_turn_steps"] == 2
    for name in ("full_turn", "bare_langgraph", "bare_langgraph_exit", "bare_same_steps"):
        assert result[name]["p50_ms"] > 0
    assert result["turns"] == 2


async def test_a_turn_that_skips_the_scenario_fails_the_benchmark(
    postgres_server_url: str, shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model that answers at once: no handoff, no retrieval, no tool.
    monkeypatch.setattr(
        BenchScriptedModel, "_decide", lambda self, messages, tools: AIMessage(content="Hello.")
    )

    with pytest.raises(RuntimeError, match="did not run in full"):
        await turns.run(1, 0, server=postgres_server_url, data_dir=shared_data_dir)
