"""Run the evaluation: every case through the real graph on a scratch demo store.

Run with: switchboard eval [--quick] [--limit N] [--category C] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import get_usage_metadata_callback

from api.settings import Settings
from evals.dataset import CATEGORIES, Case, load_cases
from evals.gate import check, load_thresholds
from evals.harness import EvalService, eval_settings, running_service, scratch_database
from evals.judge import judge_case
from evals.langsmith_upload import upload_if_tracing
from evals.report import build_report, render_markdown
from evals.scoring import CaseResult, score

DEFAULT_OUT = Path("evals/reports")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def select(
    cases: list[Case], *, quick: bool, limit: int | None, category: str | None
) -> list[Case]:
    """Pick the cases to run: a category, a stratified sample (`--quick`), or the first N."""
    if category:
        cases = [c for c in cases if c.category == category]
    if quick:
        # Every 6th case of each category keeps every kind represented.
        cases = [c for cat in CATEGORIES for c in [x for x in cases if x.category == cat][::6]]
    return cases[:limit] if limit else cases


async def run_case(
    service: EvalService, case: Case, prices: tuple[float, float], judge: bool
) -> CaseResult:
    """Hold one case's conversation and score it."""
    with get_usage_metadata_callback() as usage:
        conversation = await service.converse(case.customer, case.turns)
    result = await score(case, conversation, service)
    totals = {"input_tokens": 0, "output_tokens": 0}
    for meta in usage.usage_metadata.values():
        totals["input_tokens"] += int(meta.get("input_tokens", 0))
        totals["output_tokens"] += int(meta.get("output_tokens", 0))
    result.tokens = totals
    result.cost_usd = round(
        (totals["input_tokens"] * prices[0] + totals["output_tokens"] * prices[1]) / 1e6, 6
    )
    if judge:
        result.judge = await judge_case(service, case, conversation)
    return result


async def evaluate(
    cases: list[Case],
    *,
    server_url: str,
    data_dir: Path,
    concurrency: int = 8,
    prices: tuple[float, float] = (0.0, 0.0),
    judge: bool = False,
    settings_overrides: dict[str, object] | None = None,
) -> tuple[list[CaseResult], dict[str, Any]]:
    """Run `cases` on a fresh scratch copy of the demo store; return results and run facts."""
    started = time.perf_counter()
    async with scratch_database(server_url) as url:
        settings = eval_settings(url, data_dir, **(settings_overrides or {}))
        async with running_service(settings) as service:
            ready = time.perf_counter() - started
            use_judge = judge and settings.model != "offline"
            gate = asyncio.Semaphore(concurrency)

            async def one(case: Case) -> CaseResult:
                async with gate:
                    return await run_case(service, case, prices, use_judge)

            results = await asyncio.gather(*(one(c) for c in cases))
    meta = {
        "model": settings.model,
        "cases_run": len(cases),
        "concurrency": concurrency,
        "startup_s": round(ready, 2),
        "wall_s": round(time.perf_counter() - started, 2),
        "judge": "on" if use_judge else "skipped (offline model or --judge not given)",
    }
    return list(results), meta


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, write the reports, and apply the gate; return the exit code."""
    parser = argparse.ArgumentParser(prog="switchboard eval", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every 6th case per category")
    parser.add_argument("--limit", type=int, help="run at most N cases")
    parser.add_argument("--category", choices=CATEGORIES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data-dir", type=Path, default=Path(".data/eval"))
    parser.add_argument("--judge", action="store_true", help="LLM-as-judge (real model only)")
    parser.add_argument("--price-in", type=float, default=0.0, help="USD per 1M input tokens")
    parser.add_argument("--price-out", type=float, default=0.0, help="USD per 1M output tokens")
    parser.add_argument("--no-gate", action="store_true", help="report only, exit 0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    cases = select(load_cases(), quick=args.quick, limit=args.limit, category=args.category)
    results, meta = asyncio.run(
        evaluate(
            cases,
            server_url=server,
            data_dir=args.data_dir,
            concurrency=args.concurrency,
            prices=(args.price_in, args.price_out),
            judge=args.judge,
        )
    )
    report = build_report(results, meta=meta)
    full_run = not (args.quick or args.limit or args.category)
    misses = check(report["metrics"], load_thresholds())
    report["gate"] = {"applied": full_run and not args.no_gate, "misses": misses}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(json.dumps(report, indent=2, default=str))
    markdown = render_markdown(report, misses)
    (args.out / "eval.md").write_text(markdown)
    print(markdown.split("## Failed cases")[0])
    meta["langsmith"] = upload_if_tracing(Settings(), cases, results)
    print(
        f"reports: {args.out / 'eval.md'}, {args.out / 'eval.json'}; langsmith: {meta['langsmith']}"
    )
    if misses and report["gate"]["applied"]:
        print("eval gate FAILED:\n  " + "\n  ".join(misses))
        return 1
    return 0
