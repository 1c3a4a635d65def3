"""indexer.preprocess: parity with open_clip's eval transform, and JPEG draft fidelity."""

from __future__ import annotations

import glob
import itertools
import json
import math
from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image

from indexer.decode import read_image
from indexer.preprocess import (
    DRAFT_MARGIN,
    PreprocessConfig,
    ReducedDecode,
    draft_target,
    preprocess,
    preprocess_batch,
)

open_clip_transform = pytest.importorskip("open_clip.transform")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
REAL_PHOTO_DIR = "/usr/share/backgrounds/mate/nature"
REAL_PHOTOS = sorted(glob.glob(f"{REAL_PHOTO_DIR}/*.jpg"))
needs_real_photos = pytest.mark.skipif(
    not REAL_PHOTOS, reason=f"no real photos: {REAL_PHOTO_DIR}/*.jpg is absent (apt package mate-backgrounds)"
)
# Floating-point agreement with open_clip. Both sides resize with the same PIL call and do the same
# float32 operations in the same order, so the observed difference is exactly 0; the bound leaves
# room for a BLAS/SIMD rounding difference on another machine.
PARITY_ATOL = 1e-6


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 8, 1), max(width // 8, 1), 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), np.int16)
    noise = rng.integers(-40, 41, (height, width, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


# portrait, landscape, square, odd sizes that stress rounding, exact fit, tiny (upscaled)
IMAGE_SIZES = [(300, 500), (640, 360), (257, 257), (225, 1000), (1001, 223), (224, 224), (50, 30), (7, 9)]
GENERATED = [photo_like(w, h, seed=i) for i, (w, h) in enumerate(IMAGE_SIZES)]

TARGETS = [224, (224, 320), (320, 224), 256]
MODES = ["shortest", "longest", "squash"]
INTERPOLATIONS = ["bicubic", "bilinear"]


def reference_transform(size, mode: str, interpolation: str, fill: int, mean=CLIP_MEAN, std=CLIP_STD):
    return open_clip_transform.image_transform(
        size, is_train=False, mean=mean, std=std, resize_mode=mode, interpolation=interpolation, fill_color=fill
    )


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------


def test_config_from_open_clip_preprocess_cfg() -> None:
    open_clip_cfg = asdict(open_clip_transform.PreprocessCfg(size=256, resize_mode="squash", interpolation="bilinear"))
    cfg = PreprocessConfig.from_dict(open_clip_cfg)
    assert cfg.size == (256, 256)
    assert cfg.mean == pytest.approx(CLIP_MEAN) and cfg.std == pytest.approx(CLIP_STD)
    assert (cfg.interpolation, cfg.resize_mode, cfg.fill_color) == ("bilinear", "squash", 0)

    rect = PreprocessConfig.from_dict({"size": [256, 192], "mean": 0.5, "std": [0.25], "fill_color": 128})
    assert rect.size == (256, 192) and rect.mean == (0.5, 0.5, 0.5) and rect.std == (0.25, 0.25, 0.25)
    assert (rect.interpolation, rect.resize_mode, rect.fill_color) == ("bicubic", "shortest", 128)


def test_config_round_trips_through_json() -> None:
    cfg = PreprocessConfig(
        size=(224, 320), mean=(0.1, 0.2, 0.3), std=(0.4, 0.5, 0.6), resize_mode="longest", fill_color=7
    )
    assert PreprocessConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_random_interpolation_means_bicubic_and_bad_values_are_refused() -> None:
    assert PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD, interpolation="random").interpolation == "bicubic"
    with pytest.raises(ValueError):
        PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD, interpolation="lanczos")
    with pytest.raises(ValueError):
        PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD, resize_mode="fit")
    with pytest.raises(ValueError):
        PreprocessConfig.from_dict({"size": 224, "mode": "L"})


def test_draft_target_covers_the_input_with_margin() -> None:
    cfg = PreprocessConfig(size=(224, 320), mean=CLIP_MEAN, std=CLIP_STD)
    width, height = draft_target(cfg)
    assert isinstance(width, int) and isinstance(height, int)
    assert (width, height) == (math.ceil(320 * DRAFT_MARGIN), math.ceil(224 * DRAFT_MARGIN))
    assert DRAFT_MARGIN >= 1.0


