"""ONNX Runtime encoders for an installed model.

One class per tower wraps a lazily created ``InferenceSession`` with explicit
providers and thread settings. Nothing here imports torch.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.manifest import ManifestError, ModelManifest
from indexer.providers import ProviderInfo, choose_providers, create_session
from indexer.preprocess import PreprocessConfig
from indexer.text_tokenizer import JsonTokenizer
from indexer.tokenizer import ClipTokenizer, TokenizerError

Tokenizer = ClipTokenizer | JsonTokenizer

log = logging.getLogger(__name__)


class ModelLoadError(Exception):
    """The model files cannot be used (missing, corrupt, incompatible). str() is one line."""


class ModelRunError(ModelLoadError):
    """onnxruntime failed while running a loaded model. str() is one line naming the model and what to do."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    # onnxruntime prefixes "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : "; keep what follows.
    return re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", line)[:300]


class OnnxEncoder:
    """One ONNX tower. ``io`` is the manifest's ``visual_input``/``textual_input`` entry.

    A graph with a fixed batch size (Immich's exports are batch 1) is run at exactly that size: larger batches
    are split and the last one padded, so callers may pass any number of rows.
    """

    def __init__(self, path: Path, providers: Sequence[str] | None = None, threads: int | None = None,
                 allow_spinning: bool = True, io: dict | None = None, model_name: str | None = None) -> None:
        self.path = Path(path)
        self._providers = list(providers) if providers else None
        self._threads = threads
        self._spinning = allow_spinning
        self._session = None
        self._lock = threading.Lock()
        self._io = dict(io or {})
        self.model_name = model_name or self.path.parent.name
        self.input_name = ""
        self.input_dtype = np.float32
        self.mask_name: str | None = None
        self.output_name: str | None = None
        self.batch: int | None = None
        self.provider_reason: str | None = None

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
            raise ModelLoadError(f"model {self.model_name!r}: file missing: {self.path}; reinstall the model")
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self._threads:
            opts.intra_op_num_threads = self._threads
        if not self._spinning:
            # Idle ORT workers otherwise busy-wait between ops.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = choose_providers(self._providers)
        try:
            session, self.provider_reason = create_session(str(self.path), opts, providers)
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            raise ModelLoadError(
                f"model {self.model_name!r}: onnxruntime cannot load {self.path.name} ({_first_line(exc)}); "
                "reinstall the model or choose another with 'mediaseek models use NAME'") from exc
        inputs = {i.name: i for i in session.get_inputs()}
        name = self._io.get("name")
        inp = inputs.get(name) if name else session.get_inputs()[0]
        if inp is None:
            raise ModelLoadError(f"model {self.model_name!r}: {self.path.name} has no input {name!r}; reinstall it")
        self.input_name = inp.name
        self.input_dtype = _DTYPES.get(inp.type, np.float32)
        mask = self._io.get("mask")
        if mask and mask not in inputs:
            raise ModelLoadError(f"model {self.model_name!r}: {self.path.name} has no input {mask!r}; reinstall it")
        self.mask_name = mask or None
        self.mask_dtype = _DTYPES.get(inputs[mask].type, np.int64) if mask else np.int64
        output = self._io.get("output")
        outputs = [o.name for o in session.get_outputs()]
        if output and output not in outputs:
            raise ModelLoadError(f"model {self.model_name!r}: {self.path.name} has no output {output!r}; reinstall it")
        self.output_name = output or outputs[0]
        batch = inp.shape[0] if inp.shape else None
        self.batch = batch if isinstance(batch, int) and batch > 0 else None
        log.info("loaded %s with %s (batch %s)", self.path.name, session.get_providers(), self.batch or "any")
        return session

    @property
    def loaded(self) -> bool:
        """Whether the session exists already (``session`` would create it)."""
        return self._session is not None

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    @property
    def provider_info(self) -> ProviderInfo:
        wanted = choose_providers(self._providers)[0]
        return ProviderInfo(self.providers[0], wanted, self.provider_reason)

    def _run(self, array: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        session = self.session
        rows = len(array)
        step = self.batch or rows
        chunks = []
        for start in range(0, rows, step):
            part = array[start:start + step]
            part_mask = mask[start:start + step] if mask is not None else None
            real = len(part)
            if self.batch and real < self.batch:  # a fixed-batch graph: pad the last chunk, drop the padding after
                part = np.concatenate([part, np.repeat(part[-1:], self.batch - real, axis=0)])
                if part_mask is not None:
                    part_mask = np.concatenate([part_mask, np.repeat(part_mask[-1:], self.batch - real, axis=0)])
            feeds = {self.input_name: part.astype(self.input_dtype, copy=False)}
            if self.mask_name:
                if part_mask is None:
                    part_mask = np.ones(part.shape[:2], dtype=np.int64)
                feeds[self.mask_name] = part_mask.astype(self.mask_dtype, copy=False)
            try:
                out = session.run([self.output_name], feeds)[0]
            except Exception as exc:  # onnxruntime's pybind errors (shape, type, out of memory...)
                raise ModelRunError(
                    f"model {self.model_name!r} failed in onnxruntime while encoding ({_first_line(exc)}); "
                    "reinstall the model or choose another with 'mediaseek models use NAME'") from exc
            chunks.append(np.asarray(out, dtype=np.float32)[:real])
        out = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        if out.ndim != 2:
            raise ModelRunError(f"model {self.model_name!r}: {self.path.name} returned shape {out.shape}, "
                                "expected [batch, dim]; reinstall the model")
        return normalise(out)


_DTYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float16)": np.float16,
           "tensor(float)": np.float32}


