"""Guard configuration: a frozen snapshot of the `# --- Guards` settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from graph.guards.errors import GuardConfigError

if TYPE_CHECKING:
    from api.settings import Settings

MODEL_SUBDIRS = {
    "PromptInjection": "prompt-injection",
    "Toxicity": "toxicity",
    "NER": "ner",
    "NoRefusal": "no-refusal",
}
"""Subfolder of `SWITCHBOARD_GUARD_MODEL_DIR` that enables each model-based scanner."""

MODEL_SETTINGS = {
    "PromptInjection": "SWITCHBOARD_GUARD_PROMPT_INJECTION_MODEL",
    "Toxicity": "SWITCHBOARD_GUARD_TOXICITY_MODEL",
    "NER": "SWITCHBOARD_GUARD_NER_MODEL",
    "NoRefusal": "SWITCHBOARD_GUARD_NO_REFUSAL_MODEL",
}
"""The variable that names each model explicitly (quoted in start-up messages)."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a model-based scanner should load from, and who asked for it."""

    path: Path
    explicit: bool
    """True when set through its own variable: a missing path is then an error line."""


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Everything `build_guards` needs; build it with `GuardConfig.from_settings`."""

    banned_substrings: tuple[str, ...] = ()
    banned_patterns: tuple[str, ...] = ()
    injection_threshold: float = 0.6
    max_tokens: int = 1024
    allowed_link_domains: tuple[str, ...] = ("example-store.com",)
    data_dir: Path = Path(".data")
    """Caches (training-corpus embeddings, the cl100k_base file) go under `<data_dir>/guards`."""
    models: dict[str, ModelSpec] = field(default_factory=dict)
    """Model-based llm-guard scanners to try, by scanner name (see `MODEL_SUBDIRS`)."""
    use_onnx: bool = False
    require_models: bool = False
    stream_max_hold_chars: int = 240
    """Longest reply text held back while waiting for a sentence or clause boundary."""

    def __post_init__(self) -> None:
        for pattern in self.banned_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise GuardConfigError(
                    f"SWITCHBOARD_GUARD_BANNED_PATTERNS: {pattern!r} is not a valid regular "
                    f"expression ({exc}); use a JSON list if the pattern contains a comma"
                ) from exc

    @property
    def cache_dir(self) -> Path:
        """Folder for guard caches (created on first use)."""
        return self.data_dir / "guards"

    @classmethod
    def from_settings(cls, settings: Settings) -> GuardConfig:
        """Snapshot the guard settings; resolve model folders against the model dir."""
        models: dict[str, ModelSpec] = {}
        explicit = {
            "PromptInjection": settings.guard_prompt_injection_model,
            "Toxicity": settings.guard_toxicity_model,
            "NER": settings.guard_ner_model,
            "NoRefusal": settings.guard_no_refusal_model,
        }
        for name, path in explicit.items():
            if path is not None:
                models[name] = ModelSpec(Path(path), explicit=True)
            elif settings.guard_model_dir is not None:
                models[name] = ModelSpec(
                    Path(settings.guard_model_dir) / MODEL_SUBDIRS[name], explicit=False
                )
        return cls(
            banned_substrings=tuple(settings.guard_banned_substrings),
            banned_patterns=tuple(settings.guard_banned_patterns),
            injection_threshold=settings.guard_injection_threshold,
            max_tokens=settings.guard_max_tokens,
            allowed_link_domains=tuple(
                d.lower().lstrip(".") for d in settings.allowed_link_domains
            ),
            data_dir=Path(settings.data_dir),
            models=models,
            use_onnx=settings.guard_use_onnx,
            require_models=settings.guard_require_models,
        )
