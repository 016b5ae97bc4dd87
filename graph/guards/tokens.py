"""Make tiktoken's `cl100k_base` available offline for llm-guard's `TokenLimit`.

tiktoken looks for `$TIKTOKEN_CACHE_DIR/<sha1(url)>` before downloading and
checks the file's sha256. The MIT-licensed `bpe-openai` package ships the
official file gzipped; we unpack it into that cache once.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from importlib import resources
from pathlib import Path

from graph.guards.errors import GuardConfigError

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def ensure_cl100k(cache_dir: Path) -> Path:
    """Place cl100k_base where tiktoken finds it; return the cache directory used.

    An existing `TIKTOKEN_CACHE_DIR` wins; otherwise `cache_dir` is used and
    exported, since tiktoken reads only the environment.
    """
    target_dir = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir)
    target = target_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not target.exists():
        try:
            packed = (
                resources.files("bpe_openai").joinpath("data").joinpath("cl100k_base.tiktoken.gz")
            )
            data = gzip.decompress(packed.read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise GuardConfigError(
                "TokenLimit needs the cl100k_base file offline: install 'bpe-openai==0.1.4' "
                f"or put the file at {str(target)!r}"
            ) from exc
        if hashlib.sha256(data).hexdigest() != CL100K_SHA256:
            raise GuardConfigError("bpe-openai's cl100k_base file has an unexpected checksum")
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target_dir)
    return target_dir
