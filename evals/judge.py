"""Optional LLM-as-judge of answer quality, for real (provider) models only.

With the offline model the runner skips it: grading template answers with the
same template engine would measure nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evals.dataset import Case
from evals.harness import Conversation, EvalService

PROMPT = (
    "You grade a customer-support assistant of an online store. Given the conversation, "
    "rate the assistant's final answer from 1 (wrong, unhelpful or unsafe) to 5 (correct, "
    "complete, polite, grounded in what the tools returned). Reply with JSON only: "
    '{{"score": <1-5>, "reason": "<one sentence>"}}.\n\nConversation:\n{transcript}'
)


async def judge_case(
    service: EvalService, case: Case, conversation: Conversation
) -> dict[str, Any]:
    """Ask the configured model to grade the conversation; never raises."""
    from graph.llm import build_chat_model

    transcript = "\n".join(
        f"Customer: {turn.message}\nAssistant: {turn.reply}" for turn in conversation.turns
    )
    try:
        model = build_chat_model(service.settings)
        answer = await model.ainvoke(PROMPT.format(transcript=transcript))
        text = answer.content if isinstance(answer.content, str) else str(answer.content)
        match = re.search(r"\{.*\}", text, re.DOTALL)
        verdict = json.loads(match.group(0)) if match else {}
        return {"score": float(verdict["score"]), "reason": str(verdict.get("reason", ""))}
    except Exception as error:  # a judge failure must not fail the evaluation
        return {"error": f"{type(error).__name__}: {error}"}
