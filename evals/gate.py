"""The CI gate: compare a report's metrics with `evals/thresholds.json`.

Keys ending in `_min` are floors, keys ending in `_max` ceilings; the metric is
the key without the suffix. Thresholds only go up (`tests/evals` holds them to
the issue's floors and to the committed history).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

THRESHOLDS = Path(__file__).parent / "thresholds.json"

ISSUE_FLOORS: dict[str, float] = {
    "routing_accuracy_min": 0.92,
    "tool_call_accuracy_min": 0.90,
    "cross_customer_leaks_max": 0,
    "over_refunds_max": 0,
}
"""Issue 9's floors: the committed thresholds may be stricter, never looser."""


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, float]:
    """Read the thresholds file (comment keys starting with `_` are skipped)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def check(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Return one line per threshold the metrics miss (empty: the gate passes)."""
    misses = []
    for key, limit in sorted(thresholds.items()):
        name, _, kind = key.rpartition("_")
        value = metrics.get(name)
        if value is None:
            misses.append(f"{name}: not measured (threshold {kind} {limit})")
        elif kind == "min" and value < limit:
            misses.append(f"{name} = {value} < {limit}")
        elif kind == "max" and value > limit:
            misses.append(f"{name} = {value} > {limit}")
    return misses


def is_stricter_or_equal(key: str, value: float, floor: float) -> bool:
    """Whether threshold `key` at `value` is at least as strict as `floor`."""
    return value >= floor if key.endswith("_min") else value <= floor
