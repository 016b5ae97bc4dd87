"""A loopback HTTP server standing in for the LangSmith API: it records what it is sent."""

from __future__ import annotations

import email.parser
import email.policy
import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Captured:
    """One request the fake LangSmith received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeLangSmith:
    """Records requests; `runs()` reassembles the multipart run payloads."""

    requests: list[Captured] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeLangSmith:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                encoding = (self.headers.get("content-encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "zstd":
                    import zstandard

                    body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
                fake.requests.append(
                    Captured(self.command, self.path, dict(self.headers.items()), body)
                )
                payload = b"{}"
                if self.path.startswith("/info"):
                    payload = json.dumps({"version": "0.10.0", "instance_flags": {}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def raw(self) -> str:
        """Every body received, decoded, for "does this string appear anywhere" checks."""
        return "\n".join(r.body.decode("utf-8", "replace") for r in self.requests)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Return run id → the run's fields, merged from posts, patches and their parts."""
        runs: dict[str, dict[str, Any]] = {}
        for request in self.requests:
            content_type = request.headers.get("Content-Type") or request.headers.get(
                "content-type", ""
            )
            if "multipart" in content_type:
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
                )
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition") or ""
                    kind, _, rest = str(name).partition(".")
                    run_id, _, field_name = rest.partition(".")
                    if kind not in ("post", "patch"):
                        continue
                    data = json.loads(part.get_payload(decode=True) or b"null")
                    run = runs.setdefault(run_id, {"id": run_id})
                    if field_name:
                        run[field_name] = data
                    elif isinstance(data, dict):
                        run.update(data)
            elif request.path.startswith("/runs/batch") and request.body:
                batch = json.loads(request.body)
                for run in [*batch.get("post", []), *batch.get("patch", [])]:
                    runs.setdefault(str(run["id"]), {}).update(run)
        return runs

    def feedback(self) -> list[dict[str, Any]]:
        """Feedback bodies sent to `/feedback` (or inside multipart batches)."""
        found = [
            json.loads(r.body) for r in self.requests if r.path.startswith("/feedback") and r.body
        ]
        for request in self.requests:
            content_type = request.headers.get("Content-Type") or ""
            if "multipart" in content_type and b"feedback." in request.body:
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
                )
                for part in message.iter_parts():
                    name = str(part.get_param("name", header="content-disposition") or "")
                    if name.startswith("feedback."):
                        found.append(json.loads(part.get_payload(decode=True) or b"{}"))
        return found
