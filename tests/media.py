"""Generate test photos with known content and EXIF at test time."""
from __future__ import annotations

import struct
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_IFD = 0x8769


def scene(kind: str, size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    """Visually distinct synthetic scenes: 'red', 'blue', 'stripes', 'checker', 'noise', 'gradient'."""
    w, h = size
    rng = np.random.default_rng(seed)
    if kind == "red":
        arr = np.zeros((h, w, 3), np.uint8); arr[..., 0] = 220; arr[..., 1] = 30
    elif kind == "blue":
        arr = np.zeros((h, w, 3), np.uint8); arr[..., 2] = 230; arr[..., 1] = 60
    elif kind == "stripes":
        x = (np.arange(w) // 16 % 2).astype(np.uint8) * 255
        arr = np.repeat(np.repeat(x[None, :, None], h, 0), 3, 2)
    elif kind == "checker":
        yy, xx = np.mgrid[0:h, 0:w]
        arr = (((yy // 40 + xx // 40) % 2) * 255).astype(np.uint8)[..., None].repeat(3, 2)
        arr[..., 1] //= 2
    elif kind == "gradient":
        g = np.linspace(0, 255, w, dtype=np.float32)
        arr = np.stack([np.tile(g, (h, 1)), np.tile(g[::-1], (h, 1)), np.full((h, w), 128.0)], -1).astype(np.uint8)
    else:
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def save_jpeg(path: Path, image: Image.Image, taken: datetime | None = None, orientation: int | None = None,
              make: str | None = None, model: str | None = None, quality: int = 90) -> Path:
    exif = Image.Exif()
    if taken is not None:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(EXIF_IFD)[EXIF_DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if orientation is not None:
        exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=quality, exif=exif.tobytes())
    return path


def png_with_claimed_size(path: Path, width: int, height: int) -> Path:
    """A small valid PNG whose header claims a huge size (a decompression bomb)."""
    raw = b"".join(b"\x00" + b"\x00" * ((width + 7) // 8) for _ in range(1))  # one scanline is enough for the header
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path
