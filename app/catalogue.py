"""The catalogue of ready-made ONNX models on the Hugging Face hub, and which files of a repo a layout needs.

Every figure says where it came from. ``size_mb`` is the download (the files the layout needs, as the hub's
file listing shows them); ``None`` where it was not verified. Quality is the published ImageNet-1k zero-shot
top-1 of the same weights. CPU speed (``images_per_s``, ``text_ms``) is measured here with
``bench/bench_models.py`` (2 CPU cores, batch 16, best of 3 rounds) on our own export of the same
architecture with random weights (speed depends on the graph, not the weights; a published export of the
same architecture may differ somewhat); ``None`` where not measured yet.

Tests point the catalogue at fake repos with ``MEDIASEEK_CATALOGUE=/path/to/entries.json`` (a JSON list of
entries with the same fields); the built-in entries stay the real ones.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.errors import MediaseekError, NotFoundError

IMMICH = "immich"
TRANSFORMERS_JS = "transformers.js"


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    repo: str
    layout: str
    arch: str  # the open_clip architecture (for bench/ and the speed figures)
    languages: str
    licence: str
    quality: str  # published figure, with its source
    size_mb: float | None
    size_source: str
    images_per_s: float | None = None  # this project's CPU bench, 2 cores
    text_ms: float | None = None
    revision: str = "main"
    recommended: bool = False
    note: str = ""
    pins: dict[str, str] = field(default_factory=dict)  # repo path -> sha256, checked besides the hub's own

    def as_json(self) -> dict:
        data = asdict(self)
        data["download_bytes"] = int(self.size_mb * 1e6) if self.size_mb else None
        return data


_HF_TREE = "the hub's file listing (huggingface.co/{repo}/tree/main)"

# Not listed: immich-app/XLM-Roberta-Large-Vit-B-16Plus and the other M-CLIP exports keep the text tower's
# weights in external files (e.g. textual/onnx__MatMul_2679), which the layout adapters refuse.
BUILTIN: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="mobileclip-s1", repo="Xenova/mobileclip_s1", layout=TRANSFORMERS_JS, arch="MobileCLIP-S1",
        languages="English", licence="apple-amlr (Apple ML research licence; the hub says 'other')",
        quality="ImageNet-1k zero-shot 72.6% (Apple MobileCLIP model card)",
        size_mb=342, size_source="onnx/vision_model.onnx 86 MB + onnx/text_model.onnx 254 MB + tokenizer ~2 MB, "
        + _HF_TREE.format(repo="Xenova/mobileclip_s1"),
        images_per_s=18.7, text_ms=42.2, recommended=True,
        note="recommended: the fastest here with >= 70% ImageNet zero-shot (the design's default-model rule); "
             "good on weak machines; read the licence before commercial use",
    ),
    CatalogueEntry(
        name="mobileclip-s2", repo="Xenova/mobileclip_s2", layout=TRANSFORMERS_JS, arch="MobileCLIP-S2",
        languages="English", licence="apple-amlr (Apple ML research licence; the hub says 'other')",
        quality="ImageNet-1k zero-shot 74.4% (Apple MobileCLIP model card, apple/MobileCLIP-S2-OpenCLIP)",
        size_mb=399, size_source="onnx/vision_model.onnx 143 MB + onnx/text_model.onnx 254 MB + tokenizer ~2 MB, "
        + _HF_TREE.format(repo="Xenova/mobileclip_s2"),
        images_per_s=13.3, text_ms=43.7,
        note="a little better than mobileclip-s1, 30% slower to index; read the licence before commercial use",
    ),
    CatalogueEntry(
        name="vit-b-32-openai", repo="immich-app/ViT-B-32__openai", layout=IMMICH, arch="ViT-B-32",
        languages="English", licence="MIT (OpenAI CLIP)",
        quality="ImageNet-1k zero-shot 63.3% (open_clip docs/openclip_results.csv, ViT-B-32 openai)",
        size_mb=609, size_source="visual/model.onnx 351 MB + textual/model.onnx 254 MB + tokenizer files ~4 MB, "
        + _HF_TREE.format(repo="immich-app/ViT-B-32__openai"),
        note="Immich's default; permissive licence; CLIP BPE tokenizer (vocab.json + merges.txt)",
    ),
    CatalogueEntry(
        name="siglip2-b16", repo="immich-app/ViT-B-16-SigLIP2__webli", layout=IMMICH, arch="ViT-B-16-SigLIP2",
        languages="multilingual (WebLI)", licence="Apache-2.0 (Google SigLIP 2)",
        quality="ImageNet-1k zero-shot 78.2% (SigLIP 2 paper, B/16 at 224 px; NOT verified here)",
        size_mb=None, size_source="not verified: the hub's file listing was not reachable from here",
        note="strongest English model here; Gemma SentencePiece tokenizer (tokenizer.json)",
    ),
    CatalogueEntry(
        name="nllb-siglip-base", repo="immich-app/nllb-clip-base-siglip__v1", layout=IMMICH,
        arch="nllb-clip-base-siglip", languages="multilingual (201 languages, NLLB)",
        licence="CC-BY-NC-4.0 (NLLB text encoder; NOT verified here)",
        quality="not verified here (see the NLLB-CLIP paper, Visheratin 2023)",
        size_mb=None, size_source="not verified",
        note="for libraries searched in many languages; NLLB tokenizer (tokenizer.json)",
    ),
)


def entries() -> list[CatalogueEntry]:
    """The catalogue: the built-in entries, or the JSON file named by MEDIASEEK_CATALOGUE (tests)."""
    override = os.environ.get("MEDIASEEK_CATALOGUE")
    if not override:
        return list(BUILTIN)
    try:
        data = json.loads(Path(override).read_text(encoding="utf-8"))
        return [CatalogueEntry(**item) for item in data]
    except (OSError, ValueError, TypeError) as exc:
        raise MediaseekError(f"cannot read the catalogue {override}: {exc}") from exc


def find(name: str) -> CatalogueEntry:
    for entry in entries():
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries())
    raise NotFoundError(f"no catalogue model named {name!r} (available: {known}; see 'mediaseek models available')")


def recommended() -> CatalogueEntry | None:
    all_entries = entries()
    return next((e for e in all_entries if e.recommended), all_entries[0] if all_entries else None)


# --------------------------------------------------------------------------- layouts: which files to fetch

# Precision variants and other runtimes' files that a layout never needs.
_SKIP_SUFFIXES = (".armnn", ".rknn", ".mlpackage", ".md", ".gitattributes", ".png", ".jpg")
_VARIANT = re.compile(r"_(fp16|int8|uint8|q4|q4f16|bnb4|quantized)\.onnx(_data)?$")
_SUPPORT_NAMES = {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                  "preprocessor_config.json", "vocab.json", "merges.txt", "preprocess_cfg.json", "spiece.model",
                  "sentencepiece.bpe.model", "tokenizer.model"}


def detect_layout(paths: list[str]) -> str:
    present = set(paths)
    if {"visual/model.onnx", "textual/model.onnx"} <= present:
        return IMMICH
    if {"onnx/vision_model.onnx", "onnx/text_model.onnx"} <= present:
        return TRANSFORMERS_JS
    raise MediaseekError("this repository is not in a supported layout: expected visual/model.onnx + "
                         "textual/model.onnx (Immich) or onnx/vision_model.onnx + onnx/text_model.onnx "
                         "(transformers.js)")


def needed(path: str, layout: str) -> bool:
    """Whether ``layout`` needs the repo file ``path`` (no fp16/quantized variants, no other runtimes)."""
    if path.endswith(_SKIP_SUFFIXES) or _VARIANT.search(path):
        return False
    parts = path.split("/")
    if layout == IMMICH:
        if parts == ["config.json"]:
            return True
        # the towers' folders, not their subfolders (fp16/, rknpu/ ...); extensionless files are
        # external weights of a large text tower
        return len(parts) == 2 and parts[0] in ("visual", "textual") and (
            parts[1] == "model.onnx" or parts[1] in _SUPPORT_NAMES or "." not in parts[1]
            or parts[1].endswith((".onnx_data", ".data")))
    if layout == TRANSFORMERS_JS:
        if len(parts) == 1:
            return parts[0] in _SUPPORT_NAMES
        return len(parts) == 2 and parts[0] == "onnx" and (
            parts[1] in ("vision_model.onnx", "text_model.onnx")
            or parts[1] in ("vision_model.onnx_data", "text_model.onnx_data"))
    return False
