"""Fast single-query encoders for the bundled MiniLM model.

Every chat turn embeds its user message (intent, injection guard, retrieval), one
short text at a time. `SentenceTransformer.encode` spends about a third of such a
call in Python (module dispatch, feature dicts, BERT's eager attention-mask code).
Two faster paths compute the same vectors from the same weights:

1. ONNX Runtime: the model (transformer, mean pooling, L2 norm) exported to ONNX
   and fused by onnxruntime's BERT optimizer (attention, layer norm, GELU). The
   export takes about 4 s, so the fused model is cached on disk between processes
   (`onnx_cache_path`).
   Measured on this project's 2-core box: 4.4 ms for a 10-token message against
   8.4 ms for the TorchScript trace and 14.7 ms for `encode` (`bench/guards.py`).
2. A frozen TorchScript trace, when onnx/onnxruntime are missing or fail.

`build_query_encoder` tries them in that order, checks each against `encode` on
texts of other lengths before use, and returns `None` to fall back to `encode`.
Each is an optimisation only: any failure logs a warning and moves on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

PARITY_TEXTS = (
    "ok",
    "Where is the refund for order 1042?",
    "A longer question, with INV-1042-R1 and $6.95, to vary the length. " * 3,
    "  Past the model's 256 tokens: TRUNCATED the same way, Ünïcödé 😀 included. " * 20,
)
"""The export probe and texts of other lengths: an encoder must agree with `encode` on all."""
PARITY_TOLERANCE = 1e-5


class QueryEncoder(Protocol):
    """Embed one text: a normalised `(384,)` float32 vector, equal to `encode`'s."""

    name: str

    def __call__(self, text: str) -> np.ndarray: ...  # noqa: D102


def build_query_encoder(model: SentenceTransformer, *, threads: int = 1) -> QueryEncoder | None:
    """Return the fastest encoder that matches `model.encode`, or `None` for `encode` itself."""
    if not _is_mean_pooled_minilm(model):
        return None
    for build in (_onnx_encoder, _traced_encoder):
        try:
            encoder = build(model, threads)
        except Exception:  # an optimisation only: any failure falls back
            logger.warning("Query encoder %s unavailable", build.__name__, exc_info=True)
            continue
        if encoder is not None and _agrees_with_encode(encoder, model):
            logger.info("Query embeddings: %s", encoder.name)
            return encoder
        if encoder is not None:
            logger.warning("Query encoder %s disagrees with encode(); not using it", encoder.name)
            cached = getattr(encoder, "cached", None)
            if cached is not None:
                cached.unlink(missing_ok=True)  # never trust that file again
    return None


def _is_mean_pooled_minilm(model: SentenceTransformer) -> bool:
    if [type(module).__name__ for module in model] != ["Transformer", "Pooling", "Normalize"]:
        return False
    return getattr(model[1], "pooling_mode", None) == "mean"


def _agrees_with_encode(encoder: QueryEncoder, model: SentenceTransformer) -> bool:
    for text in PARITY_TEXTS:
        expected = model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
        if not np.allclose(encoder(text), expected, atol=PARITY_TOLERANCE):
            return False
    return True


def _mean_pooled(model: SentenceTransformer) -> torch.nn.Module:
    """Wrap the model as one module: transformer, mean pooling over the mask, L2 norm."""
    import torch

    auto_model: Any = model[0].auto_model

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.auto_model = auto_model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.auto_model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return MeanPooled().eval()


def _probe(model: SentenceTransformer) -> tuple[Any, Any, Any]:
    features = model.preprocess(["Where is the refund for order 1042?"])
    return features["input_ids"], features["attention_mask"], features["token_type_ids"]


class OnnxQueryEncoder:
    """One text through onnxruntime (the exported, BERT-fused graph)."""

    name = "onnxruntime"

    def __init__(self, model: SentenceTransformer, session: Any, cached: Path | None) -> None:
        self._model = model
        self._session = session
        self.cached = cached
        self._tokenize = single_text_tokenizer(model)

    def __call__(self, text: str) -> np.ndarray:
        """Embed `text` (the model's own tokenisation and truncation)."""
        return np.asarray(self._session.run(None, self._tokenize(text))[0][0], dtype=np.float32)


