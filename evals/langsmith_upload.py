"""Upload the dataset and an experiment to LangSmith when tracing is on.

Guarded: without `LANGSMITH_TRACING=true` and an API key it does nothing and says
so. Not exercised by the tests (no network), beyond "skipped when off".
"""

from __future__ import annotations

import os
import time

from api.settings import Settings
from evals.dataset import Case
from evals.scoring import CaseResult

DATASET = "switchboard-eval"


def upload_if_tracing(settings: Settings, cases: list[Case], results: list[CaseResult]) -> str:
    """Upload when tracing is configured; return what happened, in words."""
    tracing = os.environ.get("LANGSMITH_TRACING", "").lower() == "true"
    if not tracing or not os.environ.get("LANGSMITH_API_KEY"):
        return "skipped (LANGSMITH_TRACING off or no LANGSMITH_API_KEY)"
    try:
        from langsmith import Client

        client = Client()
        if client.has_dataset(dataset_name=DATASET):
            dataset = client.read_dataset(dataset_name=DATASET)
        else:
            dataset = client.create_dataset(DATASET, description="Switchboard evaluation cases")
            client.create_examples(
                dataset_id=dataset.id,
                inputs=[{"customer": c.customer, "turns": c.turns} for c in cases],
                outputs=[c.expect for c in cases],
                metadata=[{"case_id": c.id, "category": c.category} for c in cases],
            )
        name = f"switchboard-eval-{settings.model}-{time.strftime('%Y%m%d-%H%M%S')}"
        project = client.create_project(name, reference_dataset_id=dataset.id)
        for result in results:
            client.create_feedback(
                run_id=None,
                project_id=project.id,
                key="passed",
                score=float(result.passed),
                comment=f"{result.id}: {'; '.join(result.failures)}"[:1000],
            )
        return f"uploaded experiment {name!r} to dataset {DATASET!r}"
    except Exception as error:  # tracing problems never fail an evaluation
        return f"upload failed: {type(error).__name__}: {error}"
