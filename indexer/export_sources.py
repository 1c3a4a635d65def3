"""Where an export's model comes from: open_clip architectures (named or from a config file), their
tokenizer and preprocessing, checkpoint files, and where open_clip publishes pretrained weights.

Split from ``indexer.export``, which builds and checks the ONNX pair from what this module loads.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import open_clip
import torch
from open_clip import tokenizer as _oc_tokenizer
from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
from open_clip.convert import convert_state_dict
from open_clip.model import convert_to_custom_text_state_dict

from indexer.export_checks import ExportError, _first_line

log = logging.getLogger(__name__)

CLIP_BPE_VOCAB_SIZE = 49408

FIND_NAMES_HINT = (
    "list valid names with: python -c \"import open_clip; print(open_clip.list_pretrained())\""
)


# --------------------------------------------------------------------------- architectures


def register_arch_config(path: Path) -> str:
    """Register a custom open_clip model config (.json) and return the architecture name (the file stem)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"model config not found: {path}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"model config {path.name} is not readable JSON ({exc})") from exc
    missing = [key for key in ("embed_dim", "vision_cfg", "text_cfg") if not isinstance(config, dict) or key not in config]
    if missing:
        raise ExportError(f"model config {path.name} is not an open_clip config (no {', '.join(missing)})")
    open_clip.add_model_config(path)
    return path.stem


def _resolve_arch(arch: str) -> str:
    """Accept a registered architecture name or a path to a .json model config."""
    if arch.lower().endswith(".json") or os.sep in arch or (os.altsep and os.altsep in arch):
        return register_arch_config(Path(arch))
    if arch not in open_clip.list_models():
        raise ExportError(
            f"unknown architecture '{arch}': give an open_clip model name or a .json model config; {FIND_NAMES_HINT}"
        )
    return arch


def _clip_bpe_tokenizer(arch: str) -> dict[str, Any]:
    """Describe the CLIP BPE tokenizer of `arch`, or refuse architectures whose tokenizer the runtime lacks.

    Decided from the config before anything is downloaded, so an unsupported model fails in seconds.
    """
    config = open_clip.get_model_config(arch) or {}
    text_cfg = config.get("text_cfg", {})
    if "hf_tokenizer_name" in text_cfg or "hf_model_name" in text_cfg:
        raise ExportError(
            f"{arch} uses a Hugging Face tokenizer ({text_cfg.get('hf_tokenizer_name') or text_cfg.get('hf_model_name')}); "
            "only CLIP BPE tokenizers are supported"
        )
    if "siglip" in arch.lower():
        raise ExportError(f"{arch} uses a SigLIP sentencepiece tokenizer; only CLIP BPE tokenizers are supported")
    kwargs = dict(text_cfg.get("tokenizer_kwargs", {}))
    unsupported = sorted(set(kwargs) - {"clean", "bpe_path"})
    if unsupported:
        raise ExportError(f"{arch} tokenizer uses options the runtime does not implement: {', '.join(unsupported)}")
    tokenizer = open_clip.get_tokenizer(arch)
    if type(tokenizer) is not _oc_tokenizer.SimpleTokenizer:
        raise ExportError(f"{arch} uses {type(tokenizer).__name__}; only CLIP BPE tokenizers are supported")
    if tokenizer.reduction_fn is not None or tokenizer.vocab_size != CLIP_BPE_VOCAB_SIZE:
        raise ExportError(f"{arch} uses a modified CLIP BPE tokenizer the runtime does not implement")
    clean = next(
        (mode for mode in ("lower", "whitespace", "canonicalize") if tokenizer.clean_fn is _oc_tokenizer.get_clean_fn(mode)),
        None,
    )
    if clean is None:
        raise ExportError(f"{arch} tokenizer uses an unknown text cleaning function")
    bpe_path = Path(kwargs.get("bpe_path") or _oc_tokenizer.default_bpe())
    return {
        "tokenizer": tokenizer,
        "bpe_path": bpe_path,
        "clean": clean,
        "context_length": int(tokenizer.context_length),
    }