def single_text_tokenizer(model: SentenceTransformer) -> Callable[[str], dict[str, np.ndarray]]:
    """Return the model's tokenisation of one text, as numpy feeds, keeping the GIL.

    `model.preprocess` tokenises through the fast tokenizer's `encode_batch`, which
    lets go of the GIL; beside a busy event loop, getting it back waited ~5 ms
    (the switch interval), against 0.1–0.7 ms for the tokenising itself. One text
    through a copy of the same tokenizer's `encode`, with the model's truncation
    and no padding, gives the same ids and keeps the GIL. A model without a fast
    tokenizer keeps `preprocess`. `_agrees_with_encode` checks either way.
    """
    transformer: Any = model[0]
    backend = getattr(transformer.tokenizer, "backend_tokenizer", None)
    if backend is None:

        def preprocess(text: str) -> dict[str, np.ndarray]:
            features = model.preprocess([text])
            return {name: features[name].numpy() for name in FEEDS}

        return preprocess
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(backend.to_str())  # a copy: its settings are ours alone
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=model.max_seq_length)
    lower = bool(getattr(transformer, "do_lower_case", False))

    def tokenize(text: str) -> dict[str, np.ndarray]:
        encoding = tokenizer.encode(text.lower() if lower else text)
        return {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }

    return tokenize


FEEDS = ("input_ids", "attention_mask", "token_type_ids")
"""The exported model's inputs."""


def _onnx_encoder(model: SentenceTransformer, threads: int) -> OnnxQueryEncoder | None:
    """Open the fused ONNX model from the cache, or export it (about 4 s) and cache it."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    cached = onnx_cache_path(model)
    if cached is not None and cached.exists():
        try:
            return OnnxQueryEncoder(model, _session(ort, cached.read_bytes(), threads), cached)
        except Exception:  # a corrupt or foreign file: export again
            logger.warning("Ignoring unreadable ONNX cache %s", cached, exc_info=True)
    fused = _export_fused_onnx(model)
    if fused is None:
        return None
    if cached is not None:
        _write_atomically(cached, fused)
    return OnnxQueryEncoder(model, _session(ort, fused, threads), cached)


def onnx_cache_path(model: SentenceTransformer) -> Path | None:
    """Where the fused model is kept between processes, keyed by everything it depends on.

    `$XDG_CACHE_HOME/switchboard` (default `~/.cache/switchboard`): a derived
    artefact like a compiled file, shared by the service, the CLI and test processes.
    """
    import onnxruntime
    import torch

    try:
        auto_model: Any = model[0].auto_model  # torch types Sequential items as Module | Tensor
        folder = Path(auto_model.config.name_or_path)
        weights = sorted([*folder.glob("*.safetensors"), *folder.glob("*.bin")])
        stamp = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights]
    except (OSError, AttributeError):
        return None
    key = "|".join(
        [
            *stamp,
            torch.__version__,
            onnxruntime.__version__,
            str(model.max_seq_length),
            EXPORT_VERSION,
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "switchboard" / f"minilm-query-{digest}.onnx"


EXPORT_VERSION = "1"
"""Bump when the exported graph changes (inputs, pooling, fusion options)."""


def _session(ort: Any, model_bytes: bytes, threads: int) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _export_fused_onnx(model: SentenceTransformer) -> bytes | None:
    """Export transformer + pooling + norm to ONNX, fuse it with onnxruntime's BERT optimizer."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        from onnxruntime.transformers import optimizer
    except ImportError:
        return None
    import torch

    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    auto_model: Any = model[0].auto_model  # torch types Sequential items as Module | Tensor
    config = auto_model.config
    with tempfile.TemporaryDirectory() as tmp:
        exported, fused = Path(tmp) / "minilm.onnx", Path(tmp) / "minilm-fused.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes; parity is checked
            torch.onnx.export(
                _mean_pooled(model),
                _probe(model),
                str(exported),
                dynamo=False,
                input_names=names,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
            )
        optimized = optimizer.optimize_model(
            str(exported),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=1,
        )
        optimized.save_model_to_file(str(fused))
        return fused.read_bytes()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a concurrent reader sees all of it or nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
    except OSError:
        logger.warning("Could not cache the ONNX query encoder at %s", path, exc_info=True)


class TracedQueryEncoder:
    """One text through a frozen TorchScript graph of transformer, mean pooling and L2 norm."""

    name = "torchscript"

    def __init__(self, model: SentenceTransformer, graph: torch.jit.ScriptModule) -> None:
        self._model = model
        self._graph = graph

    def __call__(self, text: str) -> np.ndarray:
        """Embed `text`."""
        import torch

        features = self._model.preprocess([text])
        with torch.inference_mode():
            vector = self._graph(
                features["input_ids"], features["attention_mask"], features["token_type_ids"]
            )[0]
        return np.asarray(vector.numpy(), dtype=np.float32)


def _traced_encoder(model: SentenceTransformer, threads: int) -> TracedQueryEncoder:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes; parity is checked
        traced = torch.jit.trace(_mean_pooled(model), _probe(model), check_trace=False)
        graph = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    return TracedQueryEncoder(model, graph)
