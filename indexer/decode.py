"""Decoding photos for indexing: robust, bounded, and ready for ``preprocess``.

``read_image`` turns any photo we index into an RGB PIL image plus its metadata, or raises
``DecodeError`` with a short reason the library records and shows in ``status``. Choices worth
knowing:

* **Colour.** Every mode is converted to RGB the way open_clip's data pipeline does
  (``Image.convert('RGB')``), so embeddings match the model's training and open_clip's own
  preprocessing. That means alpha is *dropped*, not composited: a transparent pixel shows whatever
  colour it stores (for palette images, the palette colour of the transparent index). CMYK is
  converted with PIL's plain formula (Adobe's inverted CMYK JPEGs are handled by PIL's decoder);
  ICC profiles are ignored, as open_clip ignores them. The exception is high bit depth, where
  ``convert('RGB')`` clips everything above 255 to white: 16-bit (``I;16*``), 32-bit ``I`` and
  float ``F`` images are scaled to 8 bits first (see ``_high_depth_to_l``).
* **Size.** The pixel count from the header is checked against ``max_pixels`` before any pixel is
  decoded. PIL's own guard still runs inside ``Image.open`` (it warns above
  ``Image.MAX_IMAGE_PIXELS`` and raises above twice that) and so is an outer ceiling for
  ``max_pixels``; its refusal is reported with the same reason.
* **Warnings.** ``read_image`` installs, process-wide, filters that silence PIL's
  ``DecompressionBombWarning`` and the UserWarnings its TIFF/PNG plugins raise about corrupt
  metadata: we handle both, and library code must not write to stderr. (``warnings.catch_warnings``
  would be scoped, but it is not thread-safe before Python 3.14 and decoding runs on worker
  threads.)
* **Speed.** JPEGs are decoded at reduced DCT scale (``Image.draft``) when a ``draft`` size is
  given, never below it in either dimension after EXIF orientation. ``ImageMeta.reduced`` then
  describes the exact geometry so ``preprocess`` can reproduce the full-resolution result.
* **Truncation.** Truncated files fail; we never set ``ImageFile.LOAD_TRUNCATED_IMAGES``.
* **Files.** The file is opened non-blocking (a FIFO cannot hang a worker), checked to be a regular
  file, and always closed before returning. Animated images give their first frame.
"""

from __future__ import annotations

import logging
import math
import os
import re
import stat
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from indexer.preprocess import ReducedDecode

__all__ = ["DecodeError", "ImageMeta", "IMAGE_EXTENSIONS", "read_image", "sniff_kind"]

log = logging.getLogger(__name__)

# Library code must not write to stderr, and these warnings only restate what read_image handles:
# bombs are refused with a reason, and broken EXIF/TIFF/APNG metadata is skipped (the picture is
# still indexed). PIL attributes its metadata complaints to these plugin modules.
_QUIET_FILTERS = (
    ("ignore", None, Image.DecompressionBombWarning, None, 0),
    ("ignore", None, UserWarning, re.compile(r"PIL\.(TiffImagePlugin|PngImagePlugin)$"), 0),
)


def _quiet_pil_warnings() -> None:
    """Make sure our two filters are installed (cheap when they are).

    Checked on every call rather than once at import: a ``warnings.catch_warnings`` block around
    the import, or around an earlier call (test runners do this), restores the old filter list
    on exit and would drop them.
    """
    for entry in _QUIET_FILTERS:
        if entry not in warnings.filters:
            action, _message, category, module, _lineno = entry
            warnings.filterwarnings(action, category=category, module=module.pattern if module else "")


# Where PIL itself refuses by default (2 x Image.MAX_IMAGE_PIXELS); ours, whatever PIL's is set to.
DEFAULT_MAX_PIXELS = 178_956_970

_AVIF_SUPPORTED = bool(features.check("avif"))

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
    | ({".avif"} if _AVIF_SUPPORTED else set())
)

# Formats Image.open may identify. Keeping the list short stops PIL's lenient plugins (XBM, TGA,
# SPIDER...) from "recognising" a text file, and keeps the attack surface to what we index.
_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "DIB", "HEIF", "AVIF")
_JPEG_FORMATS = ("JPEG", "MPO")

_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_DATETIME = 0x0132
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_DATETIME_DIGITIZED = 0x9004

# EXIF orientation -> the PIL transpose that shows the picture upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = (5, 6, 7, 8)