def _tag_cfg(arch: str, tag: str) -> dict[str, Any]:
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if cfg:
        return cfg
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if tags:
        raise ExportError(f"unknown pretrained tag '{tag}' for {arch}; valid tags: {', '.join(tags)}")
    raise ExportError(f"open_clip has no pretrained weights for {arch}; {FIND_NAMES_HINT}")


def _quick_gelu_arch(arch: str, tag_cfg: dict[str, Any]) -> tuple[str, bool]:
    """Weights trained with QuickGELU (OpenAI's) need the QuickGELU variant of the architecture.

    Returns (architecture name, force_quick_gelu). open_clip itself only warns about the mismatch,
    and the resulting embeddings are quietly worse.
    """
    if not tag_cfg.get("quick_gelu", False):
        return arch, False
    config = open_clip.get_model_config(arch) or {}
    if config.get("quick_gelu", False):
        return arch, False
    variant = f"{arch}-quickgelu"
    if variant in open_clip.list_models():
        log.info("weights were trained with QuickGELU; using architecture %s", variant)
        return variant, False
    return arch, True


def _preprocess_cfg(model: torch.nn.Module, arch: str, pretrained_tag: str | None) -> dict[str, Any]:
    """The model's own preprocess config, refined by what open_clip knows about its published weights.

    With a tag, that tag's config wins. Without one, the tags' shared settings are used when every
    published tag of the architecture agrees (MobileCLIP normalises with mean 0 / std 1, unlike the
    OpenAI defaults a bare architecture reports).
    """
    cfg = dict(open_clip.get_model_preprocess_cfg(model))
    keys = ("mean", "std", "interpolation", "resize_mode", "fill_color")
    if pretrained_tag:
        tag_cfg = _tag_cfg(arch, pretrained_tag)
        cfg.update({k: tag_cfg[k] for k in keys if tag_cfg.get(k) is not None})
    else:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        cfgs = [open_clip.get_pretrained_cfg(arch, tag) for tag in tags]
        shared = ("mean", "std", "interpolation", "resize_mode")
        if cfgs and all(all(c.get(k) is not None for k in shared) for c in cfgs):
            first = {k: tuple(cfgs[0][k]) if isinstance(cfgs[0][k], (list, tuple)) else cfgs[0][k] for k in shared}
            agree = all(
                {k: tuple(c[k]) if isinstance(c[k], (list, tuple)) else c[k] for k in shared} == first for c in cfgs
            )
            if agree:
                cfg.update(first)
    size = cfg.get("size", getattr(getattr(model, "visual", None), "image_size", 224))
    if isinstance(size, int):
        size = (size, size)
    return {
        "size": [int(size[0]), int(size[1])],
        "mean": [float(v) for v in cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)],
        "std": [float(v) for v in cfg.get("std", open_clip.OPENAI_DATASET_STD)],
        "interpolation": str(cfg.get("interpolation", "bicubic")),
        "resize_mode": str(cfg.get("resize_mode", "shortest")),
        "fill_color": int(cfg.get("fill_color", 0)),
    }


# --------------------------------------------------------------------------- checkpoints


