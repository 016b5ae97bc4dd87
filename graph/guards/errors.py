"""Errors raised while building or running the guards."""

from __future__ import annotations


class GuardError(Exception):
    """Base class for guard failures; catch it to treat any guard problem alike."""


class GuardConfigError(GuardError):
    """Raised by `GuardConfig` or `build_guards` when a setting cannot be used.

    Fix the named `SWITCHBOARD_GUARD_*` variable; the message quotes its value.
    """


class GuardModelUnavailable(GuardConfigError):
    """Raised at start-up when a model-based scanner is configured but cannot load.

    Only raised with `SWITCHBOARD_GUARD_REQUIRE_MODELS=true`; otherwise the scanner
    is skipped and the start-up line says why. Point the variable at a local
    Hugging Face model directory (or unset it to run without that scanner).
    """
