"""Optional llm-guard scanners that need Hugging Face models, loaded from local folders.

Nothing is downloaded: each model must already be on disk (set
`SWITCHBOARD_GUARD_MODEL_DIR` or the per-scanner variable). A scanner whose
folder is missing is skipped with a reason, which the start-up line prints; with
`SWITCHBOARD_GUARD_REQUIRE_MODELS=true` a missing *explicitly configured* model
raises `GuardModelUnavailable` instead.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any

from graph.guards.config import MODEL_SETTINGS, MODEL_SUBDIRS, GuardConfig, ModelSpec
from graph.guards.errors import GuardModelUnavailable


@dataclass(slots=True)
class ModelScanners:
    """The model-based scanners that loaded, and why the others did not."""

    prompt_injection: Any = None
    """llm-guard `PromptInjection`; it scores only the label `INJECTION`."""
    toxicity_input: Any = None
    toxicity_output: Any = None
    no_refusal: Any = None
    ner_recognizer: Any = None
    """A Presidio recognizer added to the PII analyzer (names, addresses…)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Scanner name → reason it is not active."""


def _llm_guard_model(spec: ModelSpec, use_onnx: bool) -> Any:
    from llm_guard.model import Model

    path = str(spec.path)
    return Model(
        path=path,
        onnx_path=path if use_onnx else None,
        onnx_subfolder="onnx" if use_onnx and (spec.path / "onnx").is_dir() else "",
        kwargs={"local_files_only": True},
        tokenizer_kwargs={"local_files_only": True},
    )


def _reason_missing(name: str, spec: ModelSpec | None) -> str:
    if spec is None:
        return f"no local model (set SWITCHBOARD_GUARD_MODEL_DIR or {MODEL_SETTINGS[name]})"
    source = MODEL_SETTINGS[name] if spec.explicit else "SWITCHBOARD_GUARD_MODEL_DIR"
    return f"{source}: {str(spec.path)!r} does not exist"


def load_model_scanners(config: GuardConfig) -> ModelScanners:
    """Load every configured model-based scanner once; record the ones skipped."""
    found = ModelScanners()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a typo must never become a download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for name in MODEL_SUBDIRS:
        spec = config.models.get(name)
        if spec is None or not spec.path.is_dir():
            reason = _reason_missing(name, spec)
            if spec is not None and spec.explicit and config.require_models:
                raise GuardModelUnavailable(f"guard scanner {name!r} cannot load: {reason}")
            found.skipped[name] = reason
            continue
        try:
            _load_one(name, spec, config, found)
        except Exception as exc:
            reason = f"{str(spec.path)!r} failed to load: {type(exc).__name__}: {exc}"
            if config.require_models:
                raise GuardModelUnavailable(
                    f"guard scanner {name!r} cannot load: {reason}"
                ) from exc
            found.skipped[name] = reason
    return found


def _load_one(name: str, spec: ModelSpec, config: GuardConfig, found: ModelScanners) -> None:
    model = _llm_guard_model(spec, config.use_onnx)
    if name == "PromptInjection":
        from llm_guard.input_scanners import PromptInjection

        found.prompt_injection = PromptInjection(model=model, use_onnx=config.use_onnx)
    elif name == "Toxicity":
        from llm_guard.input_scanners import Toxicity
        from llm_guard.output_scanners import Toxicity as OutputToxicity

        found.toxicity_input = Toxicity(model=model, use_onnx=config.use_onnx)
        found.toxicity_output = OutputToxicity(model=model, use_onnx=config.use_onnx)
    elif name == "NoRefusal":
        from llm_guard.output_scanners import NoRefusal

        found.no_refusal = NoRefusal(model=model, use_onnx=config.use_onnx)
    elif name == "NER":
        from llm_guard.input_scanners.anonymize_helpers import DEBERTA_AI4PRIVACY_v2_CONF
        from llm_guard.input_scanners.anonymize_helpers.analyzer import (
            get_transformers_recognizer,
        )

        conf = copy.deepcopy(DEBERTA_AI4PRIVACY_v2_CONF)
        conf["DEFAULT_MODEL"] = model
        found.ner_recognizer = get_transformers_recognizer(
            recognizer_conf=conf, use_onnx=config.use_onnx
        )
