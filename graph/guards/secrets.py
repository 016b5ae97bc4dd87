"""llm-guard's `Secrets` scanner, run in memory with its settings loaded once.

llm-guard 0.3.16's `Secrets.scan` writes every message to a temporary file and
re-configures detect-secrets' process-wide settings around each call
(`transient_settings`: ~80 plugins re-imported from their files, caches busted).
That costs ~4 ms per call, it was the largest single cost of a chat turn (the
output guard scans each released sentence), and the global reconfiguration is not
safe when two scans run in two threads at once.

`InMemorySecrets` keeps llm-guard's detector set, filters and redaction, configures
detect-secrets once at start-up, snapshots the plugins and filters, and scans the
message's lines in memory the way `detect_secrets.core.scan.scan_file` scans a file
(the same line filters, plugins, secret and context filters, the same transformer
passes). Two shortcuts skip work that cannot find anything: a plain regex
detector runs only when one of its patterns matches the line, and the INI
transformers run only on text that could parse as INI. Measured: 0.3-0.4 ms a
scan against llm-guard's 3-5 ms. `tests/guards/test_secrets.py` checks that both
scanners flag the same messages and that ours never leaves more of a secret visible.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import MAX_LINE_LENGTH, MIN_LINE_LENGTH
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.settings import (
    cache_bust,
    configure_settings_from_baseline,
    get_filters,
    get_plugins,
)
from detect_secrets.transformers import get_transformed_file
from detect_secrets.util.code_snippet import get_code_snippet
from detect_secrets.util.inject import call_function_with_arguments
from llm_guard.input_scanners.secrets import REDACT_ALL, Secrets

# detect-secrets has filters that look at the file name; llm-guard's temporary file
# has no extension, so neither does ours (file type "other", like llm-guard's).
_FILENAME = "message"
_configure_lock = threading.Lock()


def _is_plain_regex(plugin: BasePlugin) -> bool:
    """Whether `plugin` finds secrets only through `RegexBasedDetector`'s denylist search."""
    kind = type(plugin)
    return (
        isinstance(plugin, RegexBasedDetector)
        and kind.analyze_line is BasePlugin.analyze_line
        and kind.analyze_string is RegexBasedDetector.analyze_string
    )


def _merged_spans(text: str, values: list[str | None]) -> list[tuple[int, int]]:
    """Return the sorted, merged character spans of every occurrence of `values`."""
    spans = []
    for value in {v for v in values if v}:
        start = text.find(value)
        while start != -1:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _may_parse_as_config(text: str, eager: bool) -> bool:
    """Whether detect-secrets' INI transformers could read `text` (they cost ~1 ms a try).

    The plain one needs a `[section]` line; the eager one adds a `[global]` header
    and then needs a `key = value` or `key: value` line. Anything else makes
    configparser raise, which detect-secrets treats as "not a config file".
    """
    if eager:
        return "=" in text or ":" in text
    return any(line.lstrip().startswith("[") for line in text.splitlines())


class _NamedText(io.StringIO):
    """The message as the named text file detect-secrets' transformers expect."""

    name = _FILENAME


