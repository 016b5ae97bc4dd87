"""PII detection, reversible redaction (placeholders plus a vault) and output masking.

Presidio's `AnalyzerEngine` runs with pattern recognizers only and a tokenizer-only
NLP engine (`spacy.blank("en")`), so no spaCy model is needed (llm-guard's
Anonymize would fetch `en_core_web_sm` and, in 0.3.16, `zh_core_web_sm`). Presidio's
own phone recognizer misses most international formats, so phones come from
`phonenumbers.PhoneNumberMatcher` run over several regions.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)

from graph.guards.held_regex import hold_the_gil_in_presidio

ENTITY_LABELS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "UK_NINO": "NINO",
    "IP_ADDRESS": "IP",
}
"""Presidio entity → placeholder stem (`[EMAIL_1]`)."""

PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "BE", "ES", "IT", "IE", "CH", "AT", "PT", "CA", "AU")
"""Regions tried for numbers written without a country code, in this order."""
MIN_PHONE_DIGITS = 7
"""Shorter digit runs are order numbers, amounts or dates, never phone numbers."""

MASKED_IN_OUTPUT = frozenset({"CREDIT_CARD", "IBAN_CODE", "US_SSN", "UK_NINO"})
"""Entities the reply never shows in full: only the last four characters survive."""
MIN_DIGITS_MASKED = 2
"""The fewest digits any of them holds (an IBAN's check digits; cards and ids hold more)."""

_PLACEHOLDER = re.compile(r"\[(EMAIL|PHONE|CARD|IBAN|SSN|NINO|IP)_(\d+)\]")


def parse_placeholder(placeholder: str) -> tuple[str, int] | None:
    """Return `(label, number)` of a placeholder such as `[EMAIL_1]`, else None."""
    match = _PLACEHOLDER.fullmatch(placeholder)
    return (match.group(1), int(match.group(2))) if match else None


_PRIORITY = {"CREDIT_CARD": 6, "IBAN_CODE": 6, "US_SSN": 5, "UK_NINO": 5, "EMAIL_ADDRESS": 4}


class _TokenizerOnlyNlpEngine(NlpEngine):
    """An NLP engine that only tokenizes, so context words still raise scores."""

    def __init__(self) -> None:
        self._nlp: Any = None

    def load(self) -> None:
        import spacy

        self._nlp = spacy.blank("en")

    def is_loaded(self) -> bool:
        return self._nlp is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        doc = self._nlp(text)
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=self,
            language=language,
        )

    def process_batch(
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        **kw: Any,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return bool(self._nlp.vocab[word].is_stop)

    def is_punct(self, word: str, language: str) -> bool:
        return bool(self._nlp.vocab[word].is_punct)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return ["en"]


_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
"""Presidio's e-mail check calls `tldextract.extract`, which fetches the public
suffix list (and logs a traceback offline); the bundled snapshot is enough."""


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating domains without network access."""

    def validate_result(self, pattern_text: str) -> bool:
        """Accept the match when its domain has a known public suffix."""
        return _OFFLINE_TLD(pattern_text).fqdn != ""


_DATE_LIKE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\s*$")
_DIGITS_BEFORE = re.compile(r"(?:\d[ -]?|[A-Za-z][-_/]?)$")


class PhoneNumbersRecognizer(EntityRecognizer):
    """Find phone numbers in international and national formats with `phonenumbers`."""

    def __init__(self, regions: tuple[str, ...] = PHONE_REGIONS) -> None:
        self.regions = regions
        super().__init__(supported_entities=["PHONE_NUMBER"], name="PhoneNumbersRecognizer")

    def load(self) -> None:
        """Load nothing: `phonenumbers` carries its metadata."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return phone matches; valid numbers score 0.9, well-formatted possible ones 0.6."""
        found: dict[tuple[int, int], RecognizerResult] = {}
        if sum(c.isdigit() for c in text) < MIN_PHONE_DIGITS:
            return []  # no number to find: skip 14 regions' matchers (most messages)
        for region in self.regions:
            # POSSIBLE accepts reserved fictional ranges such as (555) 010-1234 too.
            for match in phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.POSSIBLE
            ):
                raw = match.raw_string
                if sum(c.isdigit() for c in raw) < MIN_PHONE_DIGITS or _DATE_LIKE.match(raw):
                    continue
                if _DIGITS_BEFORE.search(text[: match.start]):
                    continue  # the tail of a longer number or of an id such as INV-2024-00871
                formatted = raw.startswith("+") or bool(re.search(r"[\s().-]", raw.strip()))
                valid = phonenumbers.is_valid_number(match.number)
                score = 0.9 if valid else 0.6 if formatted else 0.4
                key = (match.start, match.end)
                if key not in found or found[key].score < score:
                    found[key] = RecognizerResult("PHONE_NUMBER", match.start, match.end, score)
        return list(found.values())


def build_analyzer(extra: Iterable[EntityRecognizer] = ()) -> AnalyzerEngine:
    """Return a Presidio analyzer built from pattern recognizers (no spaCy model).

    Its matching keeps the GIL (`graph/guards/held_regex.py`).
    """
    hold_the_gil_in_presidio()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        OfflineEmailRecognizer(),
        CreditCardRecognizer(),  # Luhn-checked
        IbanRecognizer(),  # checksum-validated
        UsSsnRecognizer(),
        UkNinoRecognizer(),
        IpRecognizer(),
        PhoneNumbersRecognizer(),
        *extra,
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry, nlp_engine=_TokenizerOnlyNlpEngine(), supported_languages=["en"]
    )


