"""Errors raised by the offline chat model."""

from __future__ import annotations


class IntentCorpusError(ValueError):
    """Raised when the labelled intent corpus cannot be loaded.

    The corpus ships inside the package (`graph/llm/offline/data/`); a missing
    file means a broken install, a bad line means a bad edit. Fix the file the
    message names: one JSON object per line with a `text` and a known `intent`.
    """
