"""The evaluation dataset: labelled cases in `evals/data/cases.jsonl`.

Each line is one case: a customer (`customer`), the messages they send one turn
after another (`turns`), and what should happen (`expect`). Every key of
`expect` is optional; a case passes when every expectation it states holds:

- `route`: the department the first message belongs to (`billing`, `returns`,
  `general`, `out_of_scope`);
- `handoffs`: the agents the conversation is handed to, in order;
- `tools`: domain tool calls that must happen (`{"name", "args"}`, args a subset);
  `allowed_tools` may happen too; anything else counts against precision;
- `db`: the end state in the store for this thread: `refund`, `rma`, `approval`
  (bool) and `cancelled` (an order id that must, or `-id` that must not, end up
  cancelled);
- `max_refund`: the most this thread may refund in total (over-refund check);
- `source`: the help-center article the answer must cite;
- `blocked`: whether the input guard must refuse the first message.

Regenerate with `python -m evals.build_dataset`; never hand-edit the JSONL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Category = Literal["routing", "conversation", "knowledge", "adversarial"]
CATEGORIES: tuple[Category, ...] = ("routing", "conversation", "knowledge", "adversarial")
ROUTES = ("billing", "returns", "general", "out_of_scope")

DATA = Path(__file__).parent / "data" / "cases.jsonl"


@dataclass(frozen=True)
class Case:
    """One labelled evaluation case."""

    id: str
    category: Category
    customer: str
    turns: list[str]
    expect: dict[str, Any]
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise as one JSONL line."""
        return json.dumps(
            {
                "id": self.id,
                "category": self.category,
                "customer": self.customer,
                "turns": self.turns,
                "expect": self.expect,
                "tags": self.tags,
            },
            ensure_ascii=False,
        )


def load_cases(path: Path = DATA) -> list[Case]:
    """Read the dataset.

    Raises:
        ValueError: A line is malformed, a category unknown or an id repeated.

    """
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        case = Case(
            id=record["id"],
            category=record["category"],
            customer=record["customer"],
            turns=list(record["turns"]),
            expect=dict(record.get("expect") or {}),
            tags=list(record.get("tags") or []),
        )
        if case.category not in CATEGORIES:
            raise ValueError(f"{path.name!r} line {number}: unknown category {case.category!r}")
        if case.id in seen:
            raise ValueError(f"{path.name!r} line {number}: duplicate id {case.id!r}")
        if not case.turns:
            raise ValueError(f"{path.name!r} line {number}: case {case.id!r} has no turns")
        seen.add(case.id)
        cases.append(case)
    return cases


def write_cases(cases: Iterable[Case], path: Path = DATA) -> int:
    """Write cases as JSONL; return how many."""
    lines = [case.to_json() for case in cases]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
