"""A generated library with planted duplicates of every kind (tests of `duplicates`).

Sources are real photos from mate-backgrounds when installed (a photo-like texture otherwise):
an original with an exact copy and copies resized, recompressed, converted to PNG, WebP and HEIC,
EXIF-stripped, EXIF-rotated and lightly cropped; a burst (small moves, an exposure change); two
views of one scene; unrelated photos.
"""
from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from tests.media import save_jpeg

SAME_COPIES = ("a_small", "a_png", "a_webp", "a_heic", "a_stripped", "a_rotated", "a_crop")
BURST = ("b1", "b2", "b3")

NATURE = Path("/usr/share/backgrounds/mate/nature")
SOURCES = ["Aqua.jpg", "Dune.jpg", "Garden.jpg", "LadyBird.jpg", "TwoWings.jpg"]


def _source(name: str, width: int = 900) -> Image.Image:
    path = NATURE / name
    if path.exists():
        image = Image.open(path).convert("RGB")
        return image.resize((width, round(width * image.height / image.width)), Image.Resampling.BILINEAR)
    # Without mate-backgrounds: a photo-like texture that differs per name.
    rng = np.random.default_rng(sum(map(ord, name)))
    base = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize((width, width * 3 // 4), Image.Resampling.BICUBIC)
    noise = rng.integers(-20, 21, (width * 3 // 4, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, np.int16) + noise, 0, 255).astype(np.uint8))


def build_library(folder: Path) -> dict[str, Path]:
    """Planted duplicates; returns name -> path."""
    p: dict[str, Path] = {}
    (folder / "copies").mkdir(parents=True)
    taken = datetime(2021, 5, 3, 10, 0, 0)
    # A: an original with its copies in other forms.
    scene_a = _source("Aqua.jpg")
    a = scene_a.crop((0, 0, 800, 600))
    p["a"] = save_jpeg(folder / "a.jpg", a, taken=taken, make="Canon", model="EOS R6", quality=92)
    p["a_copy"] = folder / "copies" / "a.jpg"
    shutil.copy2(p["a"], p["a_copy"])
    os.utime(p["a_copy"], (1.5e9, 1.5e9))  # the older of the two exact copies
    p["a_small"] = folder / "copies" / "a_small.jpg"
    a.resize((400, 300), Image.Resampling.LANCZOS).save(p["a_small"], quality=75)
    p["a_png"] = folder / "copies" / "a.png"
    a.save(p["a_png"])
    p["a_webp"] = folder / "copies" / "a.webp"
    a.save(p["a_webp"], quality=80)
    import pillow_heif  # a test dependency (pyproject [test]); the indexer reads HEIC through it

    pillow_heif.register_heif_opener()
    p["a_heic"] = folder / "copies" / "a.heic"
    a.save(p["a_heic"], "HEIF", quality=70)
    p["a_stripped"] = folder / "copies" / "a_stripped.jpg"
    a.save(p["a_stripped"], quality=85)
    p["a_rotated"] = save_jpeg(folder / "copies" / "a_rotated.jpg", a.transpose(Image.Transpose.ROTATE_90),
                               orientation=6)
    p["a_crop"] = folder / "copies" / "a_crop.jpg"
    a.crop((24, 18, 776, 582)).save(p["a_crop"], quality=90)
    # B: a burst (small moves, an exposure change): similar, never the same.
    scene_b = _source("Dune.jpg")
    p["b1"] = save_jpeg(folder / "b1.jpg", scene_b.crop((0, 0, 800, 560)), taken=taken)
    p["b2"] = save_jpeg(folder / "b2.jpg", scene_b.crop((27, 9, 827, 569)), taken=taken)
    p["b3"] = save_jpeg(folder / "b3.jpg", ImageEnhance.Brightness(scene_b.crop((0, 0, 800, 560))).enhance(1.15),
                        taken=taken)
    # C: two views of one scene from other places: not grouped.
    scene_c = _source("Garden.jpg")
    w, h = scene_c.size
    p["c_left"] = save_jpeg(folder / "c_left.jpg", scene_c.crop((0, 0, int(w * 0.7), h)))
    p["c_right"] = save_jpeg(folder / "c_right.jpg", scene_c.crop((int(w * 0.3), 0, w, h)))
    # Unrelated photos.
    p["d"] = save_jpeg(folder / "d.jpg", _source("LadyBird.jpg", 700))
    p["e"] = save_jpeg(folder / "e.jpg", _source("TwoWings.jpg", 700))
    return p
