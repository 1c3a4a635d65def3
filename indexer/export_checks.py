"""What ``indexer.export`` checks an export with: its typed errors, the varied sample inputs both
towers are run on, and the ONNX-vs-PyTorch parity figures (the threshold itself is applied in
``indexer.export``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


class ExportError(Exception):
    """An export was refused; `reason` (also `str(e)`) says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ParityError(ExportError):
    """ONNX and PyTorch outputs disagree; `figures` holds the measured parity numbers."""

    def __init__(self, reason: str, figures: dict[str, Any]) -> None:
        super().__init__(reason)
        self.figures = figures


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_onnx(path: Path, input_name: str, output_name: str, batches: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        return [np.asarray(session.run([output_name], {input_name: batch})[0], dtype=np.float32) for batch in batches]
    except Exception as exc:
        raise ExportError(f"onnxruntime cannot run {path.name}: {_first_line(exc)}") from exc


def _row_cosines(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    a = reference.astype(np.float64)
    b = candidate.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (a * b).sum(axis=1) / norms
    both_zero = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    return np.where(both_zero, 1.0, cos)


def _parity_figures(
    image_ref: list[np.ndarray],
    image_onnx: list[np.ndarray],
    text_ref: list[np.ndarray],
    text_onnx: list[np.ndarray],
    embed_dim: int,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for tower, refs, outs in (("visual", image_ref, image_onnx), ("textual", text_ref, text_onnx)):
        for ref, out in zip(refs, outs):
            if out.shape != ref.shape:
                raise ParityError(
                    f"{tower}.onnx returns shape {list(out.shape)} for a batch of {ref.shape[0]}, "
                    f"PyTorch {list(ref.shape)}",
                    {},
                )
        ref_all = np.concatenate(refs)
        out_all = np.concatenate(outs)
        cos = _row_cosines(ref_all, out_all)
        finite = np.isfinite(cos)
        figures[f"{tower}_min_cosine"] = float(cos.min()) if finite.all() else float("nan")
        figures[f"{tower}_max_abs_diff"] = float(np.abs(ref_all - out_all).max())
        figures[f"{tower}_samples"] = int(ref_all.shape[0])
    figures["samples"] = figures["visual_samples"] + figures["textual_samples"]
    figures["batch_sizes"] = sorted({s.stop - s.start for s in _BATCHES + _TEXT_BATCHES})
    return figures


# --------------------------------------------------------------------------- sample inputs

# Batches of 3, 1 and 2 rows: ONNX must honour the dynamic batch axis, not just the traced size.
_BATCHES = [slice(0, 3), slice(3, 4), slice(4, 6)]
_TEXT_BATCHES = [slice(0, 3), slice(3, 4), slice(4, 10)]

_SAMPLE_TEXTS = [
    "a photo of a dog",
    "Dog running on a beach at sunset!",
    "",
    "x",
    "a birthday party with candles, balloons and a chocolate cake on the kitchen table",
    "IMG_2041.JPG taken 2023-07-14 12:30",
    "Le chat dort sur le canapé",
    "東京の夜景",
    "snow   covered\tmountains \n under a blue sky 🏔️",
    " ".join(["a long winding road through green hills with sheep and stone walls"] * 8),
]


def _sample_images(height: int, width: int, mean: list[float], std: list[float]) -> torch.Tensor:
    """Six normalised images in [N, 3, H, W]: noise, gradient, a synthetic scene, stripes, dark, bright.

    Varied on purpose: a tracing bug often shows only for some inputs (e.g. a baked-in branch).
    """
    rng = np.random.default_rng(1234)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ones = np.ones((height, width), dtype=np.float32)

    noise = rng.random((3, height, width), dtype=np.float32)
    gradient = np.stack([x * ones, y * ones, (1 - x) * (1 - y) * ones])

    # A plausible outdoor picture: sky fading to the horizon, green ground, a sun, a dark shape, grain.
    horizon = 0.62
    sky = y < horizon
    scene = np.empty((3, height, width), dtype=np.float32)
    scene[0] = np.where(sky, 0.35 + 0.4 * y, 0.18 + 0.1 * x)
    scene[1] = np.where(sky, 0.55 + 0.3 * y, 0.45 - 0.2 * (y - horizon))
    scene[2] = np.where(sky, 0.95 - 0.2 * y, 0.15 + 0 * x)
    sun = (x - 0.75) ** 2 + (y - 0.22) ** 2 < 0.006
    scene[:, sun] = np.array([1.0, 0.95, 0.7], dtype=np.float32)[:, None]
    tree = ((x - 0.3) ** 2 / 0.01 + (y - 0.5) ** 2 / 0.04) < 1.0
    scene[:, tree] = np.array([0.1, 0.25, 0.08], dtype=np.float32)[:, None]
    scene = np.clip(scene + rng.normal(0, 0.02, scene.shape).astype(np.float32), 0, 1)

    stripes = np.stack([((np.floor(x * 16) + np.floor(y * 16)) % 2) * ones] * 3)
    stripes[1] *= 0.5
    dark = np.full((3, height, width), 0.03, dtype=np.float32) + 0.02 * noise
    bright = np.full((3, height, width), 0.97, dtype=np.float32) - 0.02 * noise

    pixels = np.stack([noise, gradient, scene, stripes, dark, bright]).astype(np.float32)
    mean_arr = np.asarray(mean, dtype=np.float32)[None, :, None, None]
    std_arr = np.asarray(std, dtype=np.float32)[None, :, None, None]
    return torch.from_numpy((pixels - mean_arr) / std_arr)
