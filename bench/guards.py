"""Benchmark the guards: latency, injection detection on the held-out split, PII precision/recall.

Run with: python -m bench.guards

Prints a table and writes `bench/results/guards.json`. Uses the offline default
set (no model-based llm-guard scanners). Latency is measured warm (models
loaded), per message, on this machine's CPU; "with embedding" includes the one
MiniLM embedding per message, "embedding cached" is what the guard adds when
the turn's other consumers (intent, retrieval) already embedded the message.
"""

from __future__ import annotations

import json
import logging
import platform
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from api.heap import freeze_startup_heap
from graph.guards import GuardConfig, OutputContext, build_guards
from graph.guards.injection import HELDOUT_FILE, load_corpus
from graph.guards.output_guard import _ToolResultReading
from graph.guards.pii import ENTITY_LABELS

ROOT = Path(__file__).parent
PII_FILE = ROOT / "data" / "pii_messages.jsonl"
RESULTS = ROOT / "results" / "guards.json"
REPLY = (
    "Thanks for waiting! I checked order 1042: it left our warehouse on Monday and should "
    "arrive by Thursday. If it doesn't, reply here and I'll open a claim with the courier, "
    "and you can also track it at https://help.example-store.com/track. Anything else?"
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _quiet() -> None:
    from llm_guard.util import configure_logger

    configure_logger(log_level="ERROR")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


def bench_input(guards, messages: list[str], passes: int = 3) -> dict[str, float]:
    """Time `InputGuard.scan` per message: `passes` cold passes (embedding cache
    cleared before each), then one warm pass; percentiles pool every pass."""
    embedder = guards.injection.embedder
    cold, warm = [], []
    for _ in range(passes):
        embedder._embed_query_cached.cache_clear()
        for text in messages:
            start = time.perf_counter()
            guards.input.scan(text)
            cold.append((time.perf_counter() - start) * 1000)
    for text in messages:
        start = time.perf_counter()
        guards.input.scan(text)
        warm.append((time.perf_counter() - start) * 1000)
    return {
        "messages": len(messages),
        "passes": passes,
        "with_embedding_p50_ms": round(statistics.median(cold), 2),
        "with_embedding_p95_ms": round(_pct(cold, 0.95), 2),
        "embedding_cached_p50_ms": round(statistics.median(warm), 2),
        "embedding_cached_p95_ms": round(_pct(warm, 0.95), 2),
        "query_encoder": getattr(embedder.query_encoder(), "name", "encode"),
    }


def _in_worker(work: Callable[[str], object], items: list[str], busy: bool) -> list[float]:
    """Milliseconds of `work(item)` in a worker thread, the calling thread waiting
    for it idle or busy running Python (a loaded event loop) meanwhile."""
    timings = []
    with ThreadPoolExecutor(max_workers=1) as worker:
        for item in items:
            start = time.perf_counter()
            done = worker.submit(work, item)
            spins = 0
            while busy and not done.done():
                spins += sum(i * i for i in range(200))
            done.result()
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def _alone_and_beside(
    work: Callable[[str], object], items: list[str], fresh: Callable[[], None]
) -> dict[str, float]:
    fresh()
    alone = _in_worker(work, items, busy=False)
    fresh()
    beside = _in_worker(work, items, busy=True)
    return {
        "alone_p50_ms": round(statistics.median(alone), 2),
        "alone_p95_ms": round(_pct(alone, 0.95), 2),
        "beside_busy_p50_ms": round(statistics.median(beside), 2),
        "beside_busy_p95_ms": round(_pct(beside, 0.95), 2),
    }


def bench_beside_busy_thread(guards, messages: list[str]) -> dict[str, float]:
    """Time `InputGuard.scan` in a worker thread, as the service runs it, with the
    calling thread idle (waiting) and then busy running Python (a loaded event
    loop). Each time the scan lets go of the GIL (tiktoken, a tokenizer, an ONNX
    run, a `regex` match), the busy thread takes it, and getting it back can wait
    out the switch interval (5 ms)."""
    embedder = guards.injection.embedder
    # Each message new, as in load (a).
    timings = _alone_and_beside(
        guards.input.scan, messages, embedder._embed_query_cached.cache_clear
    )
    return {"messages": len(messages), **timings}


def order_results(count: int) -> list[str]:
    """`count` tool results shaped like an order lookup, each with passages never seen
    before (a real store's orders differ; the benchmark turn's repeat)."""
    return [
        json.dumps(
            {
                "order_id": 5000 + n,
                "items": [
                    {"name": f"Merino wool hiking socks, pack {n}", "quantity": 2},
                    {"name": f"Waterproof trail jacket in colour {n}", "quantity": 1},
                ],
                "note": f"Payment {n} was captured twice after the bank timed out.",
            }
        )
        for n in range(count)
    ]


def bench_tool_results(guards, count: int = 40) -> dict[str, object]:
    """Judge tool results with new passages in a worker thread, alone and beside a
    busy thread: the service's path (`check_tool_result`: each passage through the
    cached single-text encoder) against the passages as one PyTorch batch
    (`LocalEmbedder.embed`, the path before 2026-12-06), both from cold caches."""
    embedder = guards.injection.embedder
    results = order_results(count)

    def fresh() -> None:
        embedder._embed_query_cached.cache_clear()
        guards.injection._scores.clear()

    def torch_batch(result: str) -> object:
        # The passages the service's check picks, as one batch.
        return embedder.embed(_ToolResultReading.of(result).candidates)

    return {
        "results": count,
        "service": _alone_and_beside(guards.output.check_tool_result, results, fresh),
        "torch_batch": _alone_and_beside(torch_batch, results, fresh),
    }


def bench_stream(guards, runs: int = 30) -> dict[str, float]:
    """Time from the first token fed to the first release, excluding model time."""
    tokens = [REPLY[i : i + 4] for i in range(0, len(REPLY), 4)]
    context = OutputContext.build(caller_order_ids=[1042], system_prompts=["You are Switchboard."])
    first, per_segment, held = [], [], []
    for _ in range(runs):
        stream = guards.output.new_stream(context)
        scan_ms, first_done = 0.0, False
        for n, token in enumerate(tokens, 1):
            start = time.perf_counter()
            releases = stream.feed(token)
            elapsed = (time.perf_counter() - start) * 1000
            scan_ms += elapsed
            if releases:
                per_segment.append(elapsed)
                if not first_done:
                    first.append(scan_ms)
                    held.append(n)
                    first_done = True
        stream.finish()
    return {
        "first_release_scan_p50_ms": round(statistics.median(first), 2),
        "first_release_scan_p95_ms": round(_pct(first, 0.95), 2),
        "segment_scan_p95_ms": round(_pct(per_segment, 0.95), 2),
        "tokens_held_before_first_release": held[0],
    }


def bench_injection(guards) -> dict[str, object]:
    rows = load_corpus(HELDOUT_FILE)
    detector = guards.injection
    scores = [detector.score(r.text) for r in rows]
    flagged = [s >= detector.threshold for s in scores]
    attacks = [f for f, r in zip(flagged, rows, strict=True) if r.label]
    benign = [f for f, r in zip(flagged, rows, strict=True) if not r.label]
    per_family: dict[str, str] = {}
    for label, family in sorted({(r.label, r.family) for r in rows}, reverse=True):
        hits = [
            f for f, r in zip(flagged, rows, strict=True) if (r.label, r.family) == (label, family)
        ]
        per_family[f"{'attack' if label else 'benign'}:{family}"] = f"{sum(hits)}/{len(hits)}"
    return {
        "threshold": detector.threshold,
        "attacks": len(attacks),
        "benign": len(benign),
        "detection_rate": round(sum(attacks) / len(attacks), 4),
        "false_positive_rate": round(sum(benign) / len(benign), 4),
        "flagged_per_family": per_family,
    }


def bench_pii(guards) -> dict[str, dict[str, float]]:
    label_of = {v: v for v in ENTITY_LABELS.values()}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for line in PII_FILE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = [(e["type"], e["start"], e["end"]) for e in row["entities"]]
        found = [
            (label_of.get(ENTITY_LABELS[e.entity_type], e.entity_type), e.start, e.end)
            for e in guards.pii.find(row["text"])
        ]
        matched_gold = set()
        for kind, start, end in found:
            hit = next(
                (
                    g
                    for g in gold
                    if g[0] == kind and g[1] < end and start < g[2] and g not in matched_gold
                ),
                None,
            )
            if hit is None:
                fp[kind] += 1
            else:
                matched_gold.add(hit)
                tp[kind] += 1
        for g in gold:
            if g not in matched_gold:
                fn[g[0]] += 1
    out = {}
    for kind in sorted(set(tp) | set(fp) | set(fn)):
        precision = tp[kind] / (tp[kind] + fp[kind]) if tp[kind] + fp[kind] else 0.0
        recall = tp[kind] / (tp[kind] + fn[kind]) if tp[kind] + fn[kind] else 0.0
        out[kind] = {
            "support": tp[kind] + fn[kind],
            "precision": round(precision, 3),
            "recall": round(recall, 3),
        }
    return out


def main() -> None:
    """Run every benchmark, print the table, write the JSON results."""
    import torch

    # One intra-op thread: on a shared 2-core machine, torch's default (one
    # thread per core) made a single-message embedding 10x slower under load.
    torch.set_num_threads(1)
    _quiet()
    with tempfile.TemporaryDirectory() as tmp:
        config = GuardConfig(data_dir=Path(tmp))
        start = time.perf_counter()
        guards = build_guards(config)
        startup_s = time.perf_counter() - start
        freeze_startup_heap()  # as the service does once it has started (api/heap.py)
        heldout = [r.text for r in load_corpus(HELDOUT_FILE)]
        pii_texts = [json.loads(x)["text"] for x in PII_FILE.read_text().splitlines()]
        results = {
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "torch_threads": torch.get_num_threads(),
            "startup_s": round(startup_s, 2),
            "input": bench_input(guards, heldout + pii_texts[:100]),
            "input_beside_busy_thread": bench_beside_busy_thread(guards, heldout[:80]),
            "tool_results": bench_tool_results(guards),
            "output_stream": bench_stream(guards),
            "injection_heldout": bench_injection(guards),
            "pii": bench_pii(guards),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    inp, out, inj = results["input"], results["output_stream"], results["injection_heldout"]
    busy = results["input_beside_busy_thread"]
    tool, batch = results["tool_results"]["service"], results["tool_results"]["torch_batch"]
    n_tool = results["tool_results"]["results"]
    print(f"{'metric':<52}{'value':>14}")
    print("-" * 66)
    rows = [
        ("start-up (build_guards, cold caches) s", results["startup_s"]),
        (
            f"input p50 / p95 ms, with embedding (n={inp['messages']}x{inp['passes']})",
            f"{inp['with_embedding_p50_ms']} / {inp['with_embedding_p95_ms']}",
        ),
        (
            "input p50 / p95 ms, embedding cached",
            f"{inp['embedding_cached_p50_ms']} / {inp['embedding_cached_p95_ms']}",
        ),
        (
            f"input in a worker, p50 / p95 ms, alone (n={busy['messages']})",
            f"{busy['alone_p50_ms']} / {busy['alone_p95_ms']}",
        ),
        (
            "input in a worker, p50 / p95 ms, beside a busy thread",
            f"{busy['beside_busy_p50_ms']} / {busy['beside_busy_p95_ms']}",
        ),
        (
            f"tool result, new passages, p50 / p95 ms, alone (n={n_tool})",
            f"{tool['alone_p50_ms']} / {tool['alone_p95_ms']}",
        ),
        (
            "tool result, new passages, beside a busy thread",
            f"{tool['beside_busy_p50_ms']} / {tool['beside_busy_p95_ms']}",
        ),
        (
            "  its passages as a PyTorch batch, alone",
            f"{batch['alone_p50_ms']} / {batch['alone_p95_ms']}",
        ),
        (
            "  its passages as a PyTorch batch, beside busy",
            f"{batch['beside_busy_p50_ms']} / {batch['beside_busy_p95_ms']}",
        ),
        (
            "output: scan ms before first release p50 / p95",
            f"{out['first_release_scan_p50_ms']} / {out['first_release_scan_p95_ms']}",
        ),
        ("output: tokens held before first release", out["tokens_held_before_first_release"]),
        ("output: per-segment scan p95 ms", out["segment_scan_p95_ms"]),
        (
            f"injection held-out detection (n={inj['attacks']}, t={inj['threshold']})",
            inj["detection_rate"],
        ),
        (f"injection held-out false positives (n={inj['benign']})", inj["false_positive_rate"]),
    ]
    for kind, m in results["pii"].items():
        rows.append(
            (
                f"PII {kind} precision / recall (n={m['support']})",
                f"{m['precision']} / {m['recall']}",
            )
        )
    for name, value in rows:
        print(f"{name:<52}{value!s:>14}")
    print("held-out flagged per family:", inj["flagged_per_family"])
    print(f"wrote {RESULTS.relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main()
