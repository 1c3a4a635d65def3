"""The pixel check that decides "same picture" versus "similar shot" for a candidate pair.

Embeddings only say that two photos show similar things; a resized copy and a burst frame look
alike to them. The pixels tell them apart, on small thumbnails (decoded at reduced DCT scale,
EXIF orientation applied, so a copy rotated by EXIF compares upright):

* **same picture** (``picture_distance``): one picture is the other, possibly resized,
  recompressed, converted, or lightly cropped. We look for a crop box of one image (up to
  ``MAX_CROP`` of each side, aspect ratio taken from the other image) whose content, resized to
  ``COMPARE`` pixels, matches the whole other image. The distance is the mean absolute difference
  of RGB values (0-255) at the best box. Raw values, not normalised: an exposure change is a
  different picture. A shifted burst frame does not match either, because each frame holds
  content the other lacks (no crop of one contains the other).
* **similar shot** (``shot_distance``): after normalising each image's brightness and contrast,
  the best overlap under small shifts (``MAX_SHIFT`` of the size) differs little: bursts and
  re-takes with a small move or an exposure change. Two views of one scene from other places do
  not overlap that way.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

THUMB = 128  # long side of the decoded thumbnail
COMPARE = 64  # side of the square the same-picture check compares (the coarse search uses half)
SHOT = 48  # side of the square the similar-shot check compares
MAX_CROP = 0.10  # largest crop ("lightly cropped") the same-picture check searches, per dimension
CROP_STEP = 0.02
MAX_SHIFT = 0.08  # largest move between two shots of a burst, as a fraction of the size

# Calibrated on the mate-backgrounds photos (12 scenes): resized, recompressed (JPEG q50), PNG/WebP
# conversions, EXIF rotation stay under 1; crops of 3-5 % per side under 3.4; a burst shifted by
# 2 % of the width is 3.8-10.9 (1.7-2.2 on two almost textureless skies/woods), a 10 % exposure
# change 5.4-18.8, another view of the scene 14-60.
SAME_MAX_DISTANCE = 3.5
# Normalised (z-score x 100) mean difference: bursts (1-4 % shifts) and exposure changes measure
# 1-28, other views of the same scene (20 % apart) 34-84, unrelated photos 62-105.
SHOT_MAX_DISTANCE = 30.0


@dataclass(frozen=True)
class Thumb:
    """A small upright RGB rendering of a photo."""

    image: Image.Image

    @property
    def aspect(self) -> float:
        w, h = self.image.size
        return w / h


def load_thumb(path: str | os.PathLike[str]) -> Thumb | None:
    """Decode a photo small (reduced DCT scale for JPEG), upright; None when it cannot be read."""
    from indexer.decode import DecodeError, read_image

    try:
        image, _ = read_image(path, draft=(THUMB, THUMB))
    except (DecodeError, OSError) as exc:
        log.info("pixel check skips %s: %s", path, getattr(exc, "reason", exc))
        return None
    image.thumbnail((THUMB, THUMB), Image.Resampling.BILINEAR, reducing_gap=None)
    return Thumb(image.convert("RGB"))


def _whole(thumb: Thumb, side: int) -> np.ndarray:
    return np.asarray(thumb.image.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32)


def _crop_boxes(outer: Thumb, inner_aspect: float) -> list[tuple[float, float, float, float]]:
    """Boxes of ``outer`` (pixels) with the aspect of ``inner`` covering at least 1-2*MAX_CROP."""
    w, h = outer.image.size
    boxes = []
    steps = int(round(MAX_CROP / CROP_STEP))
    for k in range(steps + 1):
        scale = 1.0 - k * CROP_STEP
        bw, bh = w * scale, w * scale / inner_aspect
        if bh > h:  # the other image is relatively taller: fit the height instead
            bh, bw = h * scale, h * scale * inner_aspect
        if bw < w * (1 - MAX_CROP) - 0.5 or bh < h * (1 - MAX_CROP) - 0.5:
            continue
        xs = np.arange(0.0, w - bw + 1e-6, max(CROP_STEP * w, 1.0)) if w - bw > 0.5 else np.array([(w - bw) / 2])
        ys = np.arange(0.0, h - bh + 1e-6, max(CROP_STEP * h, 1.0)) if h - bh > 0.5 else np.array([(h - bh) / 2])
        boxes.extend((float(x), float(y), float(x + bw), float(y + bh)) for x in xs for y in ys)
    return boxes


def _box_distance(outer: Thumb, box: tuple[float, float, float, float], target: np.ndarray) -> float:
    side = target.shape[0]
    candidate = np.asarray(outer.image.resize((side, side), Image.Resampling.BILINEAR, box=box), dtype=np.float32)
    return float(np.abs(candidate - target).mean())


def _contained_distance(outer: Thumb, inner: Thumb) -> float:
    """Coarse search over crop boxes at ``COMPARE // 2``, then a finer one around the best at ``COMPARE``."""
    coarse = _whole(inner, COMPARE // 2)
    scored = [(_box_distance(outer, box, coarse), box) for box in _crop_boxes(outer, inner.aspect)]
    if not scored:
        return np.inf
    _, (x0, y0, x1, y1) = min(scored)
    w, h = outer.image.size
    fine = _whole(inner, COMPARE)
    step_x, step_y = CROP_STEP * w / 4, CROP_STEP * h / 4
    best = np.inf
    for ds in (-1, 0, 1):  # scale around the centre, then move
        gx, gy = ds * step_x, ds * step_y
        for dx in (-2, -1, 0, 1, 2):
            for dy in (-2, -1, 0, 1, 2):
                box = (x0 - gx + dx * step_x, y0 - gy + dy * step_y, x1 + gx + dx * step_x, y1 + gy + dy * step_y)
                if box[0] < -0.5 or box[1] < -0.5 or box[2] > w + 0.5 or box[3] > h + 0.5:
                    continue
                box = (max(box[0], 0.0), max(box[1], 0.0), min(box[2], w), min(box[3], h))
                best = min(best, _box_distance(outer, box, fine))
    return best


def picture_distance(a: Thumb, b: Thumb) -> float:
    """Mean RGB difference (0-255) of the best crop-containment alignment of ``a`` and ``b``."""
    whole = float(np.abs(_whole(a, COMPARE) - _whole(b, COMPARE)).mean())
    if whole <= SAME_MAX_DISTANCE / 2:
        return whole  # resized, recompressed, converted: no need to search crops
    return min(whole, _contained_distance(a, b), _contained_distance(b, a))


def _gray(thumb: Thumb) -> np.ndarray:
    return np.asarray(thumb.image.convert("L").resize((SHOT, SHOT), Image.Resampling.BILINEAR), dtype=np.float32)


def _shifted_difference(ga: np.ndarray, gb: np.ndarray, dx: int, dy: int) -> float:
    pa = ga[max(dy, 0):SHOT + min(dy, 0), max(dx, 0):SHOT + min(dx, 0)]
    pb = gb[max(-dy, 0):SHOT + min(-dy, 0), max(-dx, 0):SHOT + min(-dx, 0)]
    za = (pa - pa.mean()) / (pa.std() + 8.0)
    zb = (pb - pb.mean()) / (pb.std() + 8.0)
    return float(np.abs(za - zb).mean()) * 100


def shot_distance(a: Thumb, b: Thumb) -> float:
    """Brightness-normalised difference (x100) of the best overlap under shifts up to ``MAX_SHIFT``
    (every second shift first, then the neighbours of the best)."""
    ga, gb = _gray(a), _gray(b)
    limit = int(round(MAX_SHIFT * SHOT))
    coarse = [(_shifted_difference(ga, gb, dx, dy), dx, dy)
              for dy in range(-limit, limit + 1, 2) for dx in range(-limit, limit + 1, 2)]
    best, bx, by = min(coarse)
    for dy in range(by - 1, by + 2):
        for dx in range(bx - 1, bx + 2):
            if abs(dx) <= limit and abs(dy) <= limit and (dx, dy) != (bx, by):
                best = min(best, _shifted_difference(ga, gb, dx, dy))
    return best
