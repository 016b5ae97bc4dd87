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
passes). Shortcuts skip work that cannot find anything:
- a plain regex detector runs only when one of its patterns matches the line, and
  its patterns are tried only when the line holds a literal text that every match
  of one starts with (most start with a keyword: `(?i)(?:stripe)…`, `ghp_…`);
- the indirect-reference filter's regex, quadratic in the line's length, runs only
  on lines with an assignment sign and brackets;
- the INI transformers run only on text that could parse as INI, and one line of
  text is read as the eager one reads it without configparser (`eager_ini_lines`);
- the allowlist filter's twelve regexes run only where the word "pragma" is;
- filters and detectors are called with the arguments they take read off them once,
  not on every call (detect-secrets' `call_function_with_arguments`).
Measured: a sentence 0.05 ms (0.17 ms with a colon before `eager_ini_lines`, which
takes 0.05 ms of that away), a JSON tool result 0.4 ms, against llm-guard's 3-5 ms a scan.
The last two shortcuts took a sentence with a colon from 0.16 to 0.12 ms on a slower machine.
`tests/guards/test_secrets.py` checks that both scanners flag the same messages
and that ours never leaves more of a secret visible.
"""

from __future__ import annotations

import configparser
import inspect
import io
import re
import threading
from collections.abc import Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import MAX_LINE_LENGTH, MIN_LINE_LENGTH
from detect_secrets.filters.allowlist import is_line_allowlisted
from detect_secrets.filters.heuristic import is_indirect_reference
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.settings import (
    cache_bust,
    configure_settings_from_baseline,
    get_filters,
    get_plugins,
)
from detect_secrets.transformers import get_transformed_file, get_transformers
from detect_secrets.transformers.config import _is_allowlist_nextline_secret_comment
from detect_secrets.util.code_snippet import get_code_snippet
from detect_secrets.util.inject import get_injectable_variables, make_function_self_aware
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


def match_prefixes(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Return the literal texts one of which starts every match of `pattern`, or None.

    Read off the parsed pattern: leading zero-width anchors (word boundaries, `^`)
    are skipped, literal runs, groups and alternations of literals are followed
    (up to 64 prefixes), and an alternation needs a prefix in every branch. Only
    ASCII literals count; under IGNORECASE they are lower-cased (compare with the
    lower-cased line, on ASCII lines only: Unicode case folding maps `ſ` to `s`).
    """
    try:
        parsed = sre_parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    prefixes = _prefixes(list(parsed))
    if prefixes is None or not all(p.isascii() for p in prefixes):
        return None
    if pattern.flags & re.IGNORECASE:
        return frozenset(p.lower() for p in prefixes)
    return frozenset(prefixes)


_MAX_PREFIXES = 64


def _prefixes(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Return the literal prefixes of a parsed sequence while they stay few, or None."""
    at = 0
    while at < len(items) and items[at][0] is sre_constants.AT:
        at += 1
    found = {""}
    for op, argument in items[at:]:
        whole = _literal_texts(op, argument)
        if whole is not None and len(found) * len(whole) <= _MAX_PREFIXES:
            found = {head + tail for head in found for tail in whole}
            continue
        starts = _literal_starts(op, argument)
        if starts is not None and len(found) * len(starts) <= _MAX_PREFIXES:
            found = {head + tail for head in found for tail in starts}
        break
    return None if "" in found else found


def _literal_texts(op: Any, argument: Any) -> set[str] | None:
    """Return every text the element matches when it only matches literal texts, or None."""
    if op is sre_constants.LITERAL:
        return {chr(argument)}
    if op is sre_constants.IN:
        # `(?:r|s)` parses as the class `[rs]`: a class of literals is their alternation.
        if not all(item_op is sre_constants.LITERAL for item_op, _ in argument):
            return None
        return {chr(code) for _, code in argument}
    if op is sre_constants.SUBPATTERN:
        _group, add_flags, del_flags, inner = argument
        if add_flags or del_flags:
            return None
        texts = {""}
        for inner_op, inner_argument in inner:
            part = _literal_texts(inner_op, inner_argument)
            if part is None or len(texts) * len(part) > _MAX_PREFIXES:
                return None
            texts = {head + tail for head in texts for tail in part}
        return texts
    if op is sre_constants.BRANCH:
        branches = [_literal_texts(sre_constants.SUBPATTERN, (None, 0, 0, b)) for b in argument[1]]
        if any(b is None for b in branches):
            return None
        return set().union(*branches)  # type: ignore[arg-type]
    return None


def _literal_starts(op: Any, argument: Any) -> set[str] | None:
    """Return the literal prefixes every match of the element starts with, or None."""
    if op is sre_constants.SUBPATTERN:
        _group, add_flags, del_flags, inner = argument
        return None if add_flags or del_flags else _prefixes(list(inner))
    if op is sre_constants.BRANCH:
        branches = [_prefixes(list(branch)) for branch in argument[1]]
        if any(b is None for b in branches):
            return None
        return set().union(*branches)  # type: ignore[arg-type]
    return None


class _DetectorIndex:
    """Which detectors to run on a line, in their order, read off the literals in it.

    A plain regex detector is tried when one of its patterns' prefixes is in the
    line or a pattern's prefix is unknown, and then runs only if a pattern
    matches; the other detectors always run. Non-ASCII lines try every detector.
    """

    def __init__(self, plugins: list[BasePlugin]) -> None:
        self.patterns: list[tuple[re.Pattern[str], ...] | None] = [
            tuple(p.denylist) if isinstance(p, RegexBasedDetector) and _is_plain_regex(p) else None
            for p in plugins
        ]
        self.always = {n for n, patterns in enumerate(self.patterns) if patterns is None}
        self.by_prefix: dict[tuple[str, bool], set[int]] = {}
        for n, patterns in enumerate(self.patterns):
            for pattern in patterns or ():
                prefixes = match_prefixes(pattern)
                if prefixes is None:
                    self.always.add(n)
                    continue
                folded = bool(pattern.flags & re.IGNORECASE)
                for prefix in prefixes:
                    self.by_prefix.setdefault((prefix, folded), set()).add(n)
        self.every = list(range(len(plugins)))

    def to_try(self, line: str) -> list[int]:
        """Return the positions of the detectors that may find something in `line`, in order."""
        if not line.isascii():
            return self.every
        lowered = line.lower()
        found = set(self.always)
        for (prefix, folded), detectors in self.by_prefix.items():
            if prefix in (lowered if folded else line):
                found |= detectors
        return sorted(found)

    def matches(self, position: int, line: str) -> bool:
        """Whether detector `position` is not a plain regex one, or one of its patterns matches."""
        patterns = self.patterns[position]
        return patterns is None or any(p.search(line) for p in patterns)


def _is_indirect_reference(line: str) -> bool:
    """detect-secrets' `is_indirect_reference` line filter, without its regex where moot.

    Its regex (`x = call(...)`, `x = y['k']`) takes time quadratic in the line's
    length when nothing matches (~60 µs a sentence); it cannot match a line
    without an assignment or comparison sign and both an opening and a closing
    bracket, so such lines are answered at once.
    """
    if not (
        ("=" in line or ":" in line or "!" in line)
        and ("[" in line or "(" in line)
        and ("]" in line or ")" in line)
    ):
        return False
    return is_indirect_reference(line)


# What detect-secrets' `call_function_with_arguments` reads off a filter.
_is_indirect_reference.injectable_variables = {"line"}  # type: ignore[attr-defined]


_ALLOWLIST_MARK = "pragma"
"""Every allowlist comment detect-secrets honours holds this (`get_allowlist_regexes`)."""


def _is_line_allowlisted(filename: str, line: str, context: Any) -> bool:
    """detect-secrets' allowlist filter, without its twelve regexes where moot.

    Its regexes (`# pragma: allowlist secret` in six comment styles, on the line or
    as `nextline` on the previous one) all need the word "pragma".
    """
    if _ALLOWLIST_MARK not in line and _ALLOWLIST_MARK not in (context.previous_line or ""):
        return False
    return is_line_allowlisted(filename, line, context)


_is_line_allowlisted.injectable_variables = {"filename", "line", "context"}  # type: ignore[attr-defined]
_FASTER = {is_indirect_reference: _is_indirect_reference, is_line_allowlisted: _is_line_allowlisted}


class _Injected:
    """A detect-secrets function called as `call_function_with_arguments` calls it.

    That function reads the callable's parameters (through `inspect`) on every call,
    ~2 µs, nine calls a line; here they are read once.
    """

    def __init__(self, func: Any) -> None:
        self.function = make_function_self_aware(func)
        self.names = frozenset(self.function.injectable_variables)
        self.bound: dict[str, Any] = {}
        if inspect.ismethod(func) and not inspect.ismethod(self.function):
            self.bound = {get_injectable_variables(func)[0]: func.__self__}

    def __call__(self, **kwargs: Any) -> Any:
        values = {key: value for key, value in kwargs.items() if key in self.names}
        return self.function(**values, **self.bound)


def _taking(variable: str, filters: list[Any]) -> list[_Injected]:
    """Return the filters that read `variable`, ours where faster, ready to call."""
    return [_Injected(_FASTER.get(f, f)) for f in filters if variable in f.injectable_variables]


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


_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
"""Characters that end a line for `str.splitlines` (configparser splits at `\\n` only)."""
_INI = configparser.ConfigParser()
_INI_OPTION = _INI._optcre  # type: ignore[attr-defined]
_INI_COMMENTS = tuple(_INI._comment_prefixes)  # type: ignore[attr-defined]


def eager_ini_lines(text: str) -> list[str] | None:
    """Read a one-line `text` as detect-secrets' eager INI transformer does, without configparser.

    The transformer adds a `[global]` header, parses the text with configparser
    (~0.06 ms for one line) and turns each `key: value` into `key = "value"`.
    Most messages and reply sentences with a colon are one line, and one line
    reads simply: the option pattern, stripped, quotes and all, as below.
    Returns the transformer's lines (empty when it would read nothing), or None
    for text this reading does not cover (several lines, a `%` or a `[`, a
    comment): detect-secrets reads those itself.
    `tests/guards/test_secrets.py` checks it against the transformer on
    about 2,000 generated lines.
    """
    if "%" in text or "[" in text or not _LINE_BREAKS.isdisjoint(text):
        return None
    line = text.strip()
    if not line or line.startswith(_INI_COMMENTS):
        return None
    match = _INI_OPTION.match(line)
    if match is None or not match.group("option"):
        return []  # configparser raises: no reading
    key = match.group("option").rstrip()
    value = match.group("value").strip()
    if not value:
        return []
    if not _value_follows_key(line, key, value):
        return []
    if _is_allowlist_nextline_secret_comment(value):
        return [value]
    return _quoted(key, value)


def _value_follows_key(line: str, key: str, value: str) -> bool:
    r"""Answer the transformer's `re.match(rf"^\s*{key}[ :=]+{value}", line)`, escaped.

    Without compiling a pattern per text (~0.06 ms, and each new one evicts another
    from `re`'s cache): `key` starts the stripped line, then a run of spaces, colons
    and equals signs, some non-empty part of which `value` follows.
    """
    if not line.startswith(key):
        return False
    rest = line[len(key) :]
    separators = len(rest) - len(rest.lstrip(" :="))
    return any(rest.startswith(value, end) for end in range(1, separators + 1))


def _quoted(key: str, value: str) -> list[str]:
    if value[0] in {"'", '"'} and value[-1] == value[0]:
        value = value[1:-1]
    value = value.replace('"', '\\"')
    return [f'{key} = "{value}"']


def _may_parse_as_config(text: str, eager: bool) -> bool:
    """Whether detect-secrets' INI transformers could read `text` (they cost ~1 ms a try).

    The plain one needs a `[section]` line; the eager one adds a `[global]` header
    and then needs a `key = value` or `key: value` line. Anything else makes
    configparser raise, which detect-secrets treats as "not a config file".
    """
    if eager:
        return "=" in text or ":" in text
    return any(line.lstrip().startswith("[") for line in text.splitlines())


def _config_reading(text: str, eager: bool) -> list[str] | None:
    """Return detect-secrets' (eager) config-file reading of `text`, if it has one."""
    if not _may_parse_as_config(text, eager):
        return None
    if eager and (lines := eager_ini_lines(text)) is not None:
        return lines
    # detect-secrets only reads `.name` and the lines of its NamedIO.
    return get_transformed_file(_NamedText(text), use_eager_transformers=eager)  # type: ignore[arg-type]


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
            # Imported (a walk of detect-secrets' package) on first use, which must not
            # be a scan on the event loop: most texts never reach them.
            get_transformers()
        # Plain regex detectors report nothing unless one of their patterns matches:
        # the index skips the ~100 that cannot apply to a line (most, on most lines)
        # without detect-secrets' per-call argument injection, mostly without a regex.
        self._index = _DetectorIndex(self._plugins)
        self._line_filters = _taking("line", filters)
        self._secret_filters = _taking("secret", filters)
        self._context_filters = _taking("context", filters)
        self._analyze_line = [_Injected(plugin.analyze_line) for plugin in self._plugins]

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
            lines = _config_reading(text, eager)
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
            for position in self._index.to_try(line):
                if not self._index.matches(position, line):
                    continue
                plugin = self._plugins[position]
                if isinstance(plugin, PrivateKeyDetector):
                    secrets = self._private_keys(plugin, raw_lines, number, line, context)
                else:
                    secrets = self._analyze_line[position](
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
    def _filtered(filters: list[_Injected], **kwargs: Any) -> bool:
        """Apply detect-secrets' `_is_filtered_out`: a filter that does not fit is skipped."""
        for filter_fn in filters:
            try:
                if filter_fn(**kwargs):
                    return True
            except TypeError:
                continue
        return False
