"""Undo the cheap encodings attackers wrap instructions in, so detectors see the payload."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

from graph.guards.invisible import fold_confusables

_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")
_SPACED = re.compile(r"(?:\b\w[ .\-_*]{1,3}){4,}\w\b")
_LEET = str.maketrans(
    {"4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[013457])\w{3,}\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]{2,}")
_COMMON_WORDS = frozenset(
    """about all and any are as at be but by can do for from give how if in is it me my
    no not now of on or our out print reveal rules say send show so system tell that the their
    them these they this to tool us what when where which who will with you your""".split()
)
"""Words so frequent that a payload written backwards almost surely contains one of them."""


def _printable_ascii(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c == " " for c in decoded)
    return decoded if decoded and letters / len(decoded) > 0.8 and " " in decoded else None


def decoded_blobs(text: str) -> list[str]:
    """Return readable text hidden in base64 or hex runs of `text`."""
    found = []
    for blob in _B64.findall(text):
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if (decoded := _printable_ascii(raw)) is not None:
            found.append(decoded)
    for blob in _HEX.findall(text):
        if (decoded := _printable_ascii(bytes.fromhex(blob))) is not None:
            found.append(decoded)
    return found


def _collapse_spaced(match: re.Match[str]) -> str:
    chunk = match.group(0)
    # "I g n o r e   y o u r" → words are separated by the wider gaps.
    words = re.split(r"\s{2,}|[ .\-_*]{3,}", chunk)
    return " ".join(re.sub(r"[ .\-_*]", "", w) for w in words)


def variants(text: str) -> list[str]:
    """Return readings of `text` worth scanning; the first is the text itself.

    Adds: look-alike letters folded, base64/hex payloads decoded, spaced or
    dotted letters joined, leetspeak undone, ROT13 when the text asks for it,
    and the reversed text when it mentions reading backwards and some word
    of it is a common word spelt backwards.
    """
    out = [text]
    folded = fold_confusables(text)
    if _folding_changes_latin_letters(text, folded):
        out.append(folded)
    out += decoded_blobs(folded)
    collapsed = _SPACED.sub(_collapse_spaced, folded)
    if collapsed != folded:
        out.append(collapsed)
    if len(_LEET_WORD.findall(folded)) >= 2:
        out.append(_LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), folded))
    lowered = folded.lower()
    if "rot13" in lowered or "rot-13" in lowered:
        out.append(codecs.decode(folded, "rot13"))
    if ("backward" in lowered or "reverse" in lowered) and _reads_backwards(lowered):
        out.append(folded[::-1])
    return list(dict.fromkeys(v for v in out if v.strip()))


def _folding_changes_latin_letters(text: str, folded: str) -> bool:
    """Whether the folded reading is worth a scan of its own.

    Not when folding only changed punctuation or width ("，" → ","), and not for
    text without a Latin letter: Russian or Greek written in its own alphabet is
    not a homoglyph trick, and its folded reading is letter soup.
    """
    if _alnum(folded) == _alnum(text):
        return False
    return any("LATIN" in unicodedata.name(c, "") for c in text if c.isalpha())


def _alnum(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def _reads_backwards(lowered: str) -> bool:
    """Whether some word of `lowered` is a common word spelt backwards ("lla", "ruoy").

    "Reverse the payment" and "a function that reverses a list" mention reversing
    without carrying a reversed payload; their reversed reading is letter soup the
    classifier never saw, and it scored as an attack (issue 9's false blocks).
    """
    return any(
        word not in _COMMON_WORDS and word[::-1] in _COMMON_WORDS for word in _WORD.findall(lowered)
    )
