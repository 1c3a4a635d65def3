"""Adopt a published ONNX export into a model folder of ours: one manifest, whatever the layout.

Supported layouts (``detect_layout``):

* ``mediaseek``: a model folder of ours (``manifest.json``, ``visual.onnx``, ``textual.onnx``...), copied as is
  after its checksums are verified.
* ``immich``: ``visual/model.onnx``, ``textual/model.onnx``, ``config.json`` (open_clip's model config),
  ``visual/preprocess_cfg.json`` (open_clip's preprocess config), and the tokenizer in ``textual/``: CLIP's
  ``vocab.json`` + ``merges.txt`` or a ``tokenizer.json`` (+ ``tokenizer_config.json``). Immich's exporter
  writes graphs with a fixed batch of 1; the encoders run them at that size.
* ``transformers.js``: ``onnx/vision_model.onnx``, ``onnx/text_model.onnx`` (the fp32 files; quantized and fp16
  variants are ignored), ``tokenizer.json``, ``tokenizer_config.json``, ``preprocessor_config.json`` (HF
  ``CLIPImageProcessor``/``SiglipImageProcessor`` conventions) and ``config.json``.

Whatever the layout, the graphs' real input/output names, fixed batch sizes and embedding size are read from the
ONNX files themselves. ``logit_scale``/``logit_bias`` found at the top of ``config.json`` (as stored in a
checkpoint: the scale in log space) are kept in the manifest, so SigLIP scores can be shown as probabilities.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import MediaseekError
from indexer.manifest import ManifestError, ModelManifest, sha256_file, verify_files
from indexer.text_tokenizer import TOKENIZER_JSON, settings_from_configs

log = logging.getLogger(__name__)

LAYOUTS = ("mediaseek", "immich", "transformers.js")
_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
# PIL resampling numbers as HF preprocessor configs write them.
_RESAMPLE = {2: "bilinear", 3: "bicubic"}
_EXTERNAL_DATA_SUFFIXES = (".onnx_data", ".data", ".pb")


@dataclass
class Tower:
    """What an ONNX tower takes and gives, read from the graph."""

    input: str
    dtype: str
    shape: list
    mask: str | None
    output: str
    output_shape: list

    @property
    def batch(self) -> int | None:
        value = self.shape[0] if self.shape else None
        return value if isinstance(value, int) and value > 0 else None

    def io(self, **extra: Any) -> dict[str, Any]:
        return {"name": self.input, "dtype": self.dtype, "output": self.output, "batch": self.batch,
                **({"mask": self.mask} if self.mask else {}), **extra}


def detect_layout(source: Path) -> str:
    """Which layout ``source`` is in; MediaseekError naming what is expected when none fits."""
    source = Path(source)
    if (source / "manifest.json").is_file() and (source / "visual.onnx").is_file():
        return "mediaseek"
    if (source / "visual" / "model.onnx").is_file() or (source / "textual" / "model.onnx").is_file():
        return "immich"
    if (source / "onnx").is_dir():
        return "transformers.js"
    raise MediaseekError(
        f"{source} is not a model export mediaseek knows: expected Immich's layout (visual/model.onnx, "
        "textual/model.onnx), transformers.js's (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json) "
        "or a mediaseek model folder (manifest.json)")


def adopt_export(source: Path, out: Path, name: str) -> ModelManifest:
    """Copy the export at ``source`` into the empty folder ``out`` and write its manifest."""
    layout = detect_layout(source)
    log.info("adopting %s (%s layout) as %s", source, layout, name)
    if layout == "mediaseek":
        return _adopt_ours(Path(source), out, name)
    if layout == "immich":
        return adopt_immich_export(Path(source), out, name)
    return adopt_transformers_js_export(Path(source), out, name)


# -- our own ------------------------------------------------------------------------------
def _adopt_ours(source: Path, out: Path, name: str) -> ModelManifest:
    try:
        manifest = ModelManifest.load(source)
    except ManifestError as exc:
        raise MediaseekError(f"cannot adopt {source}: {exc}") from exc
    problems = verify_files(source, manifest)
    if problems:
        raise MediaseekError(f"cannot adopt {source}: {'; '.join(problems)}")
    for relative in manifest.files:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
    manifest.name = name
    manifest.save(out)
    return manifest


# -- Immich ------------------------------------------------------------------------------
def adopt_immich_export(source: Path, out: Path, name: str) -> ModelManifest:
    visual, textual = source / "visual" / "model.onnx", source / "textual" / "model.onnx"
    for path in (visual, textual):
        if not path.is_file():
            raise MediaseekError(f"not an Immich-style CLIP export: {path.relative_to(source)} is missing")
    _refuse_external_data(visual, textual)
    config = _read_json(source / "config.json")
    text_cfg = config.get("text_cfg") if isinstance(config.get("text_cfg"), dict) else {}
    vision_cfg = config.get("vision_cfg") if isinstance(config.get("vision_cfg"), dict) else {}
    preprocess_cfg = _read_json(source / "visual" / "preprocess_cfg.json")
    shutil.copyfile(visual, out / "visual.onnx")
    shutil.copyfile(textual, out / "textual.onnx")
    vision, text = _inspect(out / "visual.onnx", "visual/model.onnx"), _inspect(out / "textual.onnx", "textual/model.onnx")
    context_length = _context_length(text, int(text_cfg.get("context_length") or 77))

    hf_text = "hf_tokenizer_name" in text_cfg or "hf_model_name" in text_cfg
    tokenizer_config = _read_json(source / "textual" / "tokenizer_config.json")
    tokenizer_class = str(tokenizer_config.get("tokenizer_class") or "")
    # M-CLIP exports carry the *visual* model's open_clip config (CLIP text_cfg) next to an XLM-R/LaBSE text tower
    # that takes an attention mask: the tokenizer files and the graph say what the text side really is.
    clip_bpe = not hf_text and text.mask is None and (not tokenizer_class or tokenizer_class.startswith("CLIP"))
    kwargs = text_cfg.get("tokenizer_kwargs") if isinstance(text_cfg.get("tokenizer_kwargs"), dict) else {}
    # open_clip's own cleaning for this model: CLIP BPE lower-cases, its HFTokenizer defaults to 'whitespace'.
    clean = kwargs.get("clean") or ("lower" if clip_bpe else "whitespace")
    vocab, merges = source / "textual" / "vocab.json", source / "textual" / "merges.txt"
    tokenizer_json = source / "textual" / TOKENIZER_JSON
    files = ["visual.onnx", "textual.onnx"]
    if clip_bpe and vocab.is_file() and merges.is_file():
        shutil.copyfile(vocab, out / "vocab.json")
        shutil.copyfile(merges, out / "merges.txt")
        files += ["vocab.json", "merges.txt"]
        tokenizer = {"kind": "clip-bpe", "files": {"vocab": "vocab.json", "merges": "merges.txt"},
                     "context_length": context_length, "clean": clean if clean != "none" else "lower"}
    elif tokenizer_json.is_file():
        shutil.copyfile(tokenizer_json, out / TOKENIZER_JSON)
        files.append(TOKENIZER_JSON)
        tokenizer = settings_from_configs(tokenizer_config, context_length, clean,
                                          _read_json(source / "textual" / "special_tokens_map.json"))
        if clip_bpe:
            # open_clip pads CLIP BPE with 0, not with the end-of-text token HF's config names.
            tokenizer.pop("pad_token", None)
            tokenizer["pad_id"] = 0
    else:
        raise MediaseekError("the export has no tokenizer: textual/tokenizer.json (or, for CLIP BPE, "
                             "textual/vocab.json and textual/merges.txt) is required")

    size = preprocess_cfg.get("size") or vision_cfg.get("image_size") or _graph_image_size(vision) or 224
    size = [size, size] if isinstance(size, int) else list(size)
    preprocess = {
        "size": size,
        "mean": list(preprocess_cfg.get("mean") or _OPENAI_MEAN),
        "std": list(preprocess_cfg.get("std") or _OPENAI_STD),
        "interpolation": preprocess_cfg.get("interpolation") or "bicubic",
        "resize_mode": preprocess_cfg.get("resize_mode") or "shortest",
        "fill_color": int(preprocess_cfg.get("fill_color") or 0),
    }
    return _finish(out, name, files, vision, text, preprocess, tokenizer,
                   arch=config.get("model_name") or None, embed_dim=int(config.get("embed_dim") or 0),
                   scores=_scores(config), layout="immich")


# -- transformers.js ---------------------------------------------------------------------
def adopt_transformers_js_export(source: Path, out: Path, name: str) -> ModelManifest:
    visual = _fp32_file(source / "onnx", "vision_model")
    textual = _fp32_file(source / "onnx", "text_model")
    _refuse_external_data(visual, textual, whole_folder=False)
    tokenizer_json = source / TOKENIZER_JSON
    if not tokenizer_json.is_file():
        raise MediaseekError("not a transformers.js export: tokenizer.json is missing")
    processor = _read_json(source / "preprocessor_config.json")
    if not processor:
        raise MediaseekError("not a transformers.js export: preprocessor_config.json is missing")
    config = _read_json(source / "config.json")
    tokenizer_config = _read_json(source / "tokenizer_config.json")
    shutil.copyfile(visual, out / "visual.onnx")
    shutil.copyfile(textual, out / "textual.onnx")
    shutil.copyfile(tokenizer_json, out / TOKENIZER_JSON)
    vision = _inspect(out / "visual.onnx", f"onnx/{visual.name}", prefer=("image_embeds", "pooler_output"))
    text = _inspect(out / "textual.onnx", f"onnx/{textual.name}", prefer=("text_embeds", "pooler_output"))

    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    default_length = int(text_config.get("max_position_embeddings") or 77)
    model_max = tokenizer_config.get("model_max_length")
    if isinstance(model_max, int) and 0 < model_max < default_length:
        default_length = model_max
    context_length = _context_length(text, default_length)
    tokenizer_class = str(tokenizer_config.get("tokenizer_class") or "")
    # HF's SigLIP tokenizer lower-cases and strips punctuation (open_clip's 'canonicalize'); the others do what
    # tokenizer.json says and nothing more.
    clean = "canonicalize" if tokenizer_class.startswith("Siglip") else "none"
    tokenizer = settings_from_configs(tokenizer_config, context_length, clean,
                                      _read_json(source / "special_tokens_map.json"))
    preprocess = _hf_preprocess(processor, _graph_image_size(vision))
    embed_dim = int(config.get("projection_dim") or text_config.get("projection_size") or 0)
    arch = config.get("model_type") or None
    return _finish(out, name, ["visual.onnx", "textual.onnx", TOKENIZER_JSON], vision, text, preprocess,
                   tokenizer, arch=arch, embed_dim=embed_dim, scores=_scores(config), layout="transformers.js")


def _fp32_file(folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.onnx"
    if path.is_file():
        return path
    variants = sorted(p.name for p in folder.glob(f"{stem}*.onnx")) if folder.is_dir() else []
    if variants:
        raise MediaseekError(f"onnx/{stem}.onnx (fp32) is missing; only {', '.join(variants)} found, "
                             "which mediaseek does not use")
    raise MediaseekError(f"not a transformers.js export: onnx/{stem}.onnx is missing")


def _hf_preprocess(processor: dict, graph_size: list[int] | None) -> dict[str, Any]:
    """open_clip-style preprocessing from a HF image processor config.

    ``CLIPImageProcessor``: short edge to ``shortest_edge``, then centre crop (open_clip's 'shortest' mode when
    the two agree); ``SiglipImageProcessor`` and other ``{height, width}`` resizes without a crop: 'squash'.
    """
    kind = processor.get("image_processor_type") or processor.get("feature_extractor_type") or "image processor"
    if processor.get("do_rescale", True) is False:
        raise MediaseekError(f"preprocessor_config.json: {kind} without rescaling to 0..1 is not supported")
    factor = processor.get("rescale_factor", 1 / 255)
    if not isinstance(factor, (int, float)) or not math.isclose(factor, 1 / 255, rel_tol=1e-4):
        raise MediaseekError(f"preprocessor_config.json: rescale_factor {factor!r} is not supported (only 1/255)")
    resample = processor.get("resample", 3)
    if resample not in _RESAMPLE:
        raise MediaseekError(f"preprocessor_config.json: resample {resample!r} is not supported "
                             "(2 bilinear or 3 bicubic)")
    size = processor.get("size")
    crop = processor.get("crop_size")
    do_crop = bool(processor.get("do_center_crop", crop is not None))
    if isinstance(size, int):
        size = {"shortest_edge": size}
    if isinstance(crop, int):
        crop = {"height": crop, "width": crop}
    if not isinstance(size, dict):
        if graph_size is None:
            raise MediaseekError("preprocessor_config.json gives no image size")
        size = {"height": graph_size[0], "width": graph_size[1]}
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        if not do_crop or not isinstance(crop, dict):
            raise MediaseekError("preprocessor_config.json resizes the short edge without a centre crop, "
                                 "which gives images of varying size; not supported")
        target = [int(crop["height"]), int(crop["width"])]
        if target != [edge, edge]:
            raise MediaseekError(f"preprocessor_config.json resizes to {edge} then crops {target[0]}x{target[1]}; "
                                 "mediaseek supports a crop equal to the resized short edge")
        mode = "shortest"
    elif "height" in size and "width" in size:
        target = [int(size["height"]), int(size["width"])]
        if do_crop and isinstance(crop, dict) and [int(crop["height"]), int(crop["width"])] != target:
            raise MediaseekError("preprocessor_config.json resizes then crops to another size; not supported")
        mode = "squash"
    else:
        raise MediaseekError(f"preprocessor_config.json: size {size!r} is not understood")
    if graph_size is not None and graph_size != target:
        raise MediaseekError(f"preprocessor_config.json gives {target[0]}x{target[1]} images but the vision model "
                             f"takes {graph_size[0]}x{graph_size[1]}")
    normalize = processor.get("do_normalize", True)
    return {
        "size": target,
        "mean": list(processor.get("image_mean") or _OPENAI_MEAN) if normalize else [0.0, 0.0, 0.0],
        "std": list(processor.get("image_std") or _OPENAI_STD) if normalize else [1.0, 1.0, 1.0],
        "interpolation": _RESAMPLE[resample],
        "resize_mode": mode,
        "fill_color": 0,
    }


# -- shared ------------------------------------------------------------------------------
def _inspect(path: Path, label: str, prefer: tuple[str, ...] = ()) -> Tower:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's pybind errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MediaseekError(f"onnxruntime cannot load {label}: {first[:200]}") from exc
    inputs = {i.name: i for i in session.get_inputs()}
    mask = "attention_mask" if "attention_mask" in inputs else None
    main = [i for name, i in inputs.items() if name != mask]
    if len(main) != 1:
        raise MediaseekError(f"{label} takes inputs {', '.join(inputs)}; mediaseek supports one input "
                             "(plus attention_mask)")
    outputs = {o.name: o for o in session.get_outputs()}
    chosen = next((outputs[n] for n in prefer if n in outputs), None)
    if chosen is None:
        chosen = next((o for o in outputs.values() if len(o.shape) == 2), session.get_outputs()[0])
    inp = main[0]
    return Tower(inp.name, inp.type.removeprefix("tensor(").rstrip(")"), list(inp.shape), mask, chosen.name,
                 list(chosen.shape))


def _graph_image_size(tower: Tower) -> list[int] | None:
    dims = tower.shape[-2:] if len(tower.shape) == 4 else []
    return [int(d) for d in dims] if len(dims) == 2 and all(isinstance(d, int) for d in dims) else None


def _context_length(text: Tower, configured: int) -> int:
    fixed = text.shape[1] if len(text.shape) == 2 else None
    if isinstance(fixed, int) and fixed > 0:
        if fixed != configured:
            log.info("text model takes %d tokens, configs say %d: using the model's", fixed, configured)
        return fixed
    return configured


def _embed_dim(out: Path, vision: Tower, configured: int) -> int:
    last = vision.output_shape[-1] if vision.output_shape else None
    if isinstance(last, int) and last > 0:
        return last
    if configured:
        return configured
    import onnxruntime as ort  # the graph does not say: run it once on a blank image

    session = ort.InferenceSession(str(out / "visual.onnx"), providers=["CPUExecutionProvider"])
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in vision.shape]
    dtype = np.float16 if vision.dtype == "float16" else np.float32
    result = session.run([vision.output], {vision.input: np.zeros(shape, dtype=dtype)})[0]
    return int(np.asarray(result).shape[-1])


def _scores(config: dict) -> dict[str, float] | None:
    scale, bias = config.get("logit_scale"), config.get("logit_bias")
    if isinstance(scale, (int, float)) and isinstance(bias, (int, float)):
        return {"logit_scale": float(math.exp(scale)), "logit_bias": float(bias)}
    return None


def _finish(out: Path, name: str, files: list[str], vision: Tower, text: Tower, preprocess: dict,
            tokenizer: dict, arch: str | None, embed_dim: int, scores: dict | None, layout: str) -> ModelManifest:
    if text.dtype not in ("int32", "int64"):
        raise MediaseekError(f"the text model takes {text.dtype} input, expected token ids (int32/int64)")
    manifest = ModelManifest(
        name=name, arch=arch, pretrained=None, source="onnx-import",
        embed_dim=_embed_dim(out, vision, embed_dim),
        preprocess=preprocess, tokenizer=tokenizer,
        files={f: sha256_file(out / f) for f in files},
        parity=None,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        visual_input=vision.io(layout=layout),
        textual_input=text.io(),
        scores=scores,
    )
    try:
        manifest._check_types()
        from indexer.preprocess import PreprocessConfig

        PreprocessConfig.from_dict(preprocess)
    except (ManifestError, ValueError) as exc:
        raise MediaseekError(f"the export's configs are not usable: {exc}") from exc
    manifest.save(out)
    return manifest


def _refuse_external_data(*models: Path, whole_folder: bool = True) -> None:
    for model in models:
        if whole_folder:
            extra = [p.name for p in model.parent.iterdir() if p.suffix in _EXTERNAL_DATA_SUFFIXES]
        else:  # transformers.js keeps every variant in one folder: only this file's own data counts
            extra = [p.name for p in (model.with_suffix(".onnx_data"), model.with_name(model.name + ".data"))
                     if p.exists()]
        if extra:
            raise MediaseekError(f"models with external weight files ({', '.join(extra)}) are not supported")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise MediaseekError(f"cannot read {path.name}: {exc}") from exc
    return data if isinstance(data, dict) else {}
