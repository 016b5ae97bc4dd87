"""The input guard: runs on every user message before triage and before any tool."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import tiktoken

from graph.guards.injection import InjectionDetector
from graph.guards.invisible import hidden_tag_text
from graph.guards.notices import REFUSAL_INPUT, REFUSAL_TOO_LONG, redaction_notice
from graph.guards.pii import PiiScanner, Vault
from graph.guards.verdicts import GuardTrip, InputVerdict

SECRET_PLACEHOLDER = "[SECRET]"


class InputGuard:
    """Scan a user message: block, or pass it on sanitized and redacted.

    Order (cheap first; a block stops the chain):
    1. `InvisibleText` (llm-guard) strips invisible characters; a payload hidden
       in Unicode tag characters blocks.
    2. `TokenLimit`: cl100k_base token count above the limit blocks.
    3. `BanSubstrings` / `Regex` (llm-guard) from configuration block.
    4. `Secrets` (llm-guard, detect-secrets) and `PII` (Presidio patterns plus
       phonenumbers) replace values with placeholders kept in the vault.
    5. `InjectionClassifier` (ours) and, when a local model is configured,
       `PromptInjection`/`Toxicity` (llm-guard) run on the redacted text, the
       text the model and retrieval will see (one cached embedding per turn).
    """

    def __init__(
        self,
        *,
        invisible: Any,
        secrets: Any,
        pii: PiiScanner,
        injection: InjectionDetector,
        max_tokens: int,
        banned: list[Any] | None = None,
        model_scanners: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.invisible = invisible
        self.secrets = secrets
        self.pii = pii
        self.injection = injection
        self.max_tokens = max_tokens
        # llm-guard's TokenLimit logs the message chunks at warning level, which
        # would put unredacted user text in the logs; count with its encoding here.
        self._encoding = tiktoken.get_encoding("cl100k_base")
        self.banned = banned or []
        self.model_scanners = model_scanners or []

    def scan(self, text: str, vault: Vault | None = None) -> InputVerdict:
        """Scan one message (blocking, CPU-bound).

        Pass the thread's `vault` so that a value keeps its placeholder across turns.
        """
        trips: list[GuardTrip] = []

        def block(scanner: str, score: float = 1.0, refusal: str = REFUSAL_INPUT) -> InputVerdict:
            trips.append(GuardTrip("input", scanner, "blocked", round(score, 3)))
            return InputVerdict(allowed=False, text="", trips=trips, refusal=refusal)

        if hidden_tag_text(text).strip():
            return block("InvisibleText")
        cleaned, valid, _ = self.invisible.scan(text)
        if not valid:
            trips.append(GuardTrip("input", "InvisibleText", "redacted"))
        if self._over_token_limit(cleaned):
            return block("TokenLimit", refusal=REFUSAL_TOO_LONG)
        for name, scanner in self.banned:
            _, ok, _ = scanner.scan(cleaned)
            if not ok:
                return block(name)

        notice_labels: list[str] = []
        redacted, ok, _ = self.secrets.scan(cleaned)
        if not ok:
            redacted = re.sub(r"\*{6,}\S*", SECRET_PLACEHOLDER, redacted)
            trips.append(GuardTrip("input", "Secrets", "redacted"))
            notice_labels.append("SECRET")
        redaction = self.pii.redact(redacted, vault)
        if redaction.changed:
            trips.append(GuardTrip("input", "PII", "redacted", 1.0))
            notice_labels += redaction.labels
        redacted = redaction.text

        probability = self.injection.score(redacted) if redacted.strip() else 0.0
        if probability >= self.injection.threshold:
            return block("InjectionClassifier", probability)
        for name, scanner in self.model_scanners:
            _, ok, risk = scanner.scan(redacted)
            if not ok:
                return block(name, max(risk, 0.0))

        return InputVerdict(
            allowed=True,
            text=redacted,
            trips=trips,
            user_notice=redaction_notice(notice_labels),
            redaction=redaction,
        )

    def _over_token_limit(self, text: str) -> bool:
        """Whether `text` is more than `max_tokens` cl100k tokens long.

        A token is at least one UTF-8 byte, so text of at most `max_tokens` bytes
        (most messages) is within the limit without tokenising it: tiktoken lets go
        of the GIL to tokenise, and getting it back beside a busy event loop took
        5 ms, against 0.1 ms for the tokenising itself.
        """
        if len(text.encode("utf-8", "surrogatepass")) <= self.max_tokens:
            return False
        return len(self._encoding.encode(text, disallowed_special=())) > self.max_tokens

    async def ascan(self, text: str, vault: Vault | None = None) -> InputVerdict:
        """Scan in a worker thread so the event loop keeps serving."""
        return await asyncio.to_thread(self.scan, text, vault)
