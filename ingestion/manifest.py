"""The ingestion manifest: which files are indexed, at which content hash, as which chunks.

It lives at `<data_dir>/knowledge/<collection>.manifest.json` and is a fast
path, not the source of truth: the indexer re-checks the recorded chunk ids
against Chroma, so a wiped or different Chroma heals itself on the next run.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_VERSION = 1


@dataclass(slots=True)
class FileEntry:
    """What one indexed file looked like when it was ingested."""

    content_hash: str
    chunk_ids: list[str]
    indexed_at: str


@dataclass(slots=True)
class Manifest:
    """The indexed files of one collection, keyed by source."""

    config: dict[str, str | int] = field(default_factory=dict)
    """Chunking and embedding settings; a change re-chunks every file."""
    files: dict[str, FileEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read the manifest, or start an empty one when missing or unreadable."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") != MANIFEST_VERSION:
                return cls()
            files = {source: FileEntry(**entry) for source, entry in raw["files"].items()}
            return cls(config=dict(raw.get("config", {})), files=files)
        except (OSError, ValueError, KeyError, TypeError):
            return cls()  # the indexer re-derives everything from Chroma

    def save(self, path: Path) -> None:
        """Write the manifest atomically (a crash leaves the old one intact)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": MANIFEST_VERSION,
            "config": self.config,
            "files": {source: asdict(entry) for source, entry in sorted(self.files.items())},
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def manifest_path(data_dir: Path, collection: str) -> Path:
    """Return where the manifest of `collection` is kept."""
    return data_dir / "knowledge" / f"{collection}.manifest.json"
