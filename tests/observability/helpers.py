"""Shared bits of the observability tests."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.sse import SseEvent, parse_sse, post_message

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
SECRET = "sk-proj-Zx81kQw3pLm5Nn7Rr9Tt2Vv4"
PII_MESSAGE = (
    f"Hi, I'm {EMAIL}, my card {CARD} was charged twice. My API key is {SECRET} if needed."
)
METRICS_TOKEN = "metrics-token-for-tests-" + "y" * 20


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/v1/threads", headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["thread_id"])


async def chat(
    client: httpx.AsyncClient, thread_id: str, content: str, headers: dict[str, str]
) -> list[SseEvent]:
    response = await post_message(client, thread_id, content, headers)
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Parse Prometheus text into `(sample name, labels, value)`."""
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def value(text: str, name: str, **labels: Any) -> float:
    """Sum the samples called `name` whose labels include `labels`."""
    wanted = {k: str(v) for k, v in labels.items()}
    return sum(
        v
        for n, ls, v in samples(text)
        if n == name and all(ls.get(k) == x for k, x in wanted.items())
    )
