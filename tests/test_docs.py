"""The documentation says what the code does: generated parts stay in sync."""

from __future__ import annotations

import re
from pathlib import Path

from api.config_docs import env_example, settings_markdown, settings_rows

ROOT = Path(__file__).resolve().parents[1]


def _readme_table() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- config:start[^>]*-->\n(.*?)<!-- config:end -->", readme, re.S)
    assert match, "README.md lost its config markers"
    return match.group(1)


def test_readme_configuration_table_lists_every_setting() -> None:
    assert _readme_table() == settings_markdown(), (
        "README's configuration table is stale: paste `switchboard config --markdown`"
    )


def test_env_example_lists_every_setting() -> None:
    assert (ROOT / ".env.example").read_text() == env_example(), (
        ".env.example is stale: run `switchboard config --env-example > .env.example`"
    )


def test_every_setting_is_documented() -> None:
    undocumented = [env for env, _, description in settings_rows() if not description]
    assert undocumented == []


def test_readme_names_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
