from __future__ import annotations

import logging
from pathlib import Path

import pytest

from api.settings import Settings
from graph.guards import GuardConfig, GuardConfigError, GuardModelUnavailable, build_guards
from graph.guards.config import ModelSpec
from graph.guards.models import load_model_scanners


class _StubEmbedder:
    """Embeddings are irrelevant to start-up logging; keep these tests fast."""

    def embed(self, texts):
        import numpy as np

        return np.zeros((len(texts), 384), dtype="float32")

    def embed_query(self, text):
        return self.embed([text])[0]

    def embed_each(self, texts):
        return self.embed(texts)


def test_one_line_lists_the_active_scanners(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.guards")
    build_guards(GuardConfig(data_dir=tmp_path), embedder=_StubEmbedder())
    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.guards"]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("guards active: input=[InvisibleText, TokenLimit, Secrets, PII, ")
    assert "InjectionClassifier" in line
    assert "output=[PromptLeak, PII(mask), Secrets, Links, CustomerData, NoRefusalLight]" in line
    assert "inactive: PromptInjection (no local model" in line


def test_missing_local_model_path_is_skipped_with_a_clear_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    config = GuardConfig(data_dir=tmp_path, models={"PromptInjection": ModelSpec(missing, True)})
    found = load_model_scanners(config)
    assert found.prompt_injection is None
    assert found.skipped["PromptInjection"] == (
        f"SWITCHBOARD_GUARD_PROMPT_INJECTION_MODEL: {str(missing)!r} does not exist"
    )


def test_missing_model_fails_start_up_when_models_are_required(tmp_path: Path) -> None:
    config = GuardConfig(
        data_dir=tmp_path,
        models={"Toxicity": ModelSpec(tmp_path / "tox", True)},
        require_models=True,
    )
    with pytest.raises(GuardModelUnavailable, match="SWITCHBOARD_GUARD_TOXICITY_MODEL"):
        load_model_scanners(config)


def test_model_that_fails_to_load_is_skipped(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    config = GuardConfig(data_dir=tmp_path, models={"PromptInjection": ModelSpec(broken, True)})
    found = load_model_scanners(config)
    assert "failed to load" in found.skipped["PromptInjection"]


def test_config_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWITCHBOARD_GUARD_BANNED_SUBSTRINGS", "free money, crypto")
    monkeypatch.setenv("SWITCHBOARD_GUARD_BANNED_PATTERNS", '["\\\\d{3,}-secret"]')
    monkeypatch.setenv("SWITCHBOARD_ALLOWED_LINK_DOMAINS", "Example-Store.com,.help.example.org")
    monkeypatch.setenv("SWITCHBOARD_GUARD_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("SWITCHBOARD_GUARD_TOXICITY_MODEL", str(tmp_path / "tox"))
    config = GuardConfig.from_settings(Settings(_env_file=None))
    assert config.banned_substrings == ("free money", "crypto")
    assert config.banned_patterns == (r"\d{3,}-secret",)
    assert config.allowed_link_domains == ("example-store.com", "help.example.org")
    assert config.models["PromptInjection"] == ModelSpec(tmp_path / "prompt-injection", False)
    assert config.models["Toxicity"] == ModelSpec(tmp_path / "tox", True)


def test_invalid_banned_pattern_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(GuardConfigError, match="SWITCHBOARD_GUARD_BANNED_PATTERNS"):
        GuardConfig(data_dir=tmp_path, banned_patterns=("([unclosed",))
