"""The CI gate and its thresholds (issue 9)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from evals.gate import ISSUE_FLOORS, THRESHOLDS, check, is_stricter_or_equal, load_thresholds

ROOT = Path(__file__).resolve().parents[2]

PASSING = {
    "routing_accuracy": 0.97,
    "tool_call_accuracy": 0.98,
    "cross_customer_leaks": 0,
    "over_refunds": 0,
    "citation_accuracy": 0.92,
    "guard_block_rate": 0.99,
    "guard_false_block_rate": 0.005,
}


def test_gate_passes_when_every_metric_meets_its_threshold():
    assert check(PASSING, load_thresholds()) == []


def test_gate_fails_when_routing_accuracy_is_below_threshold():
    misses = check({**PASSING, "routing_accuracy": 0.80}, load_thresholds())
    assert misses == ["routing_accuracy = 0.8 < 0.97"]


def test_gate_fails_on_a_single_leak_or_over_refund():
    misses = check({**PASSING, "cross_customer_leaks": 1, "over_refunds": 2}, load_thresholds())
    assert "cross_customer_leaks = 1 > 0" in misses
    assert "over_refunds = 2 > 0" in misses


def test_gate_fails_when_a_metric_was_not_measured():
    metrics = dict(PASSING)
    del metrics["tool_call_accuracy"]
    assert check(metrics, load_thresholds()) == [
        "tool_call_accuracy: not measured (threshold min 0.98)"
    ]


def test_thresholds_are_at_least_the_issue_floors():
    thresholds = load_thresholds()
    for key, floor in ISSUE_FLOORS.items():
        assert key in thresholds, key
        assert is_stricter_or_equal(key, thresholds[key], floor), key


def test_thresholds_never_loosen_across_git_history():
    path = THRESHOLDS.relative_to(ROOT).as_posix()
    log = subprocess.run(
        ["git", "log", "--format=%H", "--", path], cwd=ROOT, capture_output=True, text=True
    )
    current = load_thresholds()
    for commit in log.stdout.split():
        shown = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode:
            continue
        earlier = {k: v for k, v in json.loads(shown.stdout).items() if not k.startswith("_")}
        for key, value in earlier.items():
            assert key in current, f"{key} was dropped after {commit[:8]}"
            assert is_stricter_or_equal(key, current[key], value), (
                f"{key} loosened after {commit[:8]}"
            )