def _read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """Load a state_dict from a torch or safetensors file, unwrapping the usual training containers."""
    if not path.exists():
        raise ExportError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise ExportError(f"checkpoint is not a file: {path}")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ExportError("reading .safetensors checkpoints needs the safetensors package") from None
        try:
            obj: Any = load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own error types
            raise ExportError(f"{path.name} is not a valid safetensors file ({_first_line(exc)})") from exc
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
            if unsafe:
                raise ExportError(
                    f"{path.name} holds Python objects ({unsafe.group(1)}) besides tensors; "
                    "refusing to unpickle it (weights-only load)"
                ) from exc
            raise ExportError(f"{path.name} is not a PyTorch checkpoint") from exc
        except Exception as exc:  # junk bytes make the unpickler raise almost anything (KeyError, ...)
            raise ExportError(f"{path.name} is not a PyTorch checkpoint ({_first_line(exc)})") from exc

    if isinstance(obj, torch.jit.ScriptModule):  # OpenAI's original .pt releases are TorchScript archives
        obj = {k: v for k, v in obj.state_dict().items() if k not in ("input_resolution", "context_length", "vocab_size")}
    for container_key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(container_key), dict):
            obj = obj[container_key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ExportError(f"{path.name} does not contain a model state_dict")
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):  # saved from DistributedDataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _apply_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], arch: str, checkpoint: Path) -> None:
    state = convert_state_dict(model, state)  # Apple's original MobileCLIP layout
    if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
        state = convert_to_custom_text_state_dict(state)
    expected = model.state_dict()
    if "logit_scale" in state and "logit_scale" in expected and state["logit_scale"].ndim != expected["logit_scale"].ndim:
        state["logit_scale"] = state["logit_scale"].reshape(expected["logit_scale"].shape)

    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {list(state[k].shape)} vs {list(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched)):
            if items:
                parts.append(f"{len(items)} {label} (e.g. {', '.join(items[:2])})")
        raise ExportError(f"{checkpoint.name} does not fit architecture {arch}: {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


class _DropRandomInitWarning(logging.Filter):
    """open_clip warns on the root logger that a model without `pretrained` is randomly initialised;
    for a checkpoint export that is expected (the weights are loaded right after) and would mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


def _create_model(arch: str, **kwargs: Any) -> torch.nn.Module:
    root = logging.getLogger()
    quiet = _DropRandomInitWarning()
    root.addFilter(quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return open_clip.create_model(arch, **kwargs)
    finally:
        root.removeFilter(quiet)


def _context_length(model: torch.nn.Module) -> int:
    return int(open_clip.get_model_tokenize_cfg(model).get("context_length", _oc_tokenizer.DEFAULT_CONTEXT_LENGTH))


def _hub_candidates(hf_hub: str) -> tuple[str, list[str]]:
    """open_clip's ``hf_hub`` field → (repo, weights files to try, safetensors first)."""
    if hf_hub.endswith("/"):  # open_clip's convention: a bare repo means its default weights file
        repo_id, filename = hf_hub.rstrip("/"), HF_WEIGHTS_NAME
    else:
        repo_id, filename = os.path.split(hf_hub)
    candidates = [filename]
    if filename == HF_WEIGHTS_NAME:
        candidates.insert(0, HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        candidates.insert(0, filename[:-4] + ".safetensors")
    return repo_id, candidates


def _cached_weights(tag_cfg: dict[str, Any], cache_dir: Path | None) -> Path | None:
    """The already-downloaded weights file for a pretrained tag, if open_clip's caches hold one."""
    if tag_cfg.get("file"):
        path = Path(tag_cfg["file"])
        return path if path.is_file() else None
    hf_hub = tag_cfg.get("hf_hub", "")
    if hf_hub:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            repo_id, candidates = _hub_candidates(hf_hub)
            for candidate in candidates:
                found = try_to_load_from_cache(repo_id, candidate, cache_dir=cache_dir)
                if isinstance(found, str) and Path(found).is_file():
                    return Path(found)
        return None
    url = tag_cfg.get("url", "")
    if url:
        root = Path(cache_dir) if cache_dir else Path("~/.cache/clip").expanduser()
        path = root / os.path.basename(urlparse(url).path)
        return path if path.is_file() else None
    return None


def pretrained_source(arch: str, pretrained: str) -> dict[str, Any]:
    """Where open_clip publishes the weights of ``arch:pretrained``, for the app's downloader.

    ``{"repo": OWNER/REPO, "candidates": [file, ...]}`` (safetensors first) or ``{"url": URL}``.
    """
    if arch not in open_clip.list_models():
        raise ExportError(f"unknown architecture '{arch}'; {FIND_NAMES_HINT}")
    tag_cfg = _tag_cfg(arch, pretrained)
    _clip_bpe_tokenizer(arch)  # refuse unsupported text towers before anything is downloaded
    hf_hub = tag_cfg.get("hf_hub", "")
    if hf_hub:
        repo_id, candidates = _hub_candidates(hf_hub)
        return {"repo": repo_id, "candidates": candidates}
    if tag_cfg.get("url"):
        return {"url": tag_cfg["url"]}
    raise ExportError(f"open_clip names no download for {arch}:{pretrained}")