class ImageEncoder(OnnxEncoder):
    def encode(self, batch: np.ndarray) -> np.ndarray:
        """float32 [N,3,H,W] preprocessed images -> L2-normalised float32 [N,D]."""
        if len(batch) == 0:
            return np.zeros((0, 0), np.float32)
        return self._run(batch)


class TextEncoder(OnnxEncoder):
    def __init__(self, path: Path, tokenizer: Tokenizer, trim: bool = False, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.tokenizer = tokenizer
        self.trim = trim  # the graph takes any length: stop after the last end-of-text token

    def encode(self, texts: str | Sequence[str]) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        try:
            if isinstance(self.tokenizer, JsonTokenizer):
                tokens, mask = self.tokenizer.encode_with_mask(texts)
            else:
                tokens, mask = self.tokenizer(texts), None
        except TokenizerError as exc:
            raise ModelRunError(f"model {self.model_name!r}: {exc}") from exc
        if self.trim and len(tokens) and mask is None:
            tokens = tokens[:, : int(tokens.argmax(axis=1).max()) + 1]
        return self._run(tokens, mask)


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
        self._tokenizer: Tokenizer | None = None
        # Spinning stays on: measured on 2 cores, turning it off to leave cycles to the
        # decoder threads made indexing slower (6.6 vs 10.9 images/s, bench/bench_index.py).
        self.image = ImageEncoder(self.dir / "visual.onnx", providers=providers, threads=threads,
                                  io=self.manifest.visual_input, model_name=self.name)
        self._text: TextEncoder | None = None

    def probability(self, score: float) -> float | None:
        """A cosine score as the model's own match probability (SigLIP's sigmoid), or None when unknown."""
        scores = self.manifest.scores
        if not scores:
            return None
        logit = float(scores["logit_scale"]) * float(score) + float(scores["logit_bias"])
        return float(1.0 / (1.0 + np.exp(-logit)))

    @property
    def embed_dim(self) -> int:
        return self.manifest.embed_dim

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.dir, self.manifest)
        return self._tokenizer

    @property
    def text(self) -> TextEncoder:
        if self._text is None:
            # No spinning: a query is one short run, and in the window the encoder's idle workers
            # would otherwise busy-wait on the cores the GUI thread needs (bench/bench_gui.py stalls).
            self._text = TextEncoder(self.dir / "textual.onnx", self.tokenizer,
                                     trim=(self.manifest.textual_input or {}).get("trim") == "eot",
                                     providers=self._providers, threads=self._threads, allow_spinning=False,
                                     io=self.manifest.textual_input, model_name=self.name)
        return self._text


def load_tokenizer(model_dir: Path, manifest: ModelManifest) -> Tokenizer:
    """``hf-tokenizers``: any tokenizer.json (Rust ``tokenizers``); ``clip-bpe``: our pure-Python CLIP tokenizer,
    kept for our own exports and Immich exports that ship vocab.json + merges.txt."""
    cfg = manifest.tokenizer or {}
    kind = cfg.get("kind", "clip-bpe")
    if kind == "hf-tokenizers":
        try:
            return JsonTokenizer.from_settings(model_dir, cfg)
        except (OSError, TokenizerError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"model {manifest.name!r}: tokenizer unusable: {exc}; reinstall the model") from exc
    if kind != "clip-bpe":
        raise ModelLoadError(f"unsupported tokenizer kind {kind!r}")
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
