"""Read the parts of a message history the offline policy decides on.

The *current turn* is everything after the last `HumanMessage`: the tool calls
agents made for it (handoffs included) and the results that came back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

HANDOFF_PREFIX = "transfer_to_"
"""Names of tools that hand the conversation to another agent start with this."""


@dataclass(frozen=True)
class ToolCallRecord:
    """A tool call an agent made during the current turn."""

    name: str
    args: dict[str, Any]
    id: str | None

    @property
    def is_handoff(self) -> bool:
        """Whether this call transferred the conversation to another agent."""
        return self.name.startswith(HANDOFF_PREFIX)

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the call for "same tool, same arguments" checks."""
        return call_key(self.name, self.args)


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer (a `ToolMessage`) in the current turn."""

    name: str
    content: str


@dataclass(frozen=True)
class Turn:
    """The latest customer message and what has happened since."""

    user_text: str
    earlier_user_texts: tuple[str, ...]
    """Earlier customer messages, most recent first."""
    last_assistant_text: str
    """The assistant's last words before the customer's latest message."""
    calls: tuple[ToolCallRecord, ...]
    last_result: ToolResult | None
    """The tool result the history ends with, if it ends with one."""
    previous_result: ToolResult | None = None
    """The last tool result of the previous turn (what the customer may be answering)."""

    @property
    def handed_off(self) -> bool:
        """Whether some agent already transferred the conversation this turn."""
        return any(call.is_handoff for call in self.calls)


def call_key(name: str, args: dict[str, Any]) -> tuple[str, str]:
    """Return a hashable identity for a tool call: its name and canonical arguments."""
    return name, json.dumps(args, sort_keys=True, default=str)


def message_text(message: BaseMessage) -> str:
    """Return the text of a message whose content is a string or content blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return " ".join(part.strip() for part in parts if part.strip())


def read_turn(messages: Sequence[BaseMessage]) -> Turn:
    """Split a history into the current turn and the context before it."""
    last_human = max(
        (index for index, message in enumerate(messages) if isinstance(message, HumanMessage)),
        default=-1,
    )
    before = messages[:last_human] if last_human >= 0 else []
    current = messages[last_human + 1 :]
    user_text = message_text(messages[last_human]) if last_human >= 0 else ""
    earlier = tuple(
        message_text(message)
        for message in reversed(before)
        if isinstance(message, HumanMessage) and message_text(message)
    )
    last_assistant = next(
        (
            message_text(message)
            for message in reversed(before)
            if isinstance(message, AIMessage) and message_text(message)
        ),
        "",
    )

    calls: list[ToolCallRecord] = []
    names_by_id: dict[str, str] = {}
    for message in current:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls.append(ToolCallRecord(call["name"], dict(call["args"]), call.get("id")))
                if call.get("id"):
                    names_by_id[str(call["id"])] = call["name"]
    last_result = None
    if current and isinstance(current[-1], ToolMessage):
        tool_message = current[-1]
        name = tool_message.name or names_by_id.get(tool_message.tool_call_id, "")
        last_result = ToolResult(name=name, content=message_text(tool_message))
    previous_result = None
    for message in reversed(before):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage):
            previous_result = ToolResult(name=message.name or "", content=message_text(message))
            break
    return Turn(
        previous_result=previous_result,
        user_text=user_text.strip(),
        earlier_user_texts=earlier,
        last_assistant_text=last_assistant,
        calls=tuple(calls),
        last_result=last_result,
    )