class DecodeError(Exception):
    """A file that cannot be indexed as a photo; ``reason`` is short and meant for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ImageMeta:
    """What we learn about a photo while decoding it."""

    width: int  # full-resolution size, EXIF orientation applied
    height: int
    taken_at: datetime | None  # naive local time, as EXIF stores it
    gps_lat: float | None
    gps_lon: float | None
    camera_make: str | None
    camera_model: str | None
    format: str  # PIL format name: JPEG, PNG, HEIF, MPO...
    reduced: ReducedDecode | None = None  # set when the image was decoded at reduced scale


_plugins_lock = threading.Lock()
_open_formats: tuple[str, ...] | None = None  # None: plugins not set up yet
_heif_registered = False


def _plugin_formats() -> tuple[str, ...]:
    """Set PIL up once, on first use: register pillow-heif if importable, load PIL's plugins.

    Returns the subset of ``_FORMATS`` this PIL can open (Image.open raises KeyError for a
    format name that no plugin registered).
    """
    global _open_formats, _heif_registered
    if _open_formats is None:
        with _plugins_lock:
            if _open_formats is None:
                try:
                    import pillow_heif

                    pillow_heif.register_heif_opener()
                    _heif_registered = True
                except Exception:  # noqa: BLE001 - missing or broken optional dependency
                    log.info("pillow-heif unavailable; HEIC/HEIF photos cannot be decoded", exc_info=True)
                Image.init()
                _open_formats = tuple(f for f in _FORMATS if f in Image.OPEN)
    return _open_formats


# ---------------------------------------------------------------------------------------------
# Sniffing
# ---------------------------------------------------------------------------------------------

_PHOTO_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"mif2",
     b"msf1", b"heif", b"avif", b"avis", b"avio", b"miaf"}
)
_VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
     b"mp42", b"mp71", b"qt  ", b"M4V ", b"M4VH", b"M4VP", b"avc1", b"dash", b"f4v ", b"mmp4",
     b"MSNV", b"NDAS", b"NDSC", b"NDSH", b"NDSM", b"NDSP", b"NDSS", b"NDXC", b"NDXH", b"NDXM",
     b"NDXP", b"NDXS", b"XAVC", b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gs6", b"3gs7", b"3g2a",
     b"3g2b", b"3g2c", b"3ge6", b"3ge7", b"3gg6", b"mp21", b"CAEP", b"caqv", b"ROSS", b"FACE"}
)
# QuickTime files written before 'ftyp' existed start straight with one of these atoms.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_SNIFF_BYTES = 512  # MPEG-TS needs its second sync byte at 188 (M2TS at 196)


def _sniff_bytes(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "photo"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "photo"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "photo"
    if head[:4] == b"RIFF" and len(head) >= 12:
        if head[8:12] == b"WEBP":
            return "photo"
        if head[8:12] in (b"AVI ", b"AVIX"):
            return "video"
        return None
    if head[:2] == b"BM" and len(head) >= 18:
        dib_header_size = int.from_bytes(head[14:18], "little")
        if dib_header_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "photo"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska / WebM
        return "video"
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):  # MPEG-PS / ES
        return "video"
    if head.startswith(b"FLV\x01") or head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # FLV, ASF
        return "video"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:  # MPEG transport stream
        return "video"
    if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47:  # M2TS (AVCHD .mts)
        return "video"
    return None


def _sniff_ftyp(head: bytes) -> str | None:
    major = head[8:12]
    if major in _PHOTO_BRANDS:
        return "photo"
    if major in _VIDEO_BRANDS:
        return "video"
    box_end = min(int.from_bytes(head[0:4], "big"), len(head))
    compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    # Video brands win: an MP4 may list 'mif1' for its cover art, an image never lists 'isom'.
    if compatible & _VIDEO_BRANDS:
        return "video"
    if compatible & _PHOTO_BRANDS:
        return "photo"
    return None


def sniff_kind(path: str | os.PathLike[str]) -> str | None:
    """'photo', 'video' or None, from the file's first bytes (its name is not consulted).

    Returns None for anything that is not a regular file. ``OSError`` (missing file, no
    permission) propagates so the caller can tell "unreadable" from "not media".
    """
    fd = _open_regular(path)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        return _sniff_bytes(f.read(_SNIFF_BYTES))


def _open_regular(path: str | os.PathLike[str]) -> int | None:
    """Open for reading without blocking on FIFOs; None when it is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
    except BaseException:
        os.close(fd)
        raise
    return fd


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def _bomb_reason(pixels: int | None) -> str:
    return f"decompression bomb ({pixels} pixels)" if pixels is not None else "decompression bomb"


