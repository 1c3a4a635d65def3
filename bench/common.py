"""Shared helpers for the benchmarks: a cached random-weight export of a real
architecture (same graph and speed as the pretrained one) and camera-sized photos."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE = Path(os.environ.get("MEDIASEEK_BENCH_CACHE", REPO / "bench" / "out"))


def exported_model(arch: str) -> Path:
    """A model dir for ARCH with random weights, exported once through our own export path."""
    target = CACHE / "models" / arch
    if (target / "manifest.json").is_file():
        return target
    import torch
    import open_clip

    from indexer.export import export_checkpoint

    CACHE.mkdir(parents=True, exist_ok=True)
    ckpt = CACHE / f"{arch}-random.pt"
    if not ckpt.exists():
        torch.manual_seed(0)
        model = open_clip.create_model(arch, pretrained=None)
        torch.save(model.state_dict(), ckpt)
    tmp = CACHE / "models" / f".{arch}.tmp"
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tags = open_clip.list_pretrained_tags_by_model(arch)
    export_checkpoint(arch, ckpt, tmp, name=arch, pretrained_tag=tags[-1] if tags else None)
    tmp.rename(target)
    return target


def camera_photos(folder: Path, count: int, megapixels: float = 12.0, seed: int = 0) -> list[Path]:
    """JPEGs of camera size (4:3) built from real photos when available (mate-backgrounds),
    upscaled and with sensor-like noise so they compress like real camera files."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("*.jpg"))
    if len(existing) >= count:
        return existing[:count]
    sources = sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
    rng = np.random.default_rng(seed)
    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    paths = []
    for i in range(count):
        if sources:
            base = Image.open(sources[i % len(sources)]).convert("RGB").resize((w, h), Image.BILINEAR)
            arr = np.asarray(base, dtype=np.int16)
        else:
            yy, xx = np.mgrid[0:h, 0:w]
            arr = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 256)], -1).astype(np.int16)
        noise = rng.integers(-6, 7, size=(h, w, 1), dtype=np.int16)
        arr = np.clip(arr + noise, 0, 255).astype(np.uint8)
        if i % 2:
            arr = arr[:, ::-1]
        path = folder / f"IMG_{i:04d}.jpg"
        Image.fromarray(arr).save(path, quality=92)
        paths.append(path)
    return paths
