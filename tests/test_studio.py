"""`langgraph dev` serves the graph from `langgraph.json` and completes a run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port, stop, wait_until_ok

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
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
        wait_until_ok(
            f"{url}/ok",
            process,
            timeout=120,
            what="langgraph dev",
            diagnostics=lambda: f":\n{log.read_text()[-4000:]}",
            interval=0.5,
        )
        yield url
    finally:
        stop(process)


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
