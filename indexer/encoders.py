"""ONNX Runtime encoders for an installed model.

One class per tower wraps a lazily created ``InferenceSession`` with explicit
providers and thread settings. Nothing here imports torch.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.manifest import ManifestError, ModelManifest
from indexer.preprocess import PreprocessConfig
from indexer.tokenizer import ClipTokenizer, TokenizerError

log = logging.getLogger(__name__)

_GPU_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")


class ModelLoadError(Exception):
    """The model files cannot be used (missing, corrupt, incompatible). str() is one line."""


def choose_providers(requested: Sequence[str] | None = None) -> list[str]:
    """Providers in preference order: CUDA, then CoreML/DirectML where present, then CPU.

    ``requested`` (from config or ``MEDIASEEK_PROVIDERS``) overrides the automatic choice;
    unknown names are dropped and CPU is always kept as the last resort.
    """
    import onnxruntime as ort

    available = ort.get_available_providers()
    env = os.environ.get("MEDIASEEK_PROVIDERS")
    if env:
        requested = [p.strip() for p in env.split(",") if p.strip()]
    if requested:
        chosen = [p for p in requested if p in available]
    else:
        chosen = [p for p in _GPU_PROVIDERS if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


class OnnxEncoder:
    def __init__(self, path: Path, providers: Sequence[str] | None = None, threads: int | None = None,
                 allow_spinning: bool = True) -> None:
        self.path = Path(path)
        self._providers = list(providers) if providers else None
        self._threads = threads
        self._spinning = allow_spinning
        self._session = None
        self._lock = threading.Lock()
        self.input_name = ""
        self.input_dtype = np.float32

    @property
    def session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create_session()
        return self._session

    def release(self) -> None:
        """Drop the session and its memory; the next use creates it again."""
        with self._lock:
            self._session = None

    def _create_session(self):
        import onnxruntime as ort

        if not self.path.is_file():
            raise ModelLoadError(f"model file missing: {self.path}")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self._threads:
            opts.intra_op_num_threads = self._threads
        if not self._spinning:
            # Idle ORT workers otherwise busy-wait between ops.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = choose_providers(self._providers)
        # A GPU provider that is listed but cannot load (no driver / CUDA libs) would
        # print errors and fall back; keep the log quiet and report the final choice.
        ort.set_default_logger_severity(4 if providers[0] != "CPUExecutionProvider" else 3)
        try:
            session = ort.InferenceSession(str(self.path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load {self.path.name}: {first[:300]}") from exc
        finally:
            ort.set_default_logger_severity(3)
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.input_dtype = {"tensor(int32)": np.int32, "tensor(int64)": np.int64}.get(inp.type, np.float32)
        log.info("loaded %s with %s", self.path.name, session.get_providers())
        return session

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def _run(self, array: np.ndarray) -> np.ndarray:
        session = self.session
        out = session.run(None, {self.input_name: array.astype(self.input_dtype, copy=False)})[0]
        return normalise(np.asarray(out, dtype=np.float32))


class ImageEncoder(OnnxEncoder):
    def encode(self, batch: np.ndarray) -> np.ndarray:
        """float32 [N,3,H,W] preprocessed images -> L2-normalised float32 [N,D]."""
        if len(batch) == 0:
            return np.zeros((0, 0), np.float32)
        return self._run(batch)


class TextEncoder(OnnxEncoder):
    def __init__(self, path: Path, tokenizer: ClipTokenizer, trim: bool = False, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.tokenizer = tokenizer
        self.trim = trim  # the graph takes any length: stop after the last end-of-text token

    def encode(self, texts: str | Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer([texts] if isinstance(texts, str) else list(texts))
        if self.trim and len(tokens):
            tokens = tokens[:, : int(tokens.argmax(axis=1).max()) + 1]
        return self._run(tokens)


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class ClipModel:
    """An installed model: manifest, preprocessing, tokenizer and both encoders."""

    def __init__(self, model_dir: Path, providers: Sequence[str] | None = None, threads: int | None = None) -> None:
        self.dir = Path(model_dir)
        try:
            self.manifest = ModelManifest.load(self.dir)
        except ManifestError as exc:
            raise ModelLoadError(str(exc)) from exc
        self.name = self.manifest.name
        self.preprocess = PreprocessConfig.from_dict(self.manifest.preprocess)
        self._providers = providers
        self._threads = threads
        self._tokenizer: ClipTokenizer | None = None
        # Spinning stays on: measured on 2 cores, turning it off to leave cycles to the
        # decoder threads made indexing slower (6.6 vs 10.9 images/s, bench/bench_index.py).
        self.image = ImageEncoder(self.dir / "visual.onnx", providers=providers, threads=threads)
        self._text: TextEncoder | None = None

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def tokenizer(self) -> ClipTokenizer:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.dir, self.manifest)
        return self._tokenizer

    @property
    def text(self) -> TextEncoder:
        if self._text is None:
            self._text = TextEncoder(self.dir / "textual.onnx", self.tokenizer,
                                     trim=(self.manifest.textual_input or {}).get("trim") == "eot",
                                     providers=self._providers, threads=self._threads)
        return self._text


def load_tokenizer(model_dir: Path, manifest: ModelManifest) -> ClipTokenizer:
    cfg = manifest.tokenizer or {}
    if cfg.get("kind", "clip-bpe") != "clip-bpe":
        raise ModelLoadError(f"unsupported tokenizer kind {cfg.get('kind')!r}")
    files = cfg.get("files") or {}
    context_length = int(cfg.get("context_length", 77))
    clean = cfg.get("clean", "lower")
    try:
        if "bpe" in files:
            return ClipTokenizer.from_bpe_file(model_dir / files["bpe"], context_length=context_length, clean=clean)
        if "vocab" in files and "merges" in files:
            return ClipTokenizer.from_hf_files(model_dir / files["vocab"], model_dir / files["merges"],
                                               context_length=context_length, clean=clean)
    except (OSError, TokenizerError) as exc:
        raise ModelLoadError(f"tokenizer unusable: {exc}") from exc
    raise ModelLoadError("manifest names no tokenizer files")