def _open_file(path: str | os.PathLike[str]) -> int:
    try:
        fd = _open_regular(path)
    except (FileNotFoundError, NotADirectoryError):
        raise DecodeError("file not found") from None
    except PermissionError:
        raise DecodeError("permission denied") from None
    except IsADirectoryError:
        raise DecodeError("is a directory") from None
    except OSError as e:
        raise DecodeError(f"cannot open file ({e.strerror or e})") from None
    if fd is None:
        kind = "is a directory" if os.path.isdir(path) else "not a regular file"
        raise DecodeError(kind)
    return fd


def read_image(
    path: str | os.PathLike[str],
    draft: tuple[int, int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[Image.Image, ImageMeta]:
    """Decode one photo to an upright RGB image (first frame) and its metadata.

    ``draft`` is the smallest (width, height) the caller needs, in upright orientation (use
    ``preprocess.draft_target``); JPEGs are then decoded at the largest DCT reduction that stays at
    or above it, and ``ImageMeta.reduced`` says how to map the result back. Raises ``DecodeError``.
    """
    _quiet_pil_warnings()
    fd = _open_file(path)
    with os.fdopen(fd, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise DecodeError("empty file")
        formats = _plugin_formats()
        try:
            image = Image.open(f, formats=formats)
        except Image.DecompressionBombError as e:
            match = _BOMB_PIXELS.search(str(e))
            raise DecodeError(_bomb_reason(int(match.group(1)) if match else None)) from None
        except UnidentifiedImageError:
            if not _heif_registered and _is_heif(f):
                raise DecodeError("HEIC/HEIF support not installed (pillow-heif)") from None
            raise DecodeError("not an image (unrecognised format)") from None
        except Exception as e:  # noqa: BLE001 - PIL plugins raise all sorts on corrupt headers
            log.debug("cannot open %s", path, exc_info=True)
            raise DecodeError(_io_or_corrupt(e)) from None
        try:
            return _decode_opened(image, draft, max_pixels)
        except DecodeError:
            raise
        except MemoryError:
            raise DecodeError("out of memory while decoding") from None
        except Exception as e:  # noqa: BLE001
            log.debug("cannot decode %s", path, exc_info=True)
            raise DecodeError(_io_or_corrupt(e)) from None


def _io_or_corrupt(e: BaseException) -> str:
    # PIL's own errors ("image file is truncated", "broken data stream") carry no errno.
    if isinstance(e, OSError) and e.errno is not None:
        return f"read error ({e.strerror or e})"
    return "truncated or corrupt image"


def _is_heif(f: Any) -> bool:
    f.seek(0)
    head = f.read(64)
    return len(head) >= 12 and head[4:8] == b"ftyp" and _sniff_ftyp(head) == "photo"


def _decode_opened(
    image: Image.Image, draft: tuple[int, int] | None, max_pixels: int
) -> tuple[Image.Image, ImageMeta]:
    fmt = image.format or "unknown"
    full_w, full_h = image.size
    if full_w * full_h > max_pixels:
        raise DecodeError(_bomb_reason(full_w * full_h))

    exif = _read_exif(image)
    orientation = _orientation(exif)
    swaps = orientation in _SWAPS_AXES

    picture_size = None  # (w, h) of the whole picture in decoded pixels, when decoded reduced
    if draft is not None and fmt in _JPEG_FORMATS:
        want_w, want_h = (draft[1], draft[0]) if swaps else (draft[0], draft[1])
        result = image.draft("RGB", (max(1, int(want_w)), max(1, int(want_h))))
        if result is not None and image.size != (full_w, full_h):
            _mode, (_left, _top, box_w, box_h) = result  # (0, 0, full_w / scale, full_h / scale)
            picture_size = (box_w, box_h)

    image.load()
    rgb = _to_rgb(image)
    if rgb is not image:
        image.close()  # release the decoded original early; the RGB copy is all we keep
    reduced = None
    if picture_size is not None:
        reduced = _oriented_reduction(rgb.size, *picture_size, (full_w, full_h), orientation)
    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])

    width, height = (full_h, full_w) if swaps else (full_w, full_h)
    lat, lon = _gps(exif)
    meta = ImageMeta(
        width=width,
        height=height,
        taken_at=_taken_at(exif),
        gps_lat=lat,
        gps_lon=lon,
        camera_make=_text(exif.get(_TAG_MAKE)),
        camera_model=_text(exif.get(_TAG_MODEL)),
        format=fmt,
        reduced=reduced,
    )
    return rgb, meta


def _oriented_reduction(
    decoded: tuple[int, int],
    box_w: float,
    box_h: float,
    full: tuple[int, int],
    orientation: int,
) -> ReducedDecode:
    """The picture region of a reduced decode, carried through the EXIF transpose.

    Before transposing, the picture occupies (0, 0, box_w, box_h) of the decoded image; the
    partial last column/row sits at the right/bottom. Flips and rotations move it, so the box is
    anchored at the far edge along every axis the transpose reverses.
    """
    dec_w, dec_h = decoded
    full_w, full_h = full
    left, top, right, bottom = 0.0, 0.0, box_w, box_h
    if orientation in (2, 3):  # x reversed
        left, right = dec_w - box_w, float(dec_w)
    if orientation in (3, 4):  # y reversed
        top, bottom = dec_h - box_h, float(dec_h)
    if orientation == 5:  # transpose: x' = y, y' = x
        return ReducedDecode((full_h, full_w), (0.0, 0.0, box_h, box_w))
    if orientation == 6:  # rotate 90 clockwise: x' = h - y, y' = x
        return ReducedDecode((full_h, full_w), (dec_h - box_h, 0.0, float(dec_h), box_w))
    if orientation == 7:  # transverse: x' = h - y, y' = w - x
        return ReducedDecode((full_h, full_w), (dec_h - box_h, dec_w - box_w, float(dec_h), float(dec_w)))
    if orientation == 8:  # rotate 90 counter-clockwise: x' = y, y' = w - x
        return ReducedDecode((full_h, full_w), (0.0, dec_w - box_w, box_h, float(dec_w)))
    return ReducedDecode((full_w, full_h), (left, top, right, bottom))


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_l(image).convert("RGB")
    # Alpha is dropped anyway; without the tRNS entry PIL converts the same pixels but skips its
    # "Palette images with Transparency expressed in bytes" warning.
    image.info.pop("transparency", None)
    try:
        return image.convert("RGB")
    except ValueError:
        raise DecodeError(f"unsupported image mode {mode}") from None


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greyscale to 8-bit L, keeping the picture instead of clipping it.

    16-bit modes map 0..65535 onto 0..255. ``I`` holds whatever the file stored, so its range is
    guessed from the data: already 8-bit stays, 16-bit is scaled as above, anything else is
    stretched min..max. ``F`` in 0..1 is scaled by 255 (the usual float convention), in 0..255 kept,
    otherwise stretched; NaN becomes 0.
    """
    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        scaled = (values.astype(np.uint32) * 255 + 32767) // 65535
        return Image.fromarray(scaled.astype(np.uint8), "L")
    data = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        data = data * 255.0
    elif low >= 0.0 and high <= 255.0:
        pass
    elif image.mode == "I" and low >= 0.0 and high <= 65535.0:
        data = data * (255.0 / 65535.0)
    elif high > low:
        data = (data - low) * (255.0 / (high - low))
    else:
        data = np.zeros_like(data)
    return Image.fromarray(np.clip(np.rint(data), 0, 255).astype(np.uint8), "L")


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------


def _read_exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:  # noqa: BLE001 - corrupt EXIF must not cost us the picture
        log.debug("unreadable EXIF", exc_info=True)
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    try:
        value = int(exif.get(_TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _sub_ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001
        return {}


_EXIF_DATETIME = re.compile(r"^\s*(\d{4})[:\-/](\d{1,2})[:\-/](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def _parse_exif_datetime(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    match = _EXIF_DATETIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None


def _taken_at(exif: Image.Exif) -> datetime | None:
    exif_ifd = _sub_ifd(exif, _IFD_EXIF)
    for value in (
        exif_ifd.get(_TAG_DATETIME_ORIGINAL),
        exif_ifd.get(_TAG_DATETIME_DIGITIZED),
        exif.get(_TAG_DATETIME),
    ):
        parsed = _parse_exif_datetime(value)
        if parsed is not None:
            return parsed
    return None


def _dms_to_degrees(value: Any) -> float | None:
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3 or not all(math.isfinite(p) for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60.0 + parts[2] / 3600.0


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """Signed decimal degrees; (None, None) when absent, malformed, out of range, or exactly 0,0.

    0,0 is what many cameras write when they had no fix, and a photo really taken there is rare
    enough that treating it as "unknown" is the better default.
    """
    gps = _sub_ifd(exif, _IFD_GPS)
    lat = _dms_to_degrees(gps.get(2))
    lon = _dms_to_degrees(gps.get(4))
    if lat is None or lon is None:
        return None, None
    if (_text(gps.get(1)) or "N").upper().startswith("S"):
        lat = -lat
    if (_text(gps.get(3)) or "E").upper().startswith("W"):
        lon = -lon
    if abs(lat) > 90.0 or abs(lon) > 180.0 or (lat == 0.0 and lon == 0.0):
        return None, None
    return lat, lon


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned or None
