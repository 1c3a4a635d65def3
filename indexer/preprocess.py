"""Image preprocessing for the CLIP image encoder, without torch.

This reproduces open_clip's *eval* transform (``open_clip.transform.image_transform(..., is_train=False)``)
step for step on PIL images, so an embedding computed here matches the one open_clip would compute
for the same decoded picture:

* resize with PIL (torchvision's PIL backend calls ``Image.resize`` too, so antialiasing and filter
  taps are identical), with the output size computed exactly as torchvision/open_clip do;
* centre crop, padding first when the resized image is smaller than the target (torchvision's
  ``CenterCrop`` pads with 0, open_clip's ``CenterCropOrPad`` with ``fill_color``);
* ``ToTensor`` (uint8 / 255 in float32) and ``Normalize`` ((x - mean) / std in float32), done in the
  same order and precision, so results agree to float32 rounding (in practice bit for bit).

Two quirks of open_clip are kept on purpose because embeddings must match the reference:

* ``resize_mode='shortest'`` with a non-square target uses ``ResizeKeepRatio(image_size)`` without
  passing the interpolation, so it always resizes bicubic, even when ``interpolation='bilinear'``;
* a square ``'shortest'`` target uses torchvision's ``Resize(int)``, whose long edge is *truncated*
  (``int(size * long / short)``), while ``ResizeKeepRatio`` *rounds*; the two differ by a pixel at times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "DRAFT_MARGIN",
    "PreprocessConfig",
    "ReducedDecode",
    "draft_target",
    "preprocess",
    "preprocess_batch",
]

# open_clip.constants.OPENAI_DATASET_MEAN / _STD; used when a config dict leaves them out.
_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
}
_RESIZE_MODES = ("shortest", "longest", "squash")

# How much larger than the model input a JPEG may be decoded at reduced DCT scale. With 1.0 the
# decoder may hand back an image barely larger than the target, so PIL's antialiased resize does
# almost nothing and the tensor carries libjpeg's scaled-IDCT filtering instead: on the MATE nature
# photos, plus copies re-encoded at 1800 px short side (the worst case at 224 px), the worst cosine
# of draft vs full decode was 0.9965. With 1.5 the final PIL resize always shrinks by >= 1.5x and
# the worst cosine was 0.9997. 2.0 gained nothing measurable but costs speed: a 12 MP photo at
# 224 px decodes at 1/4 scale instead of 1/8, four times the pixels.
DRAFT_MARGIN = 1.5


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    values = [int(v) for v in size]
    if len(values) == 1:
        return values[0], values[0]
    if len(values) != 2:
        raise ValueError(f"image size must be an int or (height, width), got {size!r}")
    return values[0], values[1]


def _triple(value: Any) -> tuple[float, float, float]:
    if isinstance(value, (int, float, np.floating, np.integer)):
        return (float(value),) * 3
    values = tuple(float(v) for v in value)
    if len(values) == 1:
        return values * 3
    if len(values) != 3:
        raise ValueError(f"expected 3 channel values, got {value!r}")
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class PreprocessConfig:
    """What the image encoder expects; mirrors open_clip's ``PreprocessCfg``.

    ``interpolation='random'`` is accepted and stored as ``'bicubic'``: open_clip's eval transform
    resolves it to bicubic as well.
    """

    size: tuple[int, int]  # (height, width)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    fill_color: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _pair(self.size))
        object.__setattr__(self, "mean", _triple(self.mean))
        object.__setattr__(self, "std", _triple(self.std))
        interpolation = self.interpolation or "bicubic"
        if interpolation == "random":
            interpolation = "bicubic"
        if interpolation not in _RESAMPLE:
            raise ValueError(f"unsupported interpolation {self.interpolation!r}")
        object.__setattr__(self, "interpolation", interpolation)
        resize_mode = self.resize_mode or "shortest"
        if resize_mode not in _RESIZE_MODES:
            raise ValueError(f"unsupported resize_mode {self.resize_mode!r}")
        object.__setattr__(self, "resize_mode", resize_mode)
        object.__setattr__(self, "fill_color", int(self.fill_color))
        if min(self.size) <= 0:
            raise ValueError(f"image size must be positive, got {self.size}")
        if any(s == 0 for s in self.std):
            raise ValueError("std must not contain zeros")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (size as ``[height, width]``) that ``from_dict`` reads back."""
        return {
            "size": [self.size[0], self.size[1]],
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
            "resize_mode": self.resize_mode,
            "fill_color": self.fill_color,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PreprocessConfig:
        """Build from ``to_dict`` output or from open_clip's ``model.visual.preprocess_cfg``.

        Unknown keys (open_clip's ``mode``) are ignored; missing mean/std default to OpenAI's, as in
        open_clip.
        """
        if "size" not in d:
            raise ValueError("preprocess config needs a 'size'")
        mode = d.get("mode", "RGB")
        if mode not in (None, "RGB"):
            raise ValueError(f"unsupported colour mode {mode!r}")
        return cls(
            size=_pair(d["size"]),
            mean=_triple(d.get("mean") or _OPENAI_MEAN),
            std=_triple(d.get("std") or _OPENAI_STD),
            interpolation=d.get("interpolation") or "bicubic",
            resize_mode=d.get("resize_mode") or "shortest",
            fill_color=int(d.get("fill_color") or 0),
        )


@dataclass(frozen=True)
class ReducedDecode:
    """How an image decoded at reduced scale (JPEG draft) maps onto the full-resolution picture.

    A JPEG decoded at 1/s has ``ceil(W / s)`` columns, so its last column (and row) is only partly
    picture and its aspect ratio is slightly off. Resizing with ``box`` (the exact region, in pixels
    of the decoded image, that corresponds to the whole picture) to the output size computed from
    ``full_size`` gives the geometry open_clip would produce from the full decode; without it the
    centre crop can land a whole output pixel away. ``decode.read_image`` fills this in
    (``ImageMeta.reduced``), with EXIF orientation already applied to both fields.
    """

    full_size: tuple[int, int]  # (width, height) of the full-resolution picture
    box: tuple[float, float, float, float]  # (left, upper, right, lower) in decoded-image pixels


def _resize_plan(width: int, height: int, cfg: PreprocessConfig) -> tuple[tuple[int, int], Image.Resampling]:
    """Output (w, h) and filter of the resize step, computed exactly as open_clip/torchvision do."""
    target_h, target_w = cfg.size
    resample = _RESAMPLE[cfg.interpolation]
    if cfg.resize_mode == "squash":
        return (target_w, target_h), resample
    if cfg.resize_mode == "shortest" and target_h == target_w:
        # torchvision Resize(int): the short edge becomes `size`, the long edge is truncated.
        size = target_h
        if width <= height:
            return (size, int(size * height / width)), resample
        return (int(size * width / height), size), resample
    # open_clip ResizeKeepRatio (longest=1 for 'longest', 0 for 'shortest' with a non-square target).
    ratio_h = height / target_h
    ratio_w = width / target_w
    if cfg.resize_mode == "longest":
        ratio = max(ratio_h, ratio_w)
    else:
        ratio = min(ratio_h, ratio_w)
        resample = Image.Resampling.BICUBIC  # open_clip does not pass the interpolation here
    return (round(width / ratio), round(height / ratio)), resample


def _crop_or_pad(pixels: np.ndarray, target_h: int, target_w: int, fill: int) -> np.ndarray:
    """torchvision ``center_crop`` / open_clip ``center_crop_or_pad`` on an HxWx3 uint8 array."""
    height, width = pixels.shape[:2]
    if target_w > width or target_h > height:
        pad_left = (target_w - width) // 2 if target_w > width else 0
        pad_top = (target_h - height) // 2 if target_h > height else 0
        pad_right = (target_w - width + 1) // 2 if target_w > width else 0
        pad_bottom = (target_h - height + 1) // 2 if target_h > height else 0
        padded = np.full(
            (height + pad_top + pad_bottom, width + pad_left + pad_right, 3), fill, dtype=np.uint8
        )
        padded[pad_top : pad_top + height, pad_left : pad_left + width] = pixels
        pixels = padded
        height, width = pixels.shape[:2]
    # Python's round (half to even), as torchvision uses.
    top = int(round((height - target_h) / 2.0))
    left = int(round((width - target_w) / 2.0))
    return pixels[top : top + target_h, left : left + target_w]


def _geometry(image: Image.Image, cfg: PreprocessConfig, reduced: ReducedDecode | None) -> np.ndarray:
    if image.mode != "RGB":
        raise ValueError(f"preprocess expects an RGB image, got mode {image.mode}")
    if reduced is None:
        out_size, resample = _resize_plan(image.width, image.height, cfg)
        # torchvision skips the resize when the size already matches; PIL would copy, same pixels.
        resized = image if out_size == image.size else image.resize(out_size, resample)
    else:
        out_size, resample = _resize_plan(reduced.full_size[0], reduced.full_size[1], cfg)
        resized = image.resize(out_size, resample, box=reduced.box)
    pixels = np.asarray(resized)
    if cfg.resize_mode == "squash":
        return pixels
    fill = cfg.fill_color if cfg.resize_mode == "longest" else 0
    return _crop_or_pad(pixels, cfg.size[0], cfg.size[1], fill)


def _normalise_into(pixels: np.ndarray, cfg: PreprocessConfig, out: np.ndarray) -> None:
    """ToTensor + Normalize in float32, same operation order as torch, written into ``out`` [3,H,W]."""
    chw = pixels.transpose(2, 0, 1)
    np.divide(chw, np.float32(255.0), out=out, dtype=np.float32)
    out -= np.asarray(cfg.mean, dtype=np.float32)[:, None, None]
    out /= np.asarray(cfg.std, dtype=np.float32)[:, None, None]


def preprocess(
    image: Image.Image, cfg: PreprocessConfig, reduced: ReducedDecode | None = None
) -> np.ndarray:
    """One RGB PIL image -> normalised float32 array [3, H, W] for the image encoder.

    Pass ``reduced`` (``ImageMeta.reduced``) when the image came from a reduced-scale decode.
    """
    out = np.empty((3, cfg.size[0], cfg.size[1]), dtype=np.float32)
    _normalise_into(_geometry(image, cfg, reduced), cfg, out)
    return out


def preprocess_batch(
    images: Sequence[Image.Image],
    cfg: PreprocessConfig,
    reduced: Sequence[ReducedDecode | None] | None = None,
) -> np.ndarray:
    """Several RGB PIL images -> float32 array [N, 3, H, W]; ``reduced`` is per image, if given."""
    if reduced is not None and len(reduced) != len(images):
        raise ValueError("reduced must have one entry per image")
    out = np.empty((len(images), 3, cfg.size[0], cfg.size[1]), dtype=np.float32)
    for i, image in enumerate(images):
        _normalise_into(_geometry(image, cfg, reduced[i] if reduced else None), cfg, out[i])
    return out


def draft_target(cfg: PreprocessConfig) -> tuple[int, int]:
    """The smallest (width, height) a JPEG may be decoded at, for ``decode.read_image(draft=...)``.

    Asking for ``DRAFT_MARGIN`` times the model input in *both* dimensions keeps the scale factor of
    the final PIL resize >= DRAFT_MARGIN for 'shortest' and 'squash' (their scale is set by the
    smaller ratio) and at least that for 'longest'. It does not depend on the photo's aspect ratio,
    so it can be computed once per model.
    """
    target_h, target_w = cfg.size
    return math.ceil(target_w * DRAFT_MARGIN), math.ceil(target_h * DRAFT_MARGIN)
