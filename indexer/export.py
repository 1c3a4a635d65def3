"""Export open_clip models to the ONNX pair the runtime uses, and refuse exports that do not match PyTorch.

This module and its parts (``export_sources``: where the model comes from; ``export_towers``; ``export_checks``)
are the only production modules that import torch and open_clip; callers import them lazily so the search
and indexing path never pays for torch.

An export goes: build the open_clip model -> load weights -> eval + reparameterise (MobileCLIP) ->
trace both towers to ONNX in a temporary directory -> compare onnxruntime against PyTorch on varied
inputs -> write the tokenizer file and manifest -> move the directory into place. Nothing appears at
`out_dir` unless every step passed.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import open_clip
import torch

from indexer.export_checks import (  # noqa: F401 - ExportError/ParityError are part of this module's API
    _BATCHES, _SAMPLE_TEXTS, _TEXT_BATCHES, ExportError, ParityError, _first_line, _parity_figures, _run_onnx,
    _sample_images,
)
from indexer.export_sources import (  # noqa: F401 - register_arch_config, pretrained_source: this module's API
    CLIP_BPE_VOCAB_SIZE, FIND_NAMES_HINT, _apply_state_dict, _cached_weights, _clip_bpe_tokenizer, _context_length,
    _create_model, _preprocess_cfg, _quick_gelu_arch, _read_checkpoint, _resolve_arch, _tag_cfg, pretrained_source,
    register_arch_config,
)
from indexer.export_towers import (
    _can_trim_text, _ImageTower, _length_agnostic_attention, _TextTower, _TrimmedTextTower, trim_tokens,
)
from indexer.manifest import ModelManifest, sha256_file

log = logging.getLogger(__name__)

PARITY_MIN_COSINE = 0.9999
ONNX_OPSET = 17
VISUAL_FILE = "visual.onnx"
TEXTUAL_FILE = "textual.onnx"
VISUAL_INPUT = {"name": "image", "dtype": "float32"}
TEXTUAL_INPUT = {"name": "text", "dtype": "int64"}
OUTPUT_NAME = "embedding"

Progress = Callable[[str], None]


def _say(progress: Progress | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(message)


# --------------------------------------------------------------------------- entry points


def export_checkpoint(
    arch: str,
    checkpoint: Path,
    out_dir: Path,
    *,
    name: str,
    pretrained_tag: str | None = None,
    progress: Progress | None = None,
) -> ModelManifest:
    """Export a local open_clip checkpoint (the offline install path)."""
    checkpoint = Path(checkpoint)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    arch_name = _resolve_arch(str(arch))
    _clip_bpe_tokenizer(arch_name)  # refuse unsupported text towers before the slow work
    quick_gelu = False
    if pretrained_tag:
        arch_name, quick_gelu = _quick_gelu_arch(arch_name, _tag_cfg(arch_name, pretrained_tag))
    _say(progress, f"reading checkpoint {checkpoint.name}")
    state = _read_checkpoint(checkpoint)
    _say(progress, f"building {arch_name}")
    model = _create_model(arch_name, pretrained=None, force_quick_gelu=quick_gelu)
    _apply_state_dict(model, state, arch_name, checkpoint)
    del state
    return export_model(
        model,
        arch=arch_name,
        pretrained=pretrained_tag,
        source="open_clip-checkpoint",
        preprocess_cfg=_preprocess_cfg(model, arch_name, pretrained_tag),
        tokenizer_context_length=_context_length(model),
        out_dir=out_dir,
        name=name,
        progress=progress,
    )


def export_pretrained(
    arch: str,
    pretrained: str,
    out_dir: Path,
    *,
    name: str,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    weights: Path | None = None,
) -> ModelManifest:
    """Export open_clip's published weights from ``weights`` (downloaded by the app) or a cached copy.

    Never downloads: the app's downloader fetches the file that ``pretrained_source`` names.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    if arch not in open_clip.list_models():
        raise ExportError(f"unknown architecture '{arch}'; {FIND_NAMES_HINT}")
    tag_cfg = _tag_cfg(arch, pretrained)
    _clip_bpe_tokenizer(arch)
    arch_name, quick_gelu = _quick_gelu_arch(arch, tag_cfg)
    what = f"{arch}:{pretrained}"

    cached = Path(weights) if weights is not None else _cached_weights(tag_cfg, cache_dir)
    if cached is None or not cached.is_file():
        raise ExportError(f"the weights of {what} are not on this machine: 'mediaseek models install {what}' "
                          "downloads them")
    _say(progress, f"reading the weights of {what}")
    # the same checked reader as a local checkpoint: a bad file is one plain line, not open_clip's error
    state = _read_checkpoint(cached)
    model = _create_model(arch_name, pretrained=None, force_quick_gelu=quick_gelu)
    _apply_state_dict(model, state, arch_name, cached)
    del state
    return export_model(
        model,
        arch=arch_name,
        pretrained=pretrained,
        source="open_clip-pretrained",
        preprocess_cfg=_preprocess_cfg(model, arch_name, pretrained),
        tokenizer_context_length=_context_length(model),
        out_dir=out_dir,
        name=name,
        progress=progress,
    )




