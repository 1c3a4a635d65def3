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


# -- photos with text drawn in real fonts (for the text-reading tests) -----------------------
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
             "/usr/share/fonts/truetype/wqy")
PHOTO_BACKGROUNDS = "/usr/share/backgrounds/mate/nature"


def font_path(name: str) -> Path | None:
    """A system font file by name (e.g. 'DejaVuSans-Bold.ttf'), or None when not installed."""
    for folder in FONT_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
    return None


def photo_background(size: tuple[int, int], index: int = 0) -> Image.Image:
    """A real photo (mate-backgrounds) resized to ``size``; a noisy gradient when none is installed."""
    folder = Path(PHOTO_BACKGROUNDS)
    photos = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if photos:
        with Image.open(photos[index % len(photos)]) as im:
            return im.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    rng = np.random.default_rng(index)
    base = np.asarray(scene("gradient", size), np.int16) + rng.integers(-25, 26, (size[1], size[0], 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def draw_text(image: Image.Image, text: str, *, font: str = "DejaVuSans-Bold.ttf", height: float = 0.08,
              at: tuple[float, float] = (0.1, 0.4), angle: float = 0.0,
              fill: tuple[int, int, int] = (20, 20, 20), plate: tuple[int, int, int] | None = (245, 245, 240)
              ) -> Image.Image:
    """Draw ``text`` on ``image`` in a real font: ``height`` as a fraction of the image height,
    ``at`` the top-left as fractions, rotated by ``angle`` degrees, on a sign-like ``plate``
    (None: straight on the picture)."""
    from PIL import ImageDraw, ImageFont

    path = font_path(font)
    if path is None:
        raise FileNotFoundError(f"font {font} not installed (apt-get install fonts-dejavu-core fonts-liberation)")
    px = max(8, int(image.height * height))
    face = ImageFont.truetype(str(path), px)
    left, top, right, bottom = face.getbbox(text)
    pad = px // 3
    layer = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if plate is not None:
        draw.rectangle((0, 0, layer.width - 1, layer.height - 1), fill=plate + (255,))
    draw.text((pad - left, pad - top), text, font=face, fill=fill + (255,))
    if angle:
        layer = layer.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    out = image.convert("RGB").copy()
    out.paste(layer, (int(at[0] * image.width), int(at[1] * image.height)), layer)
    return out
