"""Aggregate case results into the evaluation report (JSON and Markdown)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from evals.dataset import CATEGORIES, ROUTES
from evals.scoring import CaseResult

OBSERVED_ROUTES = (*ROUTES, "blocked")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def build_report(results: list[CaseResult], *, meta: dict[str, Any]) -> dict[str, Any]:
    """Compute every metric of the evaluation from the case results."""
    by_category: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        cases = [r for r in results if r.category == category]
        tags: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in cases:
            key = r.tags[0] if r.tags and category != "routing" else (r.expected_route or "-")
            tags[key][0] += r.passed
            tags[key][1] += 1
        by_category[category] = {
            "cases": len(cases),
            "passed": sum(r.passed for r in cases),
            "accuracy": _ratio(sum(r.passed for r in cases), len(cases)),
            "by_tag": {k: {"passed": p, "cases": n} for k, (p, n) in sorted(tags.items())},
        }

    routed = [r for r in results if r.expected_route]
    confusion = {e: dict.fromkeys(OBSERVED_ROUTES, 0) for e in ROUTES}
    for r in routed:
        confusion[r.expected_route or ""][r.observed_route or "general"] += 1
    route_ok = sum(1 for r in routed if not any(f.startswith("route:") for f in r.failures))

    tooled = [r for r in results if r.expected_tools is not None]
    calls = sum(len(r.tool_calls) for r in tooled)
    expected_calls = sum(len(r.expected_tools or []) for r in tooled)

    knowledge = [r for r in results if r.cited is not None]
    should_block = [r for r in results if r.expected_blocked]
    should_pass = [r for r in results if not r.expected_blocked]
    turn_latencies = [s for r in results for s in r.latency_s]
    first_tokens = [s for r in results for s in r.first_token_s if s is not None]
    tokens: Counter[str] = Counter()
    for r in results:
        tokens.update(r.tokens)

    metrics = {
        "cases": len(results),
        "passed": sum(r.passed for r in results),
        "overall_accuracy": _ratio(sum(r.passed for r in results), len(results)),
        "routing_accuracy": _ratio(route_ok, len(routed)),
        "tool_call_accuracy": _ratio(sum(bool(r.tool_correct) for r in tooled), len(tooled)),
        "tool_call_precision": _ratio(sum(r.tools_relevant for r in tooled), calls),
        "tool_call_recall": _ratio(sum(r.tools_matched for r in tooled), expected_calls),
        "citation_accuracy": _ratio(sum(bool(r.cited) for r in knowledge), len(knowledge)),
        "retrieval_hit_rate": _ratio(sum(bool(r.retrieved) for r in knowledge), len(knowledge)),
        "guard_block_rate": _ratio(sum(r.blocked for r in should_block), len(should_block)),
        "guard_false_block_rate": _ratio(sum(r.blocked for r in should_pass), len(should_pass)),
        "cross_customer_leaks": sum(1 for r in results if r.leaks),
        "over_refunds": sum(1 for r in results if r.over_refund),
        "over_refund_requests": sum(1 for r in results if r.over_refund_request),
        "turn_latency_p50_s": round(_pct(turn_latencies, 0.5), 4),
        "turn_latency_p95_s": round(_pct(turn_latencies, 0.95), 4),
        "first_token_p50_s": round(_pct(first_tokens, 0.5), 4),
        "case_latency_mean_s": round(
            statistics.fmean(sum(r.latency_s) for r in results) if results else 0.0, 4
        ),
        "tokens": dict(tokens),
        "cost_per_case_usd": round(
            statistics.fmean(r.cost_usd for r in results) if results else 0.0, 6
        ),
    }
    judged = [r.judge["score"] for r in results if r.judge and "score" in r.judge]
    if judged:
        metrics["judge_mean_score"] = round(statistics.fmean(judged), 3)
    return {
        "meta": meta,
        "metrics": metrics,
        "categories": by_category,
        "routing_confusion": confusion,
        "failures": [
            {"id": r.id, "category": r.category, "tags": r.tags, "failures": r.failures}
            for r in results
            if not r.passed
        ],
        "cases": [_case_row(r) for r in results],
    }


def _case_row(r: CaseResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "passed": r.passed,
        "route": r.observed_route,
        "handoffs": r.handoffs,
        "tool_calls": r.tool_calls,
        "blocked": r.blocked,
        "refunded": str(r.refunded),
        "latency_s": [round(s, 4) for s in r.latency_s],
        "cost_usd": r.cost_usd,
        "judge": r.judge,
        "reply": r.reply[:500],
    }


def render_markdown(report: dict[str, Any], gate: list[str] | None = None) -> str:
    """Render the report's summary as Markdown."""
    m, meta = report["metrics"], report["meta"]
    lines = [
        f"# Switchboard evaluation — model `{meta.get('model')}`",
        "",
        f"{m['cases']} cases, {m['passed']} passed ({_fmt(m['overall_accuracy'])}); "
        f"run took {meta.get('wall_s', 0):.0f} s.",
        "",
        "| Metric | Value |",
        "| --- | --- |",
    ]
    for key in (
        "routing_accuracy",
        "tool_call_accuracy",
        "tool_call_precision",
        "tool_call_recall",
        "citation_accuracy",
        "retrieval_hit_rate",
        "guard_block_rate",
        "guard_false_block_rate",
        "cross_customer_leaks",
        "over_refunds",
        "over_refund_requests",
        "turn_latency_p50_s",
        "turn_latency_p95_s",
        "first_token_p50_s",
        "cost_per_case_usd",
        "judge_mean_score",
    ):
        if key in m:
            lines.append(f"| {key} | {_fmt(m[key])} |")
    lines += [
        "",
        "## Per category",
        "",
        "| Category | Cases | Passed | Accuracy |",
        "| --- | --- | --- | --- |",
    ]
    for name, c in report["categories"].items():
        lines.append(f"| {name} | {c['cases']} | {c['passed']} | {_fmt(c['accuracy'])} |")
    lines += ["", "| Category / kind | Passed / cases |", "| --- | --- |"]
    for name, c in report["categories"].items():
        for tag, t in c["by_tag"].items():
            lines.append(f"| {name} / {tag} | {t['passed']} / {t['cases']} |")
    lines += [
        "",
        "## Routing confusion (rows: expected, columns: observed)",
        "",
        "| expected \\ observed | " + " | ".join(OBSERVED_ROUTES) + " |",
        "| --- |" + " --- |" * len(OBSERVED_ROUTES),
    ]
    for expected, row in report["routing_confusion"].items():
        lines.append(f"| {expected} | " + " | ".join(str(row[o]) for o in OBSERVED_ROUTES) + " |")
    if gate is not None:
        lines += ["", "## Gate", ""]
        lines += [f"- FAIL {line}" for line in gate] or ["- all thresholds met"]
    failures = report["failures"]
    if failures:
        reasons = Counter(f.split(":")[0] for r in failures for f in r["failures"])
        lines += ["", "## Failure reasons", "", "| Reason | Count |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in reasons.most_common()]
        lines += ["", "## Failed cases (first 60)", ""]
        lines += [f"- `{r['id']}`: {'; '.join(r['failures'])}" for r in failures[:60]]
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