class InMemorySecrets(Secrets):
    """`llm_guard.input_scanners.Secrets` with the same results, without the per-call setup."""

    def __init__(self, *, redact_mode: str = REDACT_ALL) -> None:
        super().__init__(redact_mode=redact_mode)
        with _configure_lock:
            cache_bust()
            configure_settings_from_baseline(self._detect_secrets_config)
            self._plugins = list(get_plugins())
            filters = list(get_filters())
        # Plain regex detectors report nothing unless one of their patterns matches:
        # trying the patterns first skips detect-secrets' per-call argument injection
        # for the ~100 detectors that do not apply to a line (most, on most lines).
        self._prefilters = {id(p): tuple(p.denylist) for p in self._plugins if _is_plain_regex(p)}
        self._line_filters = [f for f in filters if "line" in f.injectable_variables]
        self._secret_filters = [f for f in filters if "secret" in f.injectable_variables]
        self._context_filters = [f for f in filters if "context" in f.injectable_variables]

    def scan(self, prompt: str) -> tuple[str, bool, float]:
        """Scan like llm-guard: return (text with secrets replaced, is_valid, risk score).

        Unlike llm-guard, overlapping detections (a GitHub token that is also a
        high-entropy string) are merged and hidden as one: llm-guard replaces them
        one after the other, in an order that varies between processes, and can
        leave the token's last characters visible ("******AB").
        """
        if prompt.strip() == "":
            return prompt, True, -1.0
        found = [s.secret_value for s in self.find(prompt)]
        if not found:
            return prompt, True, -1.0
        # A value read from a transformed (INI) line may not appear verbatim: still flagged.
        spans = _merged_spans(prompt, found)
        out, last = [], 0
        for start, end in spans:
            out += [prompt[last:start], self.redact_value(prompt[start:end], self._redact_mode)]
            last = end
        out.append(prompt[last:])
        return "".join(out), False, 1.0

    def find(self, text: str) -> Iterator[PotentialSecret]:
        """Yield the secrets detect-secrets reports for `text` (llm-guard's detector set)."""
        raw_lines = text.splitlines(keepends=True)
        # scan_file: the plain (or config-transformed) lines first, then, only when they
        # held nothing, the eager transformers' reading.
        for eager in (False, True):
            lines = (
                # detect-secrets only reads `.name` and the lines of its NamedIO.
                get_transformed_file(_NamedText(text), use_eager_transformers=eager)  # type: ignore[arg-type]
                if _may_parse_as_config(text, eager)
                else None
            )
            if not lines:
                if eager:
                    return
                lines = raw_lines
            hits = [s for s in self._scan_lines(lines, raw_lines) if s.secret_value is not None]
            if hits:
                yield from hits
                return

    def _scan_lines(self, lines: list[str], raw_lines: list[str]) -> Iterator[PotentialSecret]:
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if len(line) < MIN_LINE_LENGTH or len(line) > MAX_LINE_LENGTH:
                continue
            context = get_code_snippet(lines=lines, line_number=number)
            raw_context = get_code_snippet(lines=raw_lines, line_number=number)
            if self._filtered(self._line_filters, filename=_FILENAME, line=line, context=context):
                continue
            for plugin in self._plugins:
                patterns = self._prefilters.get(id(plugin))
                if patterns is not None and not any(p.search(line) for p in patterns):
                    continue
                if isinstance(plugin, PrivateKeyDetector):
                    secrets = self._private_keys(plugin, raw_lines, number, line, context)
                else:
                    secrets = call_function_with_arguments(
                        plugin.analyze_line,
                        filename=_FILENAME,
                        line=line,
                        line_number=number,
                        context=context,
                        raw_context=raw_context,
                    )
                for secret in secrets or ():
                    keep = not self._filtered(
                        self._secret_filters,
                        filename=_FILENAME,
                        secret=secret.secret_value,
                        plugin=plugin,
                        line=line,
                    ) and not self._filtered(
                        self._context_filters,
                        filename=_FILENAME,
                        secret=secret.secret_value,
                        plugin=plugin,
                        line=line,
                        context=context,
                    )
                    if keep:
                        yield secret

    @staticmethod
    def _private_keys(
        plugin: PrivateKeyDetector, raw_lines: list[str], number: int, line: str, context: Any
    ) -> set[PotentialSecret]:
        """Run the key detector on the line, then, once per message, on the whole text.

        Upstream reads the file a second time (a key spans lines) and remembers the file
        name in the plugin; a long-lived plugin instance cannot remember, so the
        whole-message match runs for the first scanned line instead.
        """
        found = RegexBasedDetector.analyze_line(
            plugin, filename=_FILENAME, line=line, line_number=number, context=context
        )
        text = "".join(raw_lines)
        if found or number != 1 or not 0 < len(text) < PrivateKeyDetector.MAX_FILE_SIZE:
            return found
        whole = RegexBasedDetector.analyze_line(
            plugin, filename=_FILENAME, line=text, line_number=1, context=context
        )
        return plugin._get_updated_secrets(found_secrets=whole, file_content=text)

    @staticmethod
    def _filtered(filters: list[Any], **kwargs: Any) -> bool:
        """Apply detect-secrets' `_is_filtered_out`: a filter that does not fit is skipped."""
        for filter_fn in filters:
            try:
                if call_function_with_arguments(filter_fn, **kwargs):
                    return True
            except TypeError:
                continue
        return False
