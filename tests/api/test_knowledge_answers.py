"""A specialist answers a policy question from the help center, with its source,
through the API stream (offline model, real Chroma, real Postgres)."""

from __future__ import annotations

from api.settings import Settings
from tests.conftest import auth, running_app
from tests.sse import parse_sse, post_message


async def test_specialist_answers_a_policy_question_with_a_citation(settings: Settings) -> None:
    async with running_app(settings) as client:  # the configured offline model
        headers = auth("cust-kb")
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        first = parse_sse(
            (await post_message(client, thread_id, "I want to return a jacket", headers)).text
        )
        second = parse_sse(
            (
                await post_message(
                    client, thread_id, "How many days do I have to send an item back?", headers
                )
            ).text
        )

    assert any(e.event == "handoff" and e.data["to"] == "returns" for e in first)
    tools = [e.data for e in second if e.event == "tool"]
    assert {"name": "search_knowledge_base", "status": "completed", "agent": "returns"} in tools
    answer = next(e.data for e in second if e.event == "message" and e.data["role"] == "assistant")
    assert answer["agent"] == "returns"
    assert "30 days" in answer["content"]
    assert "Source:" in answer["content"] and "help_center/" in answer["content"]


async def test_asked_what_it_accepts_the_shop_says_what_it_accepts(settings: Settings) -> None:
    """Not "Cash on delivery … are not accepted", the section the question's words match best."""
    async with running_app(settings) as client:
        headers = auth("cust-kb")
        thread_id = (await client.post("/v1/threads", headers=headers)).json()["thread_id"]
        events = parse_sse(
            (
                await post_message(
                    client, thread_id, "What payment methods do you accept?", headers
                )
            ).text
        )

    answer = next(e.data for e in events if e.event == "message" and e.data["role"] == "assistant")
    assert answer["content"].startswith("We accept cards, PayPal, Apple Pay")
    assert "help_center/payment-methods.md" in answer["content"]
