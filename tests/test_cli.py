"""The `switchboard` command: tokens, configuration reference, ingestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import verify_token
from api.cli import main
from api.settings import DEV_JWT_SECRET, get_settings


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_token_command_mints_a_customer_token_in_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "development")
    assert main(["token", "--customer", "cust-007"]) == 0
    principal = verify_token(capsys.readouterr().out.strip(), secret=DEV_JWT_SECRET)
    assert (principal.subject, principal.role) == ("cust-007", "customer")


def test_token_command_refuses_outside_development(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    monkeypatch.setenv("SWITCHBOARD_JWT_SECRET", "p" * 48)
    assert main(["token", "--staff", "agent-1"]) == 2
    assert "only works with SWITCHBOARD_ENV=development" in capsys.readouterr().err


def test_ingest_command_indexes_good_files_and_reports_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "kb"
    corpus.mkdir()
    (corpus / "holidays.md").write_text("# Holiday hours\n\nWe are closed on 25 December.\n")
    (corpus / "broken.pdf").write_bytes(b"\xff\xfe\x00 not a pdf")

    assert main(["ingest", str(corpus)]) == 1  # some files skipped, the rest ingested
    out = capsys.readouterr().out
    assert "1 new" in out and "1 skipped" in out
    assert "broken.pdf" in out and "not a readable PDF" in out

    assert main(["ingest", str(corpus)]) == 1
    assert "1 unchanged" in capsys.readouterr().out
