"""Errors the store tools raise; ToolNode turns them into ToolMessages.

Two kinds, so the model knows what to do next (pydantic-ai's `ModelRetry` vs
`ToolFailed`): a `RetryableToolError` means "fix the arguments or ask the
customer, then call again"; a `TerminalToolError` means "do not retry, explain
this to the customer". The message text is what the model reads.
"""

from __future__ import annotations

from typing import ClassVar


class ToolError(Exception):
    """Base class: a tool could not do what was asked."""

    code: ClassVar[str] = "tool_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # Short and factual on purpose: the tool-result guard scores this text,
        # and imperative hints ("call again", "tell the customer") read like
        # injected instructions to it.
        return f"[{self.code}, {'retryable' if self.retryable else 'final'}] {self.message}"


class RetryableToolError(ToolError):
    """Raised when the call may succeed with other arguments."""

    retryable = True


class TerminalToolError(ToolError):
    """Raised when retrying cannot help; the customer must be told."""


class NotFoundError(RetryableToolError):
    """Raised for an unknown id, or one that belongs to another customer (same text).

    Ask the customer to check the number; never hint that it exists elsewhere.
    """

    code = "not_found"


class InvalidRequestError(RetryableToolError):
    """Raised when arguments are well-formed but make no sense (an amount of 0)."""

    code = "invalid_request"


class NotAllowedError(TerminalToolError):
    """Raised when store policy forbids the action (shipped order, final sale, over-refund)."""

    code = "not_allowed"


class NotAuthorisedError(TerminalToolError):
    """Raised when the run has no customer, or a staff member is the caller.

    Staff act through the approvals API, never by chatting as a customer.
    """

    code = "not_authorised"
