"""What the guards return: trips, verdicts and released stream text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from graph.guards.pii import RedactionResult

Stage = Literal["input", "output", "tool"]
"""Where a scanner ran: on the user's message, on the reply, or on a tool result."""

Action = Literal["blocked", "redacted", "masked", "flagged"]
"""What the guard did. `flagged` is observation only (e.g. a refusal) and is not
shown to the user; the other three map to the `guard` SSE event."""


@dataclass(frozen=True, slots=True)
class GuardTrip:
    """One scanner that fired."""

    stage: Stage
    scanner: str
    action: Action
    score: float = 1.0
    """Scanner confidence in `[0, 1]`; 1.0 for rule-based scanners."""

    def event(self) -> dict[str, str]:
        """Return the payload of the `guard` SSE event (never includes the text)."""
        return {"stage": self.stage, "scanner": self.scanner, "action": self.action}

    @property
    def user_visible(self) -> bool:
        """Whether the API should emit a `guard` event for this trip."""
        return self.action != "flagged"


@dataclass(slots=True)
class InputVerdict:
    """Result of scanning one user message."""

    allowed: bool
    """False: end the turn now, reply with `refusal`, call no model and no tool."""
    text: str
    """The message to pass on: invisible characters stripped, secrets and PII
    replaced by placeholders such as `[EMAIL_1]`. Empty when not allowed."""
    trips: list[GuardTrip] = field(default_factory=list)
    user_notice: str | None = None
    """Shown to the user when redaction changed their message."""
    refusal: str | None = None
    """Short, polite, non-revealing reply when the message was blocked."""
    redaction: RedactionResult | None = None
    """Placeholders created for this message; their values are in the vault."""


@dataclass(frozen=True, slots=True)
class OutputContext:
    """Who the reply is for, so that the output guard can spot other people's data."""

    caller_emails: frozenset[str] = frozenset()
    """E-mail addresses that belong to the caller (compared case-insensitively)."""
    caller_order_ids: frozenset[str] = frozenset()
    """Order ids the caller owns; other ids in the reply are masked."""
    system_prompts: tuple[str, ...] = ()
    """Our prompts; verbatim or near-verbatim chunks of them in a reply block it."""
    user_text: str = ""
    """The caller's own message: ids and e-mails they typed may be echoed back."""
    public_text: str = ""
    """Help-center passages read this turn: the ids and addresses in them are examples and
    the shop's own ("order #1042", support@…), not another customer's."""

    @classmethod
    def build(
        cls,
        *,
        caller_emails: list[str] | tuple[str, ...] | frozenset[str] = (),
        caller_order_ids: list[str | int] | tuple[str | int, ...] | frozenset[str] = (),
        system_prompts: list[str] | tuple[str, ...] = (),
        user_text: str = "",
        public_text: str = "",
    ) -> OutputContext:
        """Normalise plain lists (ids may be ints) into an `OutputContext`."""
        return cls(
            caller_emails=frozenset(e.strip().lower() for e in caller_emails),
            caller_order_ids=frozenset(str(i).strip().lstrip("#") for i in caller_order_ids),
            system_prompts=tuple(system_prompts),
            user_text=user_text,
            public_text=public_text,
        )


@dataclass(frozen=True, slots=True)
class Release:
    """A piece of reply text that passed the output scanners and may be sent."""

    text: str
    """Text to stream to the user (already masked). For a block, the refusal."""
    blocked: bool = False
    """True: the rest of the reply was withheld; send `text` and end the stream."""
    trips: tuple[GuardTrip, ...] = ()


@dataclass(slots=True)
class ToolResultVerdict:
    """Result of scanning a tool's output before it goes back into the model."""

    clean: bool
    """False when suspicious passages were removed; pass `text` to the model either way."""
    text: str
    """The tool result with suspicious passages replaced by `TOOL_PASSAGE_REMOVED`."""
    trips: list[GuardTrip] = field(default_factory=list)
    score: float = 0.0
    """Highest injection probability seen in the result."""
