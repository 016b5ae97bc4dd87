"""What of a long conversation the model sees: the recent part, within a token budget.

The checkpoint and the history endpoint keep every message; only the prompt
is bounded (issue 8, "Long conversations"). Messages are counted with
LangChain's approximate counter (about four characters per token, plus
per-message overhead), which needs no tokenizer for any provider.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately

DEFAULT_CONTEXT_MAX_TOKENS = 12000
"""`SWITCHBOARD_CONTEXT_MAX_TOKENS`'s default, for graphs built without settings."""


def fit_to_budget(messages: Sequence[AnyMessage], max_tokens: int) -> list[BaseMessage]:
    """Return the most recent `messages` that fit in `max_tokens`, starting on a human turn.

    `messages` starts with the system prompt, which is always kept. The window
    is the newest whole messages that fit, moved forward to its first
    `HumanMessage`, so it never opens on a tool result whose call was cut off:
    every kept AIMessage with tool calls is followed by its ToolMessages,
    since those come after it and the window runs to the end. When even the
    current turn (from the last human message on) does not fit, the current
    turn is sent whole: answering it matters more than the budget.

    A conversation that fits whole (most do) is only counted: `trim_messages`
    costs ~0.5 ms a call even then, and a turn makes four or more.
    """
    first_human = next(
        (i for i, m in enumerate(messages) if i > 0 and isinstance(m, HumanMessage)), None
    )
    if first_human is not None and count_tokens_approximately(messages) <= max_tokens:
        # What trim_messages keeps when everything fits: the system prompt, then
        # everything from the first human message on.
        return [messages[0], *messages[first_human:]]
    trimmed = trim_messages(
        list(messages),
        max_tokens=max_tokens,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
        include_system=True,
        allow_partial=False,
    )
    if any(isinstance(m, HumanMessage) for m in trimmed):
        return trimmed
    last_human = max(
        (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None
    )
    if last_human is None:
        return list(messages)
    return [messages[0], *messages[last_human:]]
