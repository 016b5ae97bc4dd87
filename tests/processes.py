"""Start helper servers in subprocesses for tests: a free port, wait until ready, stop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ok(
    url: str,
    process: subprocess.Popen,
    *,
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 0.2,
) -> None:
    """Poll `url` until it answers 200; raise if `process` exits or `timeout` passes.

    `what` names the server in the error; `diagnostics` adds, say, the tail of its log.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up{diagnostics()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s{diagnostics()}")
        time.sleep(interval)


def stop(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """Terminate `process`, killing it if it does not exit within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
