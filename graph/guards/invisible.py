"""Invisible and Unicode tricks: hidden tag-character payloads and look-alike letters.

llm-guard's `InvisibleText` strips format/private/unassigned characters; this
module adds what it does not do: it *reads* text smuggled in Unicode tag
characters (U+E0020–U+E007E mirror ASCII and render as nothing) so that the
payload can be blocked, and folds Cyrillic/Greek look-alikes into Latin letters
for the injection detector.
"""

from __future__ import annotations

import unicodedata

_TAG_BASE = 0xE0000
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ν": "v",
        "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
        "І": "I", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "А": "A", "В": "B", "Е": "E", "К": "K",
        "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "ο": "o",
    }
)  # fmt: skip


def hidden_tag_text(text: str) -> str:
    """Return the ASCII text hidden in Unicode tag characters ('' when none)."""
    if text.isascii():  # tag characters are not ASCII; most text is, and this check is C-fast
        return ""
    return "".join(chr(ord(c) - _TAG_BASE) for c in text if 0xE0020 <= ord(c) <= 0xE007E)


def fold_confusables(text: str) -> str:
    """Map NFKC-normalised look-alike letters (Cyrillic `а`, full-width `Ａ`) to Latin."""
    return unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)


def has_mixed_script_words(text: str) -> bool:
    """Whether any word mixes Latin with Cyrillic or Greek letters (a homoglyph trick)."""
    for word in text.split():
        scripts = set()
        for c in word:
            if c.isalpha():
                name = unicodedata.name(c, "")
                scripts.add(name.split(" ")[0])
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
            return True
    return False
