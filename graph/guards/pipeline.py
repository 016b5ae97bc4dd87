"""Build every guard once at start-up and report, in one log line, which are active."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from graph.guards.config import GuardConfig
from graph.guards.injection import Embedder, InjectionDetector
from graph.guards.input_guard import InputGuard
from graph.guards.links import LinkAllowList
from graph.guards.models import load_model_scanners
from graph.guards.output_guard import OutputGuard
from graph.guards.pii import PiiScanner, RedactionResult, Vault, build_analyzer, restore
from graph.guards.tokens import ensure_cl100k

logger = logging.getLogger("switchboard.guards")


@dataclass(slots=True)
class Guards:
    """The loaded guards; keep one per process (lifespan state)."""

    input: InputGuard
    output: OutputGuard
    pii: PiiScanner
    injection: InjectionDetector
    active: dict[str, list[str]] = field(default_factory=dict)
    """Stage → active scanner names, as logged at start-up."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Scanner → why it is not active."""

    def redact(self, text: str, vault: Vault | None = None) -> RedactionResult:
        """Replace PII in any text (a tool result, a log line) with vault placeholders."""
        return self.pii.redact(text, vault)

    @staticmethod
    def restore(value: object, vault: Vault) -> object:
        """Put real values back into tool arguments; only inside the tool call."""
        return restore(value, vault)

    def summary(self) -> str:
        """Return the start-up line: active scanners per stage, then the skipped ones."""
        parts = [f"{stage}=[{', '.join(names)}]" for stage, names in self.active.items()]
        line = "guards active: " + " ".join(parts)
        if self.skipped:
            line += "; inactive: " + "; ".join(f"{k} ({v})" for k, v in self.skipped.items())
        return line


def build_guards(config: GuardConfig, embedder: Embedder | None = None) -> Guards:
    """Load every scanner and model once (a few seconds cold) and log ONE line of status.

    `embedder` defaults to the process-wide `ingestion.embeddings.get_embedder()`,
    so the injection detector shares its per-turn query cache.
    Raises `GuardConfigError` for unusable settings (and `GuardModelUnavailable`
    for a missing model when `require_models` is set).
    """
    from llm_guard.input_scanners import InvisibleText, Regex

    from graph.guards.secrets import InMemorySecrets
    from graph.guards.substrings import BanSubstrings, NoRefusalLight

    started = time.perf_counter()
    if embedder is None:
        from ingestion.embeddings import get_embedder

        embedder = get_embedder()
    ensure_cl100k(config.cache_dir / "tiktoken")
    models = load_model_scanners(config)
    pii = PiiScanner(build_analyzer(extra=[models.ner_recognizer] if models.ner_recognizer else []))
    injection = InjectionDetector(
        embedder, threshold=config.injection_threshold, cache_dir=config.cache_dir
    ).fit()
    secrets = InMemorySecrets()

    banned = []
    if config.banned_substrings:
        banned.append(
            (
                "BanSubstrings",
                BanSubstrings(
                    substrings=list(config.banned_substrings),
                    match_type="str",
                    case_sensitive=False,
                ),
            )
        )
    if config.banned_patterns:
        banned.append(("Regex", Regex(patterns=list(config.banned_patterns), is_blocked=True)))
    model_scanners = []
    if models.prompt_injection is not None:
        model_scanners.append(("PromptInjection", models.prompt_injection))
    if models.toxicity_input is not None:
        model_scanners.append(("Toxicity", models.toxicity_input))
    input_guard = InputGuard(
        invisible=InvisibleText(),
        secrets=secrets,
        pii=pii,
        injection=injection,
        max_tokens=config.max_tokens,
        banned=banned,
        model_scanners=model_scanners,
    )
    if models.no_refusal is not None:
        refusal = models.no_refusal
    else:
        refusal = NoRefusalLight()
    output_guard = OutputGuard(
        pii=pii,
        secrets=secrets,
        links=LinkAllowList(config.allowed_link_domains),
        injection=injection,
        refusal=refusal,
        toxicity=models.toxicity_output,
        max_hold_chars=config.stream_max_hold_chars,
        refusal_is_model=models.no_refusal is not None,
    )
    pii_names = "PII" + ("+NER" if models.ner_recognizer else "")
    active = {
        "input": [
            "InvisibleText",
            "TokenLimit",
            *(name for name, _ in banned),
            "Secrets",
            pii_names,
            "InjectionClassifier",
            *(name for name, _ in model_scanners),
        ],
        "output": [
            "PromptLeak",
            *(["Toxicity"] if models.toxicity_output else []),
            pii_names + "(mask)",
            "Secrets",
            "Links",
            "CustomerData",
            type(refusal).__name__,
        ],
        "tool": ["InjectionClassifier"],
    }
    skipped = dict(models.skipped)
    if not config.banned_substrings:
        skipped["BanSubstrings"] = "SWITCHBOARD_GUARD_BANNED_SUBSTRINGS is empty"
    if not config.banned_patterns:
        skipped["Regex"] = "SWITCHBOARD_GUARD_BANNED_PATTERNS is empty"
    guards = Guards(input_guard, output_guard, pii, injection, active, skipped)
    # Warm up so the first user does not pay for lazy initialisation.
    input_guard.scan("Hello, where is my order 1042? My e-mail is warm.up@example.com.")
    logger.info("%s (loaded in %.1fs)", guards.summary(), time.perf_counter() - started)
    return guards
