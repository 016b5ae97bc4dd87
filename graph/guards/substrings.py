"""llm-guard's substring scanners, with one lowercasing of the text per scan.

`BanSubstrings` lowercases the whole text once per substring (28 times for the
refusal phrases of `NoRefusalLight`, checked on every reply) and logs a clean scan
through structlog's lazy proxy: 24 µs for a two-sentence reply, against 3.4 µs
here, and ~0.7 % of the load server's event-loop samples. The subclasses below
give the same verdicts for the settings the service uses (plain substrings, any
of them, no redaction) by lowercasing once, and defer to llm-guard for anything
else. They keep llm-guard's class names,
which are the scanner names in `guard` events and the start-up line.
"""

from __future__ import annotations

import logging

from llm_guard.input_scanners import BanSubstrings as LlmGuardBanSubstrings
from llm_guard.input_scanners.ban_substrings import MatchType
from llm_guard.output_scanners import NoRefusalLight as LlmGuardNoRefusalLight

logger = logging.getLogger(__name__)


class BanSubstrings(LlmGuardBanSubstrings):
    """`llm_guard.input_scanners.BanSubstrings`, lowercasing the text once per scan."""

    def scan(self, prompt: str) -> tuple[str, bool, float]:
        """Return `(prompt, is_valid, risk)` exactly as llm-guard's scanner would."""
        return substring_scan(self, prompt)


class NoRefusalLight(LlmGuardNoRefusalLight):
    """`llm_guard.output_scanners.NoRefusalLight`, lowercasing the reply once per scan."""

    def scan(self, prompt: str, output: str) -> tuple[str, bool, float]:
        """Return `(output, is_valid, risk)` exactly as llm-guard's scanner would."""
        return substring_scan(self._scanner, output)


def substring_scan(scanner: LlmGuardBanSubstrings, text: str) -> tuple[str, bool, float]:
    """Scan `text` with `scanner`'s settings; one lowercasing when they allow it."""
    if scanner._match_type is not MatchType.STR or scanner._contains_all or scanner._redact:
        return LlmGuardBanSubstrings.scan(scanner, text)
    folded = text if scanner._case_sensitive else text.lower()
    for substring in scanner._substrings:
        if (substring if scanner._case_sensitive else substring.lower()) in folded:
            logger.debug("banned substring found")
            return text, False, 1.0
    return text, True, -1.0