# --------------------------------------------------------------------------- export + parity


def export_model(
    model: torch.nn.Module,
    *,
    arch: str,
    pretrained: str | None,
    source: str,
    preprocess_cfg: dict,
    tokenizer_context_length: int,
    out_dir: Path,
    name: str,
    progress: Progress | None = None,
    reparameterize: bool = True,
) -> ModelManifest:
    """Export both towers of a loaded open_clip model into `out_dir` and write its manifest.

    The model is switched to eval mode and, where it has re-parameterisable blocks (MobileCLIP's
    FastViT), fused in place. `reparameterize=False` exists only to measure what fusing changes.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    tok = _clip_bpe_tokenizer(arch)
    if tokenizer_context_length != tok["context_length"]:
        raise ExportError(
            f"{arch}: text tower context length {tokenizer_context_length} differs from its tokenizer's "
            f"{tok['context_length']}"
        )
    vocab = open_clip.get_model_tokenize_cfg(model).get("vocab_size")
    if vocab is not None and vocab != CLIP_BPE_VOCAB_SIZE:
        raise ExportError(f"{arch}: text tower vocabulary has {vocab} entries, CLIP BPE has {CLIP_BPE_VOCAB_SIZE}")

    model.eval()
    if reparameterize and _has_reparameterizable_blocks(model):
        _say(progress, "re-parameterising (fusing training-time branches)")
        from timm.utils.model import reparameterize_model

        reparameterize_model(model, inplace=True)
        model.eval()

    height, width = preprocess_cfg["size"]
    images = _sample_images(height, width, preprocess_cfg["mean"], preprocess_cfg["std"])
    texts = tok["tokenizer"](_SAMPLE_TEXTS, context_length=tokenizer_context_length)

    image_tower = _ImageTower(model).eval()
    text_tower = _TextTower(model).eval()
    trim = _can_trim_text(model)
    exported_text_tower = _TrimmedTextTower(model).eval() if trim else text_tower
    # References come from the eval-mode model before export: the exporter restores the
    # wrappers' training flag afterwards, so taking them later risks train-mode BatchNorm.
    with torch.no_grad():
        image_ref = [image_tower(images[s]).float().numpy() for s in _BATCHES]
        text_ref = [text_tower(texts[s]).float().numpy() for s in _TEXT_BATCHES]
    embed_dim = int(image_ref[0].shape[1])
    if int(text_ref[0].shape[1]) != embed_dim:
        raise ExportError(f"{arch}: image embeddings have {embed_dim} dimensions, text embeddings {text_ref[0].shape[1]}")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # A sibling of out_dir, so the final os.replace is a rename on one filesystem; plain mkdir
    # (not mkdtemp) so the directory gets the user's normal permissions.
    work = out_dir.parent / f".{out_dir.name}.export-{uuid.uuid4().hex[:12]}"
    work.mkdir()
    try:
        _say(progress, "exporting image encoder")
        _export_tower(image_tower, images[:2], work / VISUAL_FILE, VISUAL_INPUT["name"])
        _say(progress, "exporting text encoder")
        # a short example so the tracer cannot bake the full context length into the graph
        with _length_agnostic_attention(model) if trim else contextlib.nullcontext():
            _export_tower(exported_text_tower, trim_tokens(texts[:2].numpy()) if trim else texts[:2],
                          work / TEXTUAL_FILE, TEXTUAL_INPUT["name"], dynamic_length=trim)
        image_tower.eval()
        text_tower.eval()
        exported_text_tower.eval()

        _say(progress, "checking ONNX against PyTorch")
        image_onnx = _run_onnx(work / VISUAL_FILE, VISUAL_INPUT["name"], OUTPUT_NAME, [images[s].numpy() for s in _BATCHES])
        # The reference ran on all 77 tokens; a trimmed graph gets the trimmed batch, as at runtime.
        text_batches = [texts[s].numpy() for s in _TEXT_BATCHES]
        if trim:
            text_batches = [trim_tokens(batch) for batch in text_batches]
        text_onnx = _run_onnx(work / TEXTUAL_FILE, TEXTUAL_INPUT["name"], OUTPUT_NAME, text_batches)
        figures = _parity_figures(image_ref, image_onnx, text_ref, text_onnx, embed_dim)
        _check_parity(figures)

        tokenizer_file = tok["bpe_path"].name
        shutil.copyfile(tok["bpe_path"], work / tokenizer_file)
        manifest = ModelManifest(
            name=name,
            arch=arch,
            pretrained=pretrained,
            source=source,
            embed_dim=embed_dim,
            preprocess=dict(preprocess_cfg),
            tokenizer={
                "kind": "clip-bpe",
                "files": {"bpe": tokenizer_file},
                "context_length": tokenizer_context_length,
                "clean": tok["clean"],
            },
            files={p.name: sha256_file(p) for p in sorted(work.iterdir()) if p.is_file()},
            parity=figures,
            created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            visual_input=dict(VISUAL_INPUT),
            textual_input={**TEXTUAL_INPUT, **({"trim": "eot"} if trim else {})},
        )
        manifest.save(work)
        _check_out_dir(out_dir)
        if out_dir.is_dir():
            out_dir.rmdir()  # empty (checked above); os.replace needs it gone on every platform
        os.replace(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _say(
        progress,
        f"exported {name}: image cosine {figures['visual_min_cosine']:.6f}, text cosine {figures['textual_min_cosine']:.6f}",
    )
    return manifest


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"{out_dir} already exists; remove it or choose another name")


def _has_reparameterizable_blocks(model: torch.nn.Module) -> bool:
    return any(
        callable(getattr(module, "reparameterize", None)) or callable(getattr(module, "switch_to_deploy", None))
        for module in model.modules()
        if module is not model
    )


def _export_tower(tower: torch.nn.Module, example: torch.Tensor | np.ndarray, path: Path, input_name: str,
                  dynamic_length: bool = False) -> None:
    """Trace one tower to ONNX with a dynamic batch axis.

    Not under torch.no_grad(): with gradients off nn.MultiheadAttention takes a fused fast path the
    exporter cannot express. The example has batch 2 so the tracer cannot specialise on a batch of 1.
    """
    if isinstance(example, np.ndarray):
        example = torch.from_numpy(np.ascontiguousarray(example))
    axes = {0: "batch", 1: "tokens"} if dynamic_length else {0: "batch"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                tower,
                (example,),
                str(path),
                dynamo=False,
                opset_version=ONNX_OPSET,
                input_names=[input_name],
                output_names=[OUTPUT_NAME],
                dynamic_axes={input_name: axes, OUTPUT_NAME: {0: "batch"}},
                do_constant_folding=True,
            )
    except Exception as exc:
        raise ExportError(f"ONNX export of {path.stem} failed: {_first_line(exc)}") from exc


def _check_parity(figures: dict[str, Any]) -> None:
    threshold = PARITY_MIN_COSINE
    figures["min_required"] = threshold
    for tower, label in (("visual", "image"), ("textual", "text")):
        value = figures[f"{tower}_min_cosine"]
        if not value >= threshold:  # also catches NaN
            raise ParityError(
                f"ONNX {label} encoder disagrees with PyTorch: cosine {value:.6f} < {threshold} "
                f"(max abs diff {figures[f'{tower}_max_abs_diff']:.3g}); export refused",
                figures,
            )
