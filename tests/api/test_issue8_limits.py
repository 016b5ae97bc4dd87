"""Issue 8: rate limits per customer and per address (in-process and Redis), body-size cap."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from api.settings import Settings
from tests.conftest import auth, make_settings, running_app
from tests.scripted_model import ScriptedChatModel

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, database_url: str, shared_data_dir: Path) -> Settings:
    """Settings with tight limits, counted in process memory or in the real Redis."""
    extra: dict[str, object] = {}
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("no Redis at 127.0.0.1:6379")
        extra = {
            "REDIS_URL": REDIS_URL,
            "SWITCHBOARD_RATE_LIMIT_PREFIX": f"test:{uuid.uuid4().hex}",
        }
    return make_settings(
        database_url,
        shared_data_dir,
        SWITCHBOARD_RATE_LIMIT_CUSTOMER=2,
        SWITCHBOARD_RATE_LIMIT_IP=6,
        SWITCHBOARD_RATE_LIMIT_WINDOW=600,
        **extra,
    )


async def test_customer_over_the_limit_gets_429_with_retry_after(limited: Settings) -> None:
    async with running_app(limited, ScriptedChatModel()) as client:
        first = await client.post("/v1/threads", headers=auth("cust-rl-a"))
        second = await client.post("/v1/threads", headers=auth("cust-rl-a"))
        refused = await client.post("/v1/threads", headers=auth("cust-rl-a"))
        other = await client.post("/v1/threads", headers=auth("cust-rl-b"))

    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 201)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "too quickly" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 600


async def test_address_over_the_limit_gets_429_but_probes_do_not_count(limited: Settings) -> None:
    async with running_app(limited, ScriptedChatModel()) as client:
        statuses = [
            (
                await client.get(f"/v1/threads/{uuid.uuid4()}/messages", headers=auth("cust-rl-c"))
            ).status_code
            for _ in range(7)
        ]
        health = [(await client.get("/healthz")).status_code for _ in range(10)]

    assert statuses == [404] * 6 + [429]
    assert set(health) == {200}


async def test_redis_counts_are_shared_by_two_app_processes(
    database_url: str, shared_data_dir: Path
) -> None:
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings = make_settings(
        database_url,
        shared_data_dir,
        REDIS_URL=REDIS_URL,
        SWITCHBOARD_RATE_LIMIT_PREFIX=f"test:{uuid.uuid4().hex}",
        SWITCHBOARD_RATE_LIMIT_CUSTOMER=2,
        SWITCHBOARD_RATE_LIMIT_WINDOW=600,
    )
    headers = auth("cust-rl-shared")
    async with (
        running_app(settings, ScriptedChatModel()) as one,
        running_app(settings, ScriptedChatModel()) as two,
    ):
        assert (await one.post("/v1/threads", headers=headers)).status_code == 201
        assert (await two.post("/v1/threads", headers=headers)).status_code == 201
        assert (await one.post("/v1/threads", headers=headers)).status_code == 429


async def test_unreachable_redis_lets_requests_through(
    database_url: str, shared_data_dir: Path
) -> None:
    settings = make_settings(
        database_url,
        shared_data_dir,
        REDIS_URL="redis://127.0.0.1:1/0",
        SWITCHBOARD_RATE_LIMIT_CUSTOMER=1,
    )
    async with running_app(settings, ScriptedChatModel()) as client:
        statuses = [
            (await client.post("/v1/threads", headers=auth("cust-rl-d"))).status_code
            for _ in range(2)
        ]

    assert statuses == [201, 201]


async def test_body_over_the_size_limit_gets_413(database_url: str, shared_data_dir: Path) -> None:
    settings = make_settings(database_url, shared_data_dir, SWITCHBOARD_MAX_BODY_BYTES=1000)
    async with running_app(settings, ScriptedChatModel()) as client:
        thread_id = (await client.post("/v1/threads", headers=auth("cust-rl-e"))).json()[
            "thread_id"
        ]
        response = await client.post(
            f"/v1/threads/{thread_id}/messages",
            json={"content": "x" * 5000, "client_message_id": str(uuid.uuid4())},
            headers=auth("cust-rl-e"),
        )

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(5):
                yield b"x" * 400

        streamed = await client.post(
            f"/v1/threads/{thread_id}/messages",
            content=chunks(),
            headers={**auth("cust-rl-e"), "Content-Type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert streamed.status_code == 413