_NUMBER_ENTITIES = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "US_SSN"})
"""Entities that are digit groups, so can also be a fragment of a longer identifier."""
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _inside_uuid(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies in a UUID (a thread or request id).

    "47741142-0581-45ca-9067-54397c96b3c1" holds a Luhn-valid 14-digit run that
    the card recogniser takes for a card number.
    """
    return any(m.start() <= start and end <= m.end() for m in _UUID.finditer(text))


@dataclass(frozen=True, slots=True)
class PiiEntity:
    """One detected value (character offsets into the scanned text)."""

    entity_type: str
    start: int
    end: int
    score: float
    value: str


@dataclass(slots=True)
class Vault:
    """Placeholder ↔ original value, for one conversation thread.

    Keep one per thread (or per turn) in server memory; never send it to the
    model, logs or traces. The same value always gets the same placeholder.
    """

    values: dict[str, str] = field(default_factory=dict)
    """`"[EMAIL_1]"` → `"ann@example.com"`."""
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_values(cls, values: dict[str, str]) -> Vault:
        """Rebuild a vault from its `values` (e.g. those kept in a checkpoint).

        Known values keep their placeholders; new values get fresh numbers.
        """
        vault = cls()
        for placeholder, value in values.items():
            parsed = parse_placeholder(placeholder)
            if parsed is None:
                continue
            label, number = parsed
            vault.values[placeholder] = value
            vault._by_value[(label, value)] = placeholder
            vault._counts[label] = max(vault._counts.get(label, 0), number)
        return vault

    def placeholder_for(self, label: str, value: str) -> str:
        """Return the placeholder of `value`, creating `[LABEL_n]` on first sight."""
        key = (label, value)
        with self._lock:
            if key not in self._by_value:
                self._counts[label] = self._counts.get(label, 0) + 1
                placeholder = f"[{label}_{self._counts[label]}]"
                self._by_value[key] = placeholder
                self.values[placeholder] = value
            return self._by_value[key]


@dataclass(slots=True)
class RedactionResult:
    """Text with placeholders, the entities replaced, and the vault holding them."""

    text: str
    entities: list[PiiEntity]
    vault: Vault

    @property
    def changed(self) -> bool:
        """Whether anything was replaced."""
        return bool(self.entities)

    @property
    def labels(self) -> list[str]:
        """Distinct placeholder stems replaced, in order of first appearance."""
        return list(dict.fromkeys(ENTITY_LABELS[e.entity_type] for e in self.entities))


class PiiScanner:
    """Detect PII with Presidio plus `phonenumbers`; redact, restore and mask."""

    def __init__(self, analyzer: AnalyzerEngine | None = None, threshold: float = 0.5) -> None:
        self.analyzer = analyzer or build_analyzer()
        self.threshold = threshold
        self.entities = [*ENTITY_LABELS, *self._extra_entities()]

    def _extra_entities(self) -> list[str]:
        known = set(ENTITY_LABELS)
        return sorted(
            e for e in self.analyzer.get_supported_entities(language="en") if e not in known
        )

    def find(self, text: str, entities: Iterable[str] | None = None) -> list[PiiEntity]:
        """Return non-overlapping entities, stronger types winning overlaps.

        `entities` narrows the search to those types (all known types by default).
        """
        if not text.strip():
            return []
        wanted = self.entities if entities is None else [e for e in self.entities if e in entities]
        results = self.analyzer.analyze(text=text, language="en", entities=wanted)
        results = [r for r in results if r.score >= self.threshold]
        results.sort(key=lambda r: (-_PRIORITY.get(r.entity_type, 1), -r.score, r.start))
        kept: list[PiiEntity] = []
        for r in results:
            if any(r.start < k.end and k.start < r.end for k in kept):
                continue
            start, end = r.start, r.end
            while start < end and not text[start].isalnum() and text[start] not in "+(":
                start += 1  # some patterns include the leading separator
            while end > start and not text[end - 1].isalnum():
                end -= 1
            if r.entity_type in _NUMBER_ENTITIES and _inside_uuid(text, start, end):
                continue
            kept.append(PiiEntity(r.entity_type, start, end, r.score, text[start:end]))
        return sorted(kept, key=lambda e: e.start)

    def redact(self, text: str, vault: Vault | None = None) -> RedactionResult:
        """Replace PII with placeholders such as `[EMAIL_1]`, recording values in `vault`."""
        vault = vault if vault is not None else Vault()
        entities = self.find(text)
        out, last = [], 0
        for e in entities:
            label = ENTITY_LABELS.get(e.entity_type, e.entity_type)
            out += [text[last : e.start], vault.placeholder_for(label, e.value)]
            last = e.end
        out.append(text[last:])
        return RedactionResult("".join(out), entities, vault)

    def mask_for_output(self, text: str) -> tuple[str, list[PiiEntity]]:
        """Mask card numbers, IBANs and national ids to their last four characters.

        Only those types are looked for: they outrank every other type in overlaps,
        so the others could not change which are found. Each of them holds at least
        two digits, so text with fewer is not analysed at all (most reply segments).
        """
        if sum(c.isdigit() for c in text) < MIN_DIGITS_MASKED:
            return text, []
        entities = self.find(text, MASKED_IN_OUTPUT)
        for e in reversed(entities):
            tail = re.sub(r"\W", "", e.value)[-4:]
            text = f"{text[: e.start]}•••• {tail}{text[e.end :]}"
        return text, entities


def restore(value: Any, vault: Vault) -> Any:
    """Put the vault's original values back into a string, or into tool arguments.

    Walks dicts, lists and tuples; other values pass through. Call it only inside
    the tool that needs the real value, never on text going to the model or logs.
    """
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: vault.values.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: restore(v, vault) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v, vault) for v in value]
    if isinstance(value, tuple):
        return tuple(restore(v, vault) for v in value)
    return value
