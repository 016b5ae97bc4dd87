"""Turn tool results into answers for the customer.

Tool results are JSON strings or plain text. Knowledge-base results get their
own treatment: the most relevant sentences of the best passages, chosen by
embedding similarity to the question, with the sources cited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ingestion.embeddings import get_embedder

KNOWLEDGE_TOOL = "search_knowledge_base"

RELEVANCE_FLOOR = 0.35
"""A sentence less similar than this to the question does not answer it."""
SENTENCE_SPREAD = 0.12
"""Sentences this close to the best one are quoted alongside it."""
MAX_SENTENCES = 3
MAX_PASSAGES = 2
MAX_LINES = 8

NOT_IN_HELP_CENTER = (
    "I couldn't find that in our help center, and I'd rather not guess. I can pass your "
    "question to a colleague, or help with anything about a charge, an order or a return."
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_MARKER = re.compile(r"^(?:[#>*-]+|\d+\.)\s+")
_LEANS_ON_CONTEXT = re.compile(
    r"^(?:It|It's|They|These|Those|That|This(?! article)|There are none|None|Same|Both"
    r"|Either|Neither)\b"
)
"""Sentences that mean little without the sentence or heading before them ("It costs $59
a year", "There are none: …"): quoted with that context."""
_ASKS_WHAT = re.compile(r"^\s*(?:what|which)\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|never|no|cannot)\b|n't\b", re.IGNORECASE)
"""A "what/which" question is not answered by what is *not* so ("What payment methods
do you accept?" is not "Cash on delivery … are not accepted"); a yes/no one can be."""
Candidate = tuple[int, int, str]
"""(passage index, sentence index, sentence) of one sentence an answer may quote."""


def render_tool_result(name: str, content: str, question: str) -> str:
    """Compose the answer to the customer from a tool's result.

    Args:
        name: The tool that produced the result.
        content: The result: JSON or plain text.
        question: The customer's message, for knowledge-base answers.

    """
    data = _parse(content)
    if name == KNOWLEDGE_TOOL and isinstance(data, dict) and "passages" in data:
        return answer_from_passages(data.get("passages") or [], question)
    if isinstance(data, dict) and data.get("error"):
        return _apologise(str(data["error"]))
    if isinstance(data, dict):
        lines = _describe_mapping(data)[:MAX_LINES]
        if lines and lines[-1].endswith(":"):
            lines.pop()  # a list's heading whose records did not fit
        return _lead(name) + "\n" + "\n".join(lines) if lines else _lead(name)
    if isinstance(data, list):
        if not data:
            return "I looked, but there's nothing on record for that yet."
        items = [f"- {_summarise(item)}" for item in data[:MAX_LINES]]
        more = f"\n…and {len(data) - MAX_LINES} more." if len(data) > MAX_LINES else ""
        noun = "result" if len(data) == 1 else "results"
        return f"I found {len(data)} {noun}:\n" + "\n".join(items) + more
    text = str(data).strip()
    if not text:
        return "That's done, though the system didn't return any details."
    if text.lower().startswith("error"):
        # The graph's tool-error text (`graph.agents.format_tool_error`) ends
        # with advice meant for the model, not the customer.
        reason = re.sub(r"^error:\s*", "", text, flags=re.IGNORECASE)
        return _apologise(re.split(r"\.\s+Check the arguments", reason)[0])
    return text


def answer_from_passages(passages: list[dict[str, Any]], question: str) -> str:
    """Answer from the best knowledge passages, quoting their most relevant sentences.

    Returns:
        The answer with a `Source: <title> (<source>)` line per passage used, or
        `NOT_IN_HELP_CENTER` when no sentence is relevant enough.

    """
    ranked = sorted(
        (passage for passage in passages if str(passage.get("text") or "").strip()),
        key=lambda passage: -float(passage.get("score") or 0.0),
    )[:MAX_PASSAGES]
    candidates: list[Candidate] = []
    for passage_index, passage in enumerate(ranked):
        for sentence_index, sentence in enumerate(_sentences(str(passage["text"]))):
            candidates.append((passage_index, sentence_index, sentence))
    if not candidates or not question.strip():
        return NOT_IN_HELP_CENTER
    embedder = get_embedder()
    # Cached per sentence: the help center's sentences come back answer after answer.
    similarities = embedder.embed_each(_in_context(candidates, ranked)) @ (
        embedder.embed_query(question)
    )
    if float(np.max(similarities)) < RELEVANCE_FLOOR:
        return NOT_IN_HELP_CENTER
    sources = [str(passage.get("source") or "") for passage in ranked]
    anchor = _anchor(candidates, similarities, question, sources)
    threshold = max(RELEVANCE_FLOOR, float(similarities[anchor]) - SENTENCE_SPREAD)
    order = np.argsort(-similarities, kind="stable")
    others = [i for i in order if i != anchor and similarities[i] >= threshold]
    # The anchor's passage leads; then passages and sentences in their own order.
    lead = candidates[anchor][0]

    def reading_order(candidate: Candidate) -> tuple[bool, int, int]:
        return candidate[0] != lead, candidate[0], candidate[1]

    chosen = _with_context(
        sorted((candidates[i] for i in [anchor, *others[: MAX_SENTENCES - 1]]), key=reading_order),
        candidates,
        ranked,
        key=reading_order,
    )
    used = sorted({passage_index for passage_index, _, _ in chosen})
    answer = " ".join(sentence for _, _, sentence in chosen)
    sources = []
    for passage_index in used:
        passage = ranked[passage_index]
        title = str(passage.get("title") or "Help center")
        source = str(passage.get("source") or "").strip()
        sources.append(f"Source: {title} ({source})" if source else f"Source: {title}")
    return answer + "\n\n" + "\n".join(dict.fromkeys(sources))


def _leans_on(
    candidate: Candidate, by_position: dict[tuple[int, int], Candidate], passages: list[dict]
) -> tuple[Candidate | None, str]:
    """Return what `candidate` leans on: the sentence before it, else its section heading.

    (None, "") when it reads on its own ("It costs $59…" does not).
    """
    passage_index, sentence_index, sentence = candidate
    if not _LEANS_ON_CONTEXT.match(sentence):
        return None, ""
    before = by_position.get((passage_index, sentence_index - 1))
    section = "" if before else str(passages[passage_index].get("section") or "").strip()
    return before, section


def _in_context(candidates: list[Candidate], passages: list[dict[str, Any]]) -> list[str]:
    """Return each sentence as it is scored: with what it leans on ("It costs $59…")."""
    by_position = {c[:2]: c for c in candidates}
    scored = []
    for candidate in candidates:
        before, section = _leans_on(candidate, by_position, passages)
        context = before[2] if before else section
        scored.append(f"{context} {candidate[2]}" if context else candidate[2])
    return scored


def _with_context(
    chosen: list[Candidate],
    candidates: list[Candidate],
    passages: list[dict[str, Any]],
    *,
    key: Callable[[Candidate], Any],
) -> list[Candidate]:
    """Give each chosen sentence that leans on what came before its context.

    The sentence before it in its passage joins the answer; a passage's first
    sentence gets its section heading ("Shorter windows: There are none: …").
    """
    by_position = {c[:2]: c for c in candidates}
    picked = {c[:2] for c in chosen}
    out: list[Candidate] = []
    for candidate in chosen:
        before, section = _leans_on(candidate, by_position, passages)
        if before is not None and before[:2] not in picked:
            out.append(before)
            picked.add(before[:2])
        elif before is None and section:
            candidate = (*candidate[:2], f"{section}: {candidate[2]}")
        out.append(candidate)
    return sorted(out, key=key)


def _anchor(
    candidates: list[Candidate], similarities: np.ndarray, question: str, sources: list[str]
) -> int:
    """Pick the sentence the answer is built around: the best of the best-ranked passage.

    The retriever (hybrid, whole passages) is a better judge of which article
    answers the question than one sentence's similarity: "standard shipping
    within the US" is answered by the domestic article, even if a line of the
    international one looks closer. A sentence of another passage leads only
    when the best-ranked passage has none relevant enough, or when a "what/which"
    question would be answered by a negation while another section of the same
    article says, about as relevantly, what *is* so.
    """
    top = [i for i, (passage, _, _) in enumerate(candidates) if passage == 0]
    best_of_top = max(top, key=lambda i: similarities[i], default=None)
    if best_of_top is None or similarities[best_of_top] < RELEVANCE_FLOOR:
        return int(np.argmax(similarities))
    negation_answers = (
        _ASKS_WHAT.match(question)
        and not _NEGATED.search(question)
        and _NEGATED.search(candidates[best_of_top][2])
    )
    if negation_answers:
        floor = max(RELEVANCE_FLOOR, float(similarities[best_of_top]) - SENTENCE_SPREAD)
        affirmative = [
            i
            for i, (passage, _, sentence) in enumerate(candidates)
            if passage != 0
            and sources[passage] == sources[0]
            and similarities[i] >= floor
            and not _NEGATED.search(sentence)
        ]
        if affirmative:
            return max(affirmative, key=lambda i: similarities[i])
    return best_of_top


def _parse(content: str) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return content


def _sentences(text: str) -> list[str]:
    parts = (part.strip() for part in _SENTENCE_END.split(text.strip()))
    # List and heading markers go ("- ", "## "); bold ("**30 days**") stays whole.
    return [_MARKER.sub("", part) for part in parts if len(part.strip()) > 3]


_ERROR_TAG = re.compile(r"^\[\w+, (?:retryable|final)\]\s*")
"""The tools' machine-readable prefix (`tools/errors.py`), not for customers."""


def _apologise(error: str) -> str:
    error = _ERROR_TAG.sub("", error.strip()).rstrip(".")
    hint = (
        " Could you double-check the number?"
        if re.search(r"not found|no such|unknown|does not exist", error, re.IGNORECASE)
        else " Would you like me to try something else, or pass this to a colleague?"
    )
    return f"Sorry, I couldn't complete that: {error}.{hint}"


def _lead(name: str) -> str:
    verb = name.split("_", 1)[0]
    if verb in {"get", "list", "track", "check", "explain", "search", "payment"}:
        return "Here's what I found:"
    return "Here's the outcome of your request:"


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


_MONEY_KEY = re.compile(
    r"(?:^|_)(?:amount|total|subtotal|price|paid|refunded|refundable|tax|shipping|fees?|"
    r"balance|cost)(?:_|$)"
)
"""Fields holding a sum of money; shown with the record's currency ("117.72 USD")."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
LIST_ITEMS_SHOWN = 5
"""Records of a list inside a result shown one per line; the rest are counted."""


def _value(value: Any, key: str = "", currency: str | None = None) -> str:
    """Render one field for a customer: yes/no, sums with their currency, readable dates."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if currency and _MONEY_KEY.search(key) and _NUMBER.fullmatch(str(value)):
        return f"{float(value):.2f} {currency}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str):
        if _TIMESTAMP.fullmatch(value):
            return _readable_time(value)
        return value.replace("_", " ") if re.fullmatch(r"[a-z_]+", value) else value
    return str(value)


def _readable_time(value: str) -> str:
    """'2026-11-23T09:30:00+00:00' → '23 Nov 2026, 09:30 UTC'; a bare date → '23 Nov 2026'."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    day = f"{moment.day} {moment:%b %Y}"
    if len(value) <= len("2026-11-23"):
        return day
    if moment.tzinfo is not None:
        return f"{day}, {moment.astimezone(UTC):%H:%M} UTC"
    return f"{day}, {moment:%H:%M}"


def _fields(item: dict[str, Any], currency: str | None) -> list[tuple[str, str]]:
    """Return the flat fields of a record as (label, value); its currency goes with its sums."""
    own = item.get("currency")
    currency = own if isinstance(own, str) and own else currency
    shown = [
        (key, _value(value, key, currency))
        for key, value in item.items()
        if not isinstance(value, dict | list)
    ]
    if currency and any(_MONEY_KEY.search(key) for key, _ in shown):
        shown = [(key, text) for key, text in shown if key != "currency"]
    return [(_label(key), text) for key, text in shown]


def _summarise(item: Any, currency: str | None = None) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{label.lower()} {text}" for label, text in _fields(item, currency))[:200]
    return _value(item)


def _describe_mapping(data: dict[str, Any]) -> list[str]:
    currency = data.get("currency") if isinstance(data.get("currency"), str) else None
    lines = [f"- {label}: {text}" for label, text in _fields(data, currency)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"- {_label(key)}: {_summarise(value, currency)}")
        elif isinstance(value, list):
            if value and all(isinstance(item, dict) for item in value):
                lines.append(f"- {_label(key)}:")
                lines.extend(
                    f"  - {_summarise(item, currency)}" for item in value[:LIST_ITEMS_SHOWN]
                )
                if len(value) > LIST_ITEMS_SHOWN:
                    lines.append(f"  - …and {len(value) - LIST_ITEMS_SHOWN} more")
            else:
                lines.append(
                    f"- {_label(key)}: {', '.join(_value(item) for item in value) or 'none'}"
                )
    return lines
