"""`langgraph dev` serves the graph from `langgraph.json` and completes a run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("studio") / "langgraph-dev.log"
    env = {
        **os.environ,
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "SWITCHBOARD_MODEL": "offline",
        "SWITCHBOARD_DATA_DIR": str(tmp_path_factory.mktemp("studio-data")),
    }
    cli = Path(sys.executable).with_name("langgraph")
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(cli), "dev", "--no-browser", "--no-reload", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited early:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not start:\n{log.read_text()[-4000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
async def test_langgraph_dev_runs_the_graph_with_the_offline_model(studio_url: str) -> None:
    from langgraph_sdk import get_client

    client = get_client(url=studio_url)
    assistants = await client.assistants.search(graph_id="switchboard")
    assert assistants, "the graph from langgraph.json is not registered"
    thread = await client.threads.create()
    result = await client.runs.wait(
        thread["thread_id"],
        "switchboard",
        input={"messages": [{"role": "user", "content": "I was charged twice for order 1042"}]},
        context={"customer_id": "cust-001"},
        raise_error=True,
    )
    assert result["active_agent"] == "billing"
    final = result["messages"][-1]
    assert final["type"] == "ai" and final["name"] == "billing" and final["content"]
