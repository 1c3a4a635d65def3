"""Published ONNX layouts, made here from a tiny random open_clip model (see tests/tinyclip.py).

* ``write_immich_export``: as Immich's exporter writes them (``torch.onnx.export`` of ``encode_image`` /
  ``encode_text`` with normalize=True, a FIXED batch of 1, inputs ``image`` and int32 ``text``, output
  ``embedding``; ``config.json`` is open_clip's model config, ``visual/preprocess_cfg.json`` its preprocess config;
  the tokenizer as vocab.json + merges.txt, or tokenizer.json only).
* ``write_transformers_js_export``: the HF names transformers.js uses (``pixel_values`` -> ``image_embeds`` next to
  a 3-D ``last_hidden_state``, ``input_ids`` + ``attention_mask`` -> ``text_embeds``), dynamic batch, unnormalised
  embeddings, ``preprocessor_config.json`` in CLIPImageProcessor or SiglipImageProcessor form, and a quantized
  variant that must be ignored.
"""
from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

from tests.tinyclip import _TINY_CONFIG, TINY_CONTEXT_LENGTH, TINY_IMAGE_SIZE

TEXTS = ["a dog on a beach", "über 🎂 cake!", "", "Sunset over the MOUNTAINS, 2024", "東京タワーの夜景",
         "word " * 100, "A_B_C d-e-f (g)", "kids & parents &amp; friends", "👨‍👩‍👧‍👦 family trip"]


