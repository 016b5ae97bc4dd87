"""System-prompt leakage: verbatim or near-verbatim runs of our prompts in a reply."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class PromptLeakDetector:
    """Flag replies that reproduce `min_run` or more consecutive words of a prompt.

    Matching is on lower-cased words with punctuation and whitespace ignored, so
    re-formatted copies (bullets turned into sentences, quotes added) still match.
    A paraphrase is not caught; that would need embeddings per sentence.
    """

    def __init__(self, prompts: tuple[str, ...] | list[str], shingle: int = 5, min_run: int = 8):
        self.shingle = shingle
        self.min_run = min_run
        self._shingles: set[tuple[str, ...]] = set()
        for prompt in prompts:
            words = _words(prompt)
            for i in range(len(words) - shingle + 1):
                self._shingles.add(tuple(words[i : i + shingle]))
        # A shingle is only looked up at a word that starts one (most do not).
        self._first_words = {words[0] for words in self._shingles}

    @staticmethod
    @lru_cache(maxsize=32)
    def for_prompts(prompts: tuple[str, ...]) -> PromptLeakDetector:
        """Return a shared detector for `prompts` (it is read-only once built)."""
        return PromptLeakDetector(prompts)

    def leaked_words(self, text: str) -> int:
        """Return the longest run of words in `text` that also occurs in a prompt."""
        if not self._shingles:
            return 0
        words = _words(text)
        covered = [False] * len(words)
        found = False
        for i in range(len(words) - self.shingle + 1):
            if (
                words[i] in self._first_words
                and tuple(words[i : i + self.shingle]) in self._shingles
            ):
                covered[i : i + self.shingle] = [True] * self.shingle
                found = True
        if not found:
            return 0
        longest = run = 0
        for flag in covered:
            run = run + 1 if flag else 0
            longest = max(longest, run)
        return longest

    def leaks(self, text: str) -> bool:
        """Whether `text` contains at least `min_run` consecutive prompt words."""
        return self.leaked_words(text) >= self.min_run