# ---------------------------------------------------------------------------------------------
# parity with open_clip
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "mode", "interpolation"), list(itertools.product(TARGETS, MODES, INTERPOLATIONS)))
def test_matches_open_clip_on_generated_images(size, mode: str, interpolation: str) -> None:
    fill = 128 if mode == "longest" else 0  # exercise the pad colour where open_clip uses it
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.3, 0.25)
    reference = reference_transform(size, mode, interpolation, fill, mean, std)
    cfg = PreprocessConfig(
        size=size, mean=mean, std=std, interpolation=interpolation, resize_mode=mode, fill_color=fill
    )

    for image in GENERATED:
        expected = reference(image).numpy()
        actual = preprocess(image, cfg)
        assert actual.dtype == np.float32
        assert actual.shape == expected.shape == (3, *cfg.size)
        np.testing.assert_allclose(actual, expected, rtol=0, atol=PARITY_ATOL, err_msg=f"{image.size} {cfg}")


def test_longest_mode_pads_with_fill_colour() -> None:
    black_strip = Image.new("RGB", (10, 40), (0, 0, 0))  # resized to 56x224, then padded to 224x224
    cfg = PreprocessConfig(size=224, mean=(0, 0, 0), std=(1, 1, 1), resize_mode="longest", fill_color=255)
    out = preprocess(black_strip, cfg)
    assert np.all(out[:, :, :84] == 1.0) and np.all(out[:, :, 140:] == 1.0)  # fill on both sides
    assert np.all(out[:, :, 84:140] == 0.0)  # the picture in the middle


def test_batch_equals_single_images() -> None:
    cfg = PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD)
    batch = preprocess_batch(GENERATED[:4], cfg)
    assert batch.shape == (4, 3, 224, 224) and batch.dtype == np.float32
    for i, image in enumerate(GENERATED[:4]):
        np.testing.assert_array_equal(batch[i], preprocess(image, cfg))
    assert preprocess_batch([], cfg).shape == (0, 3, 224, 224)
    with pytest.raises(ValueError):
        preprocess_batch(GENERATED[:2], cfg, reduced=[None])


def test_non_rgb_input_is_refused() -> None:
    cfg = PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD)
    with pytest.raises(ValueError, match="RGB"):
        preprocess(Image.new("L", (300, 300)), cfg)


def test_reduced_decode_with_exact_box_equals_plain_resize() -> None:
    # A "reduced decode" whose box is the whole image and whose full size equals the image size
    # must give exactly the plain result: the box path changes nothing when there is no reduction.
    cfg = PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD)
    image = GENERATED[0]
    identity = ReducedDecode(full_size=image.size, box=(0.0, 0.0, float(image.width), float(image.height)))
    np.testing.assert_array_equal(preprocess(image, cfg, identity), preprocess(image, cfg))


# ---------------------------------------------------------------------------------------------
# real photos
# ---------------------------------------------------------------------------------------------

REAL_CONFIGS = [
    PreprocessConfig(size=224, mean=CLIP_MEAN, std=CLIP_STD),
    PreprocessConfig(size=256, mean=CLIP_MEAN, std=CLIP_STD, interpolation="bilinear"),
    PreprocessConfig(size=(224, 320), mean=CLIP_MEAN, std=CLIP_STD, resize_mode="longest"),
    PreprocessConfig(size=336, mean=CLIP_MEAN, std=CLIP_STD, resize_mode="squash"),
]


@needs_real_photos
@pytest.mark.parametrize("cfg", REAL_CONFIGS, ids=lambda c: f"{c.resize_mode}-{c.size[0]}x{c.size[1]}")
def test_matches_open_clip_on_real_photos(cfg: PreprocessConfig) -> None:
    reference = reference_transform(cfg.size, cfg.resize_mode, cfg.interpolation, cfg.fill_color)
    for path in REAL_PHOTOS:
        image, _ = read_image(path)
        expected = reference(image).numpy()
        np.testing.assert_allclose(preprocess(image, cfg), expected, rtol=0, atol=PARITY_ATOL, err_msg=path)


@needs_real_photos
@pytest.mark.parametrize("cfg", REAL_CONFIGS, ids=lambda c: f"{c.resize_mode}-{c.size[0]}x{c.size[1]}")
def test_draft_decode_stays_close_to_full_decode_on_real_photos(cfg: PreprocessConfig) -> None:
    """JPEG draft decoding trades exactness for speed; the tensors must stay within cosine 0.999.

    Measured with DRAFT_MARGIN 1.5 on these photos: worst cosine 0.9997 (margin 1.0: 0.9965).
    """
    reference = reference_transform(cfg.size, cfg.resize_mode, cfg.interpolation, cfg.fill_color)
    reduced_count = 0
    for path in REAL_PHOTOS:
        full, _ = read_image(path)
        drafted, meta = read_image(path, draft=draft_target(cfg))
        reduced_count += meta.reduced is not None
        expected = reference(full).numpy()
        actual = preprocess(drafted, cfg, meta.reduced)
        assert cosine(actual, expected) >= 0.999, path
    assert reduced_count > 0, "no photo was large enough to be decoded at reduced scale"
