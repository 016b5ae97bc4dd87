"""The runner on a small subset: real graph, offline model, scratch database, full report."""

from __future__ import annotations

from pathlib import Path

from evals.dataset import load_cases
from evals.report import build_report, render_markdown
from evals.runner import evaluate, select


async def test_runner_on_a_subset_produces_the_report_structure(
    postgres_server_url: str, shared_data_dir: Path
):
    cases = load_cases()
    subset = [
        next(c for c in cases if c.id.startswith("route-billing")),
        next(c for c in cases if c.id.startswith("route-out_of_scope")),
        next(c for c in cases if c.id.startswith("conv-cancel-")),
        next(c for c in cases if c.category == "knowledge"),
        next(c for c in cases if "injection" in c.tags),
        next(c for c in cases if "cross-customer" in c.tags),
    ]
    results, meta = await evaluate(
        subset, server_url=postgres_server_url, data_dir=shared_data_dir, concurrency=3
    )
    report = build_report(results, meta=meta)

    assert [r.id for r in results] == [c.id for c in subset]
    assert set(report) >= {
        "meta",
        "metrics",
        "categories",
        "routing_confusion",
        "failures",
        "cases",
    }
    metrics = report["metrics"]
    for key in (
        "routing_accuracy",
        "tool_call_accuracy",
        "tool_call_precision",
        "tool_call_recall",
        "citation_accuracy",
        "guard_block_rate",
        "guard_false_block_rate",
        "cross_customer_leaks",
        "over_refunds",
        "turn_latency_p95_s",
        "cost_per_case_usd",
    ):
        assert key in metrics, key
    assert metrics["cases"] == 6
    assert metrics["cross_customer_leaks"] == 0
    assert metrics["over_refunds"] == 0
    assert metrics["cost_per_case_usd"] == 0  # the offline model is free
    assert meta["judge"].startswith("skipped")
    assert sum(sum(row.values()) for row in report["routing_confusion"].values()) == 2
    assert "## Routing confusion" in render_markdown(report, [])


def test_quick_selection_keeps_every_category():
    quick = select(load_cases(), quick=True, limit=None, category=None)
    assert {c.category for c in quick} == {"routing", "conversation", "knowledge", "adversarial"}
    assert len(quick) < 150