def tiny_model(seed: int = 3, logit_bias: float | None = None):
    """A random tiny open_clip CLIP in eval mode; with ``logit_bias`` a SigLIP-style scale and bias."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    config = json.loads(json.dumps(_TINY_CONFIG))
    model = open_clip.CLIP(**config, init_logit_bias=logit_bias)
    if logit_bias is not None:
        with torch.no_grad():
            model.logit_scale.fill_(math.log(37.5))  # not the init value, so the adapter must read the export's
    return model.eval()


def _export(module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict | None) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic, do_constant_folding=True)


def _towers(model):
    import torch

    class Image(torch.nn.Module):
        def __init__(self, normalize: bool, hidden: bool) -> None:
            super().__init__()
            self.model, self.normalize, self.hidden = model, normalize, hidden

        def forward(self, image):
            embeds = self.model.encode_image(image, normalize=self.normalize)
            return (embeds[:, None, :].repeat(1, 3, 1), embeds) if self.hidden else embeds

    class Text(torch.nn.Module):
        def __init__(self, normalize: bool, masked: bool) -> None:
            super().__init__()
            self.model, self.normalize, self.masked = model, normalize, masked

        def forward(self, text, attention_mask=None):
            embeds = self.model.encode_text(text, normalize=self.normalize)
            if not self.masked:
                return embeds
            # Uses the mask (so the exporter keeps the input) without changing the result.
            return embeds[:, None, :].repeat(1, 2, 1), embeds + 0.0 * attention_mask.sum(-1, keepdim=True)

    return Image, Text


def scores_config(model) -> dict:
    if getattr(model, "logit_bias", None) is None:
        return {}
    return {"logit_scale": float(model.logit_scale.item()), "logit_bias": float(model.logit_bias.item())}


def write_immich_export(model, target: Path, tokenizer: str = "vocab-merges", text_cfg: dict | None = None,
                        tokenizer_dir: Path | None = None, preprocess: dict | None = None,
                        with_mask: bool = False) -> Path:
    """``tokenizer``: 'vocab-merges' (CLIP BPE files), 'clip-json' (HF CLIP tokenizer.json only) or 'copy'
    (the files in ``tokenizer_dir``). ``with_mask``: the text graph takes ``input_ids`` + ``attention_mask``, as
    Immich's M-CLIP exports do."""
    import open_clip
    import torch

    Image, Text = _towers(model)
    _export(Image(True, False), (torch.randn(1, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE),), target / "visual" / "model.onnx",
            ["image"], ["embedding"], None)
    ids = torch.ones(1, TINY_CONTEXT_LENGTH, dtype=torch.int32)
    if with_mask:
        class Masked(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = Text(True, True)

            def forward(self, input_ids, attention_mask):
                return self.inner(input_ids, attention_mask)[1]

        _export(Masked(), (ids, torch.ones_like(ids)), target / "textual" / "model.onnx",
                ["input_ids", "attention_mask"], ["embedding"], None)
    else:
        _export(Text(True, False), (ids,), target / "textual" / "model.onnx", ["text"], ["embedding"], None)
    config = json.loads(json.dumps(_TINY_CONFIG))
    config["text_cfg"].update(text_cfg or {})
    (target / "config.json").write_text(json.dumps({**config, **scores_config(model)}))
    cfg = preprocess or {**OPEN_CLIP_PREPROCESS, **open_clip.get_model_preprocess_cfg(model)}
    (target / "visual" / "preprocess_cfg.json").write_text(json.dumps(cfg))
    textual = target / "textual"
    if tokenizer == "vocab-merges":
        from open_clip.tokenizer import SimpleTokenizer

        from indexer.tokenizer import default_bpe_path
        from tests.indexer.test_tokenizer import write_hf_files

        write_hf_files(textual, SimpleTokenizer(), default_bpe_path())
    elif tokenizer == "clip-json":
        clip_hf_tokenizer().save_pretrained(str(textual))
        (textual / "vocab.json").unlink(missing_ok=True)
        (textual / "merges.txt").unlink(missing_ok=True)
    else:
        for path in Path(tokenizer_dir).iterdir():
            shutil.copy(path, textual / path.name)
    return target


def write_transformers_js_export(model, target: Path, tokenizer_dir: Path, processor: dict,
                                 config: dict | None = None) -> Path:
    import torch

    Image, Text = _towers(model)
    onnx = target / "onnx"
    _export(Image(False, True), (torch.randn(2, 3, TINY_IMAGE_SIZE, TINY_IMAGE_SIZE),), onnx / "vision_model.onnx",
            ["pixel_values"], ["last_hidden_state", "image_embeds"],
            {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    ids = torch.ones(2, TINY_CONTEXT_LENGTH, dtype=torch.int64)
    _export(Text(False, True), (ids, torch.ones_like(ids)), onnx / "text_model.onnx",
            ["input_ids", "attention_mask"], ["last_hidden_state", "text_embeds"],
            {"input_ids": {0: "batch"}, "attention_mask": {0: "batch"}, "text_embeds": {0: "batch"},
             "last_hidden_state": {0: "batch"}})
    (onnx / "vision_model_quantized.onnx").write_bytes(b"not used")
    (onnx / "text_model_fp16.onnx").write_bytes(b"not used")
    for path in Path(tokenizer_dir).iterdir():
        shutil.copy(path, target / path.name)
    (target / "preprocessor_config.json").write_text(json.dumps(processor))
    hf_config = {"model_type": "clip", "projection_dim": model.text_projection.shape[1],
                 "text_config": {"max_position_embeddings": TINY_CONTEXT_LENGTH}, **scores_config(model),
                 **(config or {})}
    (target / "config.json").write_text(json.dumps(hf_config))
    return target


def clip_hf_tokenizer():
    """HF's CLIPTokenizer over open_clip's vocabulary (what `save_pretrained` writes for CLIP models)."""
    import transformers
    from open_clip.tokenizer import SimpleTokenizer

    reference = SimpleTokenizer()
    vocab = dict(reference.encoder)
    vocab["<|startoftext|>"] = vocab.pop("<start_of_text>")
    vocab["<|endoftext|>"] = vocab.pop("<end_of_text>")
    return transformers.CLIPTokenizer(vocab=vocab, merges=[tuple(pair) for pair in reference.bpe_ranks])


OPEN_CLIP_PREPROCESS = {"size": [TINY_IMAGE_SIZE, TINY_IMAGE_SIZE], "mode": "RGB",
                        "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
                        "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}
CLIP_PROCESSOR = {
    "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": TINY_IMAGE_SIZE},
    "resample": 3, "do_center_crop": True, "crop_size": {"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
    "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "do_convert_rgb": True,
}
SIGLIP_PROCESSOR = {
    "image_processor_type": "SiglipImageProcessor", "do_resize": True,
    "size": {"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}, "resample": 2, "do_rescale": True,
    "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
}
