"""The output guard: scans reply text before the user sees it, and tool results.

Streaming: `OutputStream.feed` holds tokens back until a sentence or clause
boundary, scans the held text, and only then releases it, so text that a
scanner rejects is never shown, not even briefly (issue 5).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from graph.guards.customer_data import ForeignDataMasker
from graph.guards.injection import InjectionDetector
from graph.guards.invisible import hidden_tag_text
from graph.guards.leakage import PromptLeakDetector
from graph.guards.links import LinkAllowList
from graph.guards.notices import REFUSAL_OUTPUT
from graph.guards.pii import PiiScanner
from graph.guards.verdicts import GuardTrip, OutputContext, Release, ToolResultVerdict

TOOL_PASSAGE_REMOVED = "[removed: text that looked like instructions]"
_SENTENCE_END = re.compile(r"(?:[.!?…](?=\s)|\n)")
_CLAUSE_END = re.compile(r"[,;:)](?=\s)")
_SAFE_CUT = re.compile(r"(?<![\d+(])\s+(?![\d(])")
_LEAK_CONTEXT_WORDS = 40
INLINE_SCAN_MAX_CHARS = 160
"""Segments up to this long are scanned on the event loop (under ~1 ms here): a
worker-thread hop costs ~60 µs, and pure-Python scanning holds the GIL anyway."""


class OutputGuard:
    """Factory for per-reply streams, plus the tool-result scanner."""

    def __init__(
        self,
        *,
        pii: PiiScanner,
        secrets: Any,
        links: LinkAllowList,
        injection: InjectionDetector,
        refusal: Any = None,
        toxicity: Any = None,
        max_hold_chars: int = 240,
        min_clause_chars: int = 60,
        refusal_is_model: bool = False,
    ) -> None:
        self.pii = pii
        self.secrets = secrets
        self.links = links
        self.injection = injection
        self.refusal = refusal
        self.toxicity = toxicity
        self.foreign = ForeignDataMasker()
        self.max_hold_chars = max_hold_chars
        self.min_clause_chars = min_clause_chars
        self.runs_models = toxicity is not None or (refusal is not None and refusal_is_model)
        """A transformer scans each segment or the end of a reply: keep those off the loop."""

    def new_stream(self, context: OutputContext | None = None) -> OutputStream:
        """Start guarding one reply; use one stream per assistant message."""
        return OutputStream(self, context or OutputContext())

    def scan(self, text: str, context: OutputContext | None = None) -> list[Release]:
        """Guard a complete (non-streamed) reply; returns the releases in order."""
        stream = self.new_stream(context)
        return [*stream.feed(text), *stream.finish()]

    def scan_segment(
        self, text: str, context: OutputContext, leak: PromptLeakDetector, before: str
    ) -> Release:
        """Scan one boundary-delimited segment; `before` is recently released text."""
        trips: list[GuardTrip] = []
        if leak.leaks(f"{before} {text}"):
            return Release(REFUSAL_OUTPUT, True, (GuardTrip("output", "PromptLeak", "blocked"),))
        if self.toxicity is not None:
            _, ok, risk = self.toxicity.scan("", text)
            if not ok:
                trip = GuardTrip("output", "Toxicity", "blocked", max(risk, 0.0))
                return Release(REFUSAL_OUTPUT, True, (trip,))
        text, masked = self.pii.mask_for_output(text)
        if masked:
            trips.append(GuardTrip("output", "PII", "masked"))
        sanitized, ok, _ = self.secrets.scan(text)
        if not ok:
            text = re.sub(r"\*{6,}\S*", "[hidden]", sanitized)
            trips.append(GuardTrip("output", "Secrets", "masked"))
        text, removed = self.links.strip(text)
        if removed:
            trips.append(GuardTrip("output", "Links", "masked"))
        text, foreign = self.foreign.mask(text, context)
        if foreign:
            trips.append(GuardTrip("output", "CustomerData", "masked"))
        return Release(text, False, tuple(trips))

    def check_tool_result(self, result: str) -> ToolResultVerdict:
        """Scan a tool result for instructions hidden in data (indirect injection).

        JSON results are scanned field by field and re-serialised; plain text is
        scanned line by line. Suspicious passages are replaced, the rest is kept.
        """
        return self._judge_tool_result(_ToolResultReading.of(result))

    async def acheck_tool_result(self, result: str) -> ToolResultVerdict:
        """`check_tool_result`, in a worker thread when a passage must be embedded.

        Scores are cached per passage (`InjectionDetector.score_many`): a result
        whose passages were all scored before (help-center articles, repeated
        lookups) is judged here, without the hop to a thread and back.
        """
        reading = _ToolResultReading.of(result)
        if self.injection.knows_scores(reading.candidates):
            return self._judge_tool_result(reading)
        return await asyncio.to_thread(self._judge_tool_result, reading)

    def _judge_tool_result(self, reading: _ToolResultReading) -> ToolResultVerdict:
        candidates, result = reading.candidates, reading.result
        scores = self.injection.score_many(candidates)
        flagged = {
            s
            for s, p in zip(candidates, scores, strict=True)
            if p >= self.injection.threshold or hidden_tag_text(s).strip()
        }
        best = max(scores, default=0.0)
        if not flagged:
            return ToolResultVerdict(clean=True, text=result, score=best)
        if reading.is_json:
            text = json.dumps(_replace_strings(reading.data, flagged), ensure_ascii=False)
        else:
            text = "\n".join(
                TOOL_PASSAGE_REMOVED if line in flagged else line for line in result.splitlines()
            )
        trip = GuardTrip("tool", "InjectionClassifier", "redacted", round(best, 3))
        return ToolResultVerdict(clean=False, text=text, trips=[trip], score=best)


@dataclass(frozen=True)
class _ToolResultReading:
    """A tool result read for scanning: its JSON (if it is) and the passages to score."""

    result: str
    data: Any
    is_json: bool
    candidates: list[str]

    @classmethod
    def of(cls, result: str) -> _ToolResultReading:
        try:
            data: Any = json.loads(result)
            is_json = isinstance(data, dict | list)
        except (json.JSONDecodeError, TypeError):
            data, is_json = None, False
        if is_json:
            leaves: list[str] = []
            _collect_strings(data, leaves)
        else:
            leaves = [line for line in result.splitlines() if line.strip()]
        candidates = [s for s in dict.fromkeys(leaves) if len(s.split()) >= 3 or hidden_tag_text(s)]
        return cls(result, data, is_json, candidates)


def _collect_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_strings(v, out)


def _replace_strings(value: Any, flagged: set[str]) -> Any:
    if isinstance(value, str):
        return TOOL_PASSAGE_REMOVED if value in flagged else value
    if isinstance(value, dict):
        return {k: _replace_strings(v, flagged) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, flagged) for v in value]
    return value


class OutputStream:
    """Guard one streamed reply: feed model deltas, send only what comes back.

    Not thread-safe; one stream per reply. After a blocked release the stream is
    closed and further deltas are dropped.
    """

    def __init__(self, guard: OutputGuard, context: OutputContext) -> None:
        self.guard = guard
        self.context = context
        self.leak = PromptLeakDetector.for_prompts(tuple(context.system_prompts))
        self.closed = False
        self._buffer = ""
        self._clause_end = 0  # where the held text's last clause end seen so far ends
        self._released: list[str] = []
        self._tail = ""

    @property
    def released_text(self) -> str:
        """Everything released so far (what the user has seen)."""
        return "".join(self._released)

    def feed(self, delta: str) -> list[Release]:
        """Add model output; return the releases that passed (possibly none yet)."""
        segment = self._take_segment(delta)
        return self._release(segment) if segment else []

    def finish(self) -> list[Release]:
        """Flush the held text at the end of the reply and run end-of-reply checks."""
        if self.closed:
            return []
        releases = self._release(self._buffer) if self._buffer else []
        self._hold("")
        if not self.closed and self.guard.refusal is not None:
            _, ok, score = self.guard.refusal.scan("", self.released_text)
            if not ok:
                trip = GuardTrip("output", type(self.guard.refusal).__name__, "flagged", score)
                releases.append(Release("", False, (trip,)))
        self.closed = True
        return releases

    async def afeed(self, delta: str) -> list[Release]:
        """`feed`, with the scan of a long segment (CPU work) in a worker thread.

        Most deltas only extend the held text, and a sentence is scanned faster
        than a thread hop is made (`INLINE_SCAN_MAX_CHARS`): those stay on the
        event loop, unless a transformer (Toxicity) scans each segment.
        """
        segment = self._take_segment(delta)
        if self._off_the_loop(segment):
            return await asyncio.to_thread(self._release, segment)
        return self._release(segment) if segment else []

    def _take_segment(self, delta: str) -> str:
        """Add `delta` to the held text; return the part now ready to scan, or ""."""
        if self.closed or not delta:
            return ""
        # Each boundary needs the character after it: a new one starts at the held
        # text's last character at the earliest.
        new_from = max(0, len(self._buffer) - 1)
        self._buffer += delta
        cut = self._cut_point(new_from)
        if cut <= 0:
            return ""
        segment = self._buffer[:cut]
        self._hold(self._buffer[cut:], cut)
        return segment

    def _hold(self, text: str, cut: int | None = None) -> None:
        """Hold `text`: what is left once the held text up to `cut` went (all, by default)."""
        self._buffer = text
        self._clause_end = self._clause_end - cut if cut and self._clause_end > cut else 0

    async def afinish(self) -> list[Release]:
        """`finish`, in a worker thread when there is more than a sentence to scan.

        The default end-of-reply refusal check only looks for phrases in what
        was released; the model-based one (`SWITCHBOARD_GUARD_NO_REFUSAL_MODEL`)
        gets the thread whenever there is text.
        """
        if self._off_the_loop(self._buffer) or (self.guard.runs_models and self._released):
            return await asyncio.to_thread(self.finish)
        return self.finish()

    def _off_the_loop(self, segment: str) -> bool:
        """Whether scanning `segment` takes longer than a worker-thread hop costs."""
        return len(segment) > INLINE_SCAN_MAX_CHARS or (bool(segment) and self.guard.runs_models)

    def _cut_point(self, new_from: int) -> int:
        """Where to cut the held text (0: hold it all).

        After its last sentence end; else, once it is long enough, after its last
        clause end; else, once it is too long to hold, at its last space outside a
        number. Only boundaries from `new_from` on are new: the held text never keeps a
        sentence end (each cut takes the last one), and its last clause end is kept
        in `_clause_end`, so a token costs the length of the token, not of the text.
        """
        buf = self._buffer
        for match in _CLAUSE_END.finditer(buf, new_from):
            self._clause_end = match.end()
        sentence_end = 0
        for match in _SENTENCE_END.finditer(buf, new_from):
            sentence_end = match.end()
        if sentence_end:
            return sentence_end
        if len(buf) >= self.guard.min_clause_chars and self._clause_end:
            return self._clause_end
        if len(buf) >= self.guard.max_hold_chars:
            # Never cut inside a number group: a card number split in two would
            # escape the masker.
            cuts = [m.start() for m in _SAFE_CUT.finditer(buf)]
            if cuts and cuts[-1] > 0:
                return cuts[-1]
        return 0

    def _release(self, segment: str) -> list[Release]:
        release = self.guard.scan_segment(segment, self.context, self.leak, self._tail)
        if release.blocked:
            self.closed = True
            self._hold("")
        else:
            self._released.append(release.text)
            words = f"{self._tail} {release.text}".split()
            self._tail = " ".join(words[-_LEAK_CONTEXT_WORDS:])
        return [release]
