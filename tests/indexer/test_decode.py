"""indexer.decode: decoding real files written at test time, good and bad."""

from __future__ import annotations

import io
import math
import os
import struct
import sys
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from indexer.decode import IMAGE_EXTENSIONS, DecodeError, ImageMeta, read_image, sniff_kind
from indexer.preprocess import PreprocessConfig, draft_target, preprocess

RED = (255, 0, 0)
BLUE = (0, 0, 255)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# ---------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------


def textured(width: int, height: int, seed: int = 0) -> Image.Image:
    """Photo-like content: smooth colour fields plus fine detail, so geometry errors show."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 40, 2), max(width // 40, 2), 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), np.int16)
    fine = rng.integers(0, 256, (max(height // 3, 2), max(width // 3, 2), 3), dtype=np.uint8)
    detail = np.asarray(Image.fromarray(fine).resize((width, height), Image.Resampling.BILINEAR), np.int16)
    return Image.fromarray(np.clip(base + (detail - 128) // 3, 0, 255).astype(np.uint8))


def marked(width: int, height: int) -> Image.Image:
    """Blue picture with a red square in the stored top-left corner."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 5, height // 5))
    return image


def exif_block(
    orientation: int | None = None,
    original: str | None = None,
    digitized: str | None = None,
    datetime_ifd0: str | None = None,
    make: str | None = None,
    model: str | None = None,
    gps: tuple[str, tuple, str, tuple] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if datetime_ifd0 is not None:
        exif[0x0132] = datetime_ifd0
    exif_ifd = exif.get_ifd(0x8769)
    if original is not None:
        exif_ifd[0x9003] = original
    if digitized is not None:
        exif_ifd[0x9004] = digitized
    if gps is not None:
        lat_ref, lat, lon_ref, lon = gps
        exif.get_ifd(0x8825).update(
            {1: lat_ref, 2: tuple(IFDRational(v) for v in lat), 3: lon_ref, 4: tuple(IFDRational(v) for v in lon)}
        )
    return exif


def save_jpeg(image: Image.Image, path: Path, exif: Image.Exif | None = None, quality: int = 90) -> Path:
    kwargs = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif
    image.save(path, "JPEG", **kwargs)
    return path


def png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny valid PNG whose IHDR claims width x height (CRC recomputed); pixel data stays tiny."""
    buf = io.BytesIO()
    Image.new("1", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    ihdr = bytearray(data[12:29])  # type + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def jpeg_with_corrupt_exif(path: Path) -> Path:
    """A valid JPEG whose APP1 Exif segment points past its own end."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 255, 0)).save(buf, "JPEG")
    data = buf.getvalue()
    payload = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + b"\x12\x34" * 40
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + segment + data[2:])
    return path


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def corner_colours(image: Image.Image) -> dict[str, tuple[int, ...]]:
    w, h = image.size
    return {
        "top_left": image.getpixel((2, 2)),
        "top_right": image.getpixel((w - 3, 2)),
        "bottom_left": image.getpixel((2, h - 3)),
        "bottom_right": image.getpixel((w - 3, h - 3)),
    }


def is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


# ---------------------------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------------------------


def test_exif_metadata_is_read(tmp_path: Path) -> None:
    exif = exif_block(
        original="2021:07:04 13:22:05",
        digitized="2021:07:05 10:00:00",
        datetime_ifd0="2022:01:01 00:00:00",
        make="Canon\x00 ",
        model=" EOS R5 ",
        gps=("S", (33, 51, 54), "W", (151, 12, 36)),
    )
    path = save_jpeg(marked(64, 48), tmp_path / "meta.jpg", exif)

    image, meta = read_image(path)

    assert isinstance(meta, ImageMeta)
    assert image.mode == "RGB" and image.size == (64, 48)
    assert (meta.width, meta.height) == (64, 48)
    assert meta.format == "JPEG"
    assert meta.taken_at == datetime(2021, 7, 4, 13, 22, 5)
    assert meta.camera_make == "Canon"
    assert meta.camera_model == "EOS R5"
    assert meta.gps_lat == pytest.approx(-(33 + 51 / 60 + 54 / 3600))
    assert meta.gps_lon == pytest.approx(-(151 + 12 / 60 + 36 / 3600))
    assert meta.reduced is None


@pytest.mark.parametrize(
    ("exif_kwargs", "expected"),
    [
        (
            {"digitized": "2020:02:29 23:59:58", "datetime_ifd0": "2019:01:01 00:00:00"},
            datetime(2020, 2, 29, 23, 59, 58),
        ),
        ({"datetime_ifd0": "2019:01:02 03:04:05"}, datetime(2019, 1, 2, 3, 4, 5)),
        ({"original": "0000:00:00 00:00:00", "datetime_ifd0": "2018:05:06 07:08:09"}, datetime(2018, 5, 6, 7, 8, 9)),
        ({"original": "    :  :     :  :  "}, None),
        ({}, None),
    ],
)
def test_taken_at_falls_back_and_rejects_placeholders(
    tmp_path: Path, exif_kwargs: dict, expected: datetime | None
) -> None:
    path = save_jpeg(marked(32, 32), tmp_path / "t.jpg", exif_block(**exif_kwargs))
    assert read_image(path)[1].taken_at == expected


def test_northern_eastern_gps_is_positive_and_zero_fix_is_unknown(tmp_path: Path) -> None:
    north = save_jpeg(marked(32, 32), tmp_path / "n.jpg", exif_block(gps=("N", (48, 51, 30), "E", (2, 17, 40))))
    zero = save_jpeg(marked(32, 32), tmp_path / "z.jpg", exif_block(gps=("N", (0, 0, 0), "E", (0, 0, 0))))

    meta = read_image(north)[1]
    assert meta.gps_lat == pytest.approx(48 + 51 / 60 + 30 / 3600)
    assert meta.gps_lon == pytest.approx(2 + 17 / 60 + 40 / 3600)
    assert read_image(zero)[1].gps_lat is None and read_image(zero)[1].gps_lon is None


# ---------------------------------------------------------------------------------------------
# orientation and draft
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "red_corner", "upright_size"),
    [
        (1, "top_left", (200, 100)),
        (3, "bottom_right", (200, 100)),
        (6, "top_right", (100, 200)),  # rotate 90 clockwise to view
        (8, "bottom_left", (100, 200)),  # rotate 90 counter-clockwise to view
    ],
)
def test_exif_orientation_rotates_pixels(
    tmp_path: Path, orientation: int, red_corner: str, upright_size: tuple[int, int]
) -> None:
    exif = exif_block(orientation=orientation)
    path = save_jpeg(marked(200, 100), tmp_path / f"o{orientation}.jpg", exif, quality=95)

    image, meta = read_image(path)

    assert image.size == upright_size
    assert (meta.width, meta.height) == upright_size
    corners = corner_colours(image)
    assert is_red(corners[red_corner]), corners
    assert sum(is_red(c) for c in corners.values()) == 1, corners


@pytest.fixture(scope="module")
def large_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "12mp.jpg"
    return save_jpeg(textured(4000, 3000, seed=3), path, quality=90)


def test_draft_decodes_large_jpeg_at_reduced_scale(large_jpeg: Path) -> None:
    target = (336, 336)

    drafted, meta = read_image(large_jpeg, draft=target)
    full, full_meta = read_image(large_jpeg)

    assert full.size == (4000, 3000) and full_meta.reduced is None
    assert drafted.width >= target[0] and drafted.height >= target[1]
    assert drafted.width < 4000 and drafted.height < 3000
    assert drafted.size == (500, 375)  # 1/8 DCT scale: the largest reduction that stays >= 336
    assert (meta.width, meta.height) == (4000, 3000)
    assert meta.reduced is not None and meta.reduced.full_size == (4000, 3000)


def test_draft_target_is_honoured_after_rotation(tmp_path: Path) -> None:
    # Stored 4000x2000, shown 2000x4000. Asking for 600 wide x 300 high in upright terms means
    # 300 x 600 in stored terms; forgetting the swap would give a 1/8 decode only 500 px wide.
    path = save_jpeg(textured(4000, 2000, seed=4), tmp_path / "rot.jpg", exif_block(orientation=6))

    image, meta = read_image(path, draft=(600, 300))

    assert (meta.width, meta.height) == (2000, 4000)
    assert image.width >= 600 and image.height >= 300
    assert image.width < 2000  # it was still reduced
    assert image.height > image.width


def test_small_jpeg_with_draft_is_decoded_at_full_size(tmp_path: Path) -> None:
    path = save_jpeg(textured(300, 200), tmp_path / "small.jpg")
    image, meta = read_image(path, draft=(336, 336))
    assert image.size == (300, 200)
    assert meta.reduced is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reduced_decode_reproduces_full_decode_geometry(tmp_path: Path, orientation: int) -> None:
    # 1203 x 805 is not a multiple of the DCT scale, so the reduced decode has a partial last
    # column and row; the box in ImageMeta.reduced must follow the EXIF transpose for the crop to
    # line up with the full decode.
    cfg = PreprocessConfig(size=(224, 224), mean=CLIP_MEAN, std=CLIP_STD, resize_mode="squash")
    exif = exif_block(orientation=orientation)
    path = save_jpeg(textured(1203, 805, seed=orientation), tmp_path / "g.jpg", exif, quality=95)

    full, _ = read_image(path)
    drafted, meta = read_image(path, draft=draft_target(cfg))

    assert meta.reduced is not None
    assert drafted.size != full.size
    reference = preprocess(full, cfg)
    tensor = preprocess(drafted, cfg, meta.reduced)
    assert cosine(reference, tensor) >= 0.9995  # a box left unrotated gives 0.995-0.998, none 0.998


def test_corrupt_exif_does_not_cost_the_picture(tmp_path: Path) -> None:
    image, meta = read_image(jpeg_with_corrupt_exif(tmp_path / "bad_exif.jpg"))
    assert image.size == (32, 32) and image.getpixel((16, 16))[1] > 200
    assert meta.taken_at is None and meta.camera_make is None and meta.gps_lat is None


# ---------------------------------------------------------------------------------------------
# exotic modes and formats
# ---------------------------------------------------------------------------------------------


def test_cmyk_jpeg_adobe_inverted_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # red
    cmyk.paste((255, 0, 255, 0), (32, 0, 64, 64))  # green on the right
    cmyk.save(path, "JPEG", quality=95)
    assert b"Adobe" in path.read_bytes()  # PIL writes Adobe's APP14 marker with inverted CMYK

    image, meta = read_image(path)

    assert image.mode == "RGB" and meta.format == "JPEG"
    left, right = image.getpixel((8, 32)), image.getpixel((56, 32))
    assert left[0] > 230 and left[1] < 30 and left[2] < 30, left
    assert right[1] > 230 and right[0] < 30 and right[2] < 30, right


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 64, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")

    image, _ = read_image(path)

    assert image.mode == "RGB"
    assert [image.getpixel((x, 0)) for x in range(4)] == [(0, 0, 0), (64, 64, 64), (128, 128, 128), (255, 255, 255)]


def test_16bit_big_endian_tiff(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 100, 65535]], dtype=">u2")
    path = tmp_path / "b16.tif"
    Image.frombytes("I;16B", (3, 1), values.tobytes()).save(path)
    assert Image.open(path).mode == "I;16B"

    image, meta = read_image(path)

    assert meta.format == "TIFF"
    assert [image.getpixel((x, 0))[0] for x in range(3)] == [0, 100, 255]


def test_float_and_32bit_int_tiff(tmp_path: Path) -> None:
    float_path = tmp_path / "f.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).save(float_path)
    int_path = tmp_path / "i.tif"
    Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32)).save(int_path)
    assert Image.open(float_path).mode == "F" and Image.open(int_path).mode == "I"

    floats, _ = read_image(float_path)
    ints, _ = read_image(int_path)

    assert [floats.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]
    assert [ints.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_palette_png_with_transparency_matches_open_clip_conversion(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    palette_image = Image.new("P", (16, 16), 0)
    palette_image.putpalette([10, 200, 30, 250, 0, 0] + [0] * (256 * 3 - 6))
    palette_image.paste(1, (0, 0, 8, 16))
    palette_image.save(path, transparency=0)

    image, _ = read_image(path)

    # open_clip does Image.convert('RGB'): the transparent index shows its palette colour.
    assert image.getpixel((2, 2)) == (250, 0, 0)
    assert image.getpixel((12, 2)) == (10, 200, 30)
    with Image.open(path) as reference:
        assert image.tobytes() == reference.convert("RGB").tobytes()


def test_rgba_png_drops_alpha_like_open_clip(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    rgba = Image.new("RGBA", (8, 8), (20, 40, 60, 0))
    rgba.paste((200, 100, 50, 255), (0, 0, 4, 8))
    rgba.save(path)

    image, _ = read_image(path)

    assert image.getpixel((1, 1)) == (200, 100, 50)
    assert image.getpixel((6, 1)) == (20, 40, 60)  # not composited onto white or black


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_greyscale_modes_become_grey_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"{mode}.png"
    source = Image.new(mode, (8, 8), 0)
    source.paste(255 if mode != "LA" else (255, 255), (0, 0, 4, 8))
    source.save(path)

    image, _ = read_image(path)

    assert image.mode == "RGB"
    assert image.getpixel((1, 1)) == (255, 255, 255) and image.getpixel((6, 1)) == (0, 0, 0)


@pytest.mark.parametrize(("suffix", "fmt"), [(".gif", "GIF"), (".webp", "WEBP"), (".png", "PNG")])
def test_animated_images_give_the_first_frame(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"anim{suffix}"
    frames = [Image.new("RGB", (32, 32), colour) for colour in (RED, (0, 255, 0), BLUE)]
    save_kwargs = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **save_kwargs)
    with Image.open(path) as check:
        assert getattr(check, "n_frames", 1) == 3

    image, meta = read_image(path)

    assert meta.format == fmt
    assert is_red(image.getpixel((16, 16))), image.getpixel((16, 16))


@pytest.mark.parametrize(("suffix", "fmt"), [(".webp", "WEBP"), (".tiff", "TIFF"), (".bmp", "BMP")])
def test_other_still_formats(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"still{suffix}"
    save_kwargs = {"lossless": True} if fmt == "WEBP" else {}
    marked(40, 30).save(path, fmt, **save_kwargs)

    image, meta = read_image(path)

    assert meta.format == fmt and image.size == (40, 30)
    assert is_red(image.getpixel((2, 2))) and image.getpixel((30, 20)) == BLUE
    assert sniff_kind(path) == "photo"


def test_heic_written_by_pillow_heif(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "photo.heic"
    exif = exif_block(orientation=6, original="2023:03:04 05:06:07", make="Apple", model="iPhone 15")
    heif = pillow_heif.from_pillow(marked(128, 64))
    heif.save(path, quality=95, exif=exif.tobytes())

    image, meta = read_image(path)

    assert meta.format == "HEIF"
    assert image.size == (64, 128) and (meta.width, meta.height) == (64, 128)
    assert is_red(corner_colours(image)["top_right"]), corner_colours(image)
    assert meta.taken_at == datetime(2023, 3, 4, 5, 6, 7)
    assert meta.camera_make == "Apple"
    assert sniff_kind(path) == "photo"


# ---------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------


def reason_of(path: os.PathLike | str, **kwargs) -> str:
    with pytest.raises(DecodeError) as excinfo:
        read_image(path, **kwargs)
    assert str(excinfo.value) == excinfo.value.reason
    return excinfo.value.reason


def test_truncated_jpeg(tmp_path: Path) -> None:
    good = save_jpeg(textured(400, 300), tmp_path / "good.jpg")
    data = good.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    assert reason_of(cut) == "truncated or corrupt image"
    assert reason_of(cut, draft=(100, 100)) == "truncated or corrupt image"


def test_truncated_png(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    textured(200, 200).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:5000])
    assert reason_of(cut) == "truncated or corrupt image"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert reason_of(path) == "empty file"


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("#define width 10\nshopping list: eggs, milk\n")  # XBM-like on purpose
    assert reason_of(path) == "not an image (unrecognised format)"
    assert sniff_kind(path) is None


def test_decompression_bomb_beyond_pil_ceiling(tmp_path: Path) -> None:
    path = png_with_size(tmp_path / "bomb.png", 30000, 30000)
    assert reason_of(path) == "decompression bomb (900000000 pixels)"


def test_decompression_bomb_refused_from_header_by_our_limit(tmp_path: Path) -> None:
    # The header claims 5000x5000 but the pixel data is an 8x8 stream; decoding it would fail as
    # corrupt, so this reason proves the check happens before any pixel is decoded.
    path = png_with_size(tmp_path / "bomb.png", 5000, 5000)
    assert reason_of(path, max_pixels=10_000_000) == "decompression bomb (25000000 pixels)"
    assert reason_of(path, max_pixels=30_000_000) == "truncated or corrupt image"


def test_bomb_above_pil_warning_level_is_refused_without_a_warning(tmp_path: Path) -> None:
    # Between PIL's MAX_IMAGE_PIXELS (warns while opening) and twice that (raises): PIL warns,
    # we refuse by our own limit, and nothing may reach stderr.
    side = math.isqrt(Image.MAX_IMAGE_PIXELS) + 100
    path = png_with_size(tmp_path / "bomb.png", side, side)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", append=True)
        assert reason_of(path, max_pixels=Image.MAX_IMAGE_PIXELS) == f"decompression bomb ({side * side} pixels)"
    assert [str(w.message) for w in caught] == []


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "nope.jpg") == "file not found"
    assert reason_of(tmp_path / "nope" / "deeper.jpg") == "file not found"
    assert reason_of(tmp_path) == "is a directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a FIFO for reading blocks until a writer appears; a worker thread must not hang.
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert reason_of(fifo) == "not a regular file"
    assert sniff_kind(fifo) is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permission_denied(tmp_path: Path) -> None:
    """A real EACCES. Root reads anything, so as root the attempt runs in a forked child that has
    dropped to uid/gid 65534 ("nobody") and reports the reason back through a pipe."""
    path = save_jpeg(marked(16, 16), tmp_path / "secret.jpg")
    path.chmod(0)
    if os.geteuid() != 0:
        assert reason_of(path) == "permission denied"
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                read_image(path)
                message = b"decoded"
            except DecodeError as e:
                message = e.reason.encode()
            os.write(write_end, message)
        except BaseException as e:  # noqa: BLE001
            os.write(write_end, b"child-error: " + repr(e).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    if message.startswith("child-error: PermissionError"):
        pytest.skip(f"cannot drop privileges here: {message}")
    assert message == "permission denied"


# ---------------------------------------------------------------------------------------------
# hygiene: handles, warnings
# ---------------------------------------------------------------------------------------------


def mixed_inputs(tmp_path: Path) -> list[Path]:
    save_jpeg(marked(64, 64), tmp_path / "a.jpg")
    (tmp_path / "b.png").write_text("not an image")
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "c.jpg").write_bytes(data[: len(data) // 2])
    frames = [Image.new("RGB", (8, 8), c) for c in (RED, BLUE)]
    frames[0].save(tmp_path / "d.gif", save_all=True, append_images=frames[1:])
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "e.jpg")
    p = Image.new("P", (8, 8), 0)
    p.putpalette([1, 2, 3] * 256)
    p.save(tmp_path / "f.png", transparency=0)
    p.save(tmp_path / "f2.png", transparency=bytes([0, 128, 255]))  # tRNS with several alphas
    jpeg_with_corrupt_exif(tmp_path / "i.jpg")
    Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16)).save(tmp_path / "g.png")
    png_with_size(tmp_path / "h.png", 30000, 30000)
    return sorted(tmp_path.iterdir())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors via /proc")
def test_no_file_handles_leak(tmp_path: Path) -> None:
    paths = mixed_inputs(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        for path in paths:
            try:
                read_image(path, draft=(4, 4))
            except DecodeError:
                pass
    assert len(os.listdir("/proc/self/fd")) == before


def test_parallel_threads_decode_like_serial(tmp_path: Path) -> None:
    paths = [save_jpeg(textured(640, 480, seed=i), tmp_path / f"{i}.jpg") for i in range(12)]
    serial = [read_image(p, draft=(200, 200))[0].tobytes() for p in paths]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda p: read_image(p, draft=(200, 200))[0].tobytes(), paths))
    assert parallel == serial


def test_exotic_inputs_emit_no_warnings(tmp_path: Path) -> None:
    paths = [p for p in mixed_inputs(tmp_path) if p.name != "h.png"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", append=True)  # record anything no earlier filter handles
        for path in paths:
            try:
                read_image(path)
            except DecodeError:
                pass
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------------------------------------
# sniffing and extensions
# ---------------------------------------------------------------------------------------------


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", len(body) + 4) + body + b"\x00" * 64


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "photo"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo"),
        (b"GIF89a\x01\x00\x01\x00", "photo"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "photo"),
        (b"II*\x00\x08\x00\x00\x00", "photo"),
        (b"MM\x00*\x00\x00\x00\x08", "photo"),
        (b"BM" + b"\x00" * 12 + struct.pack("<I", 40) + b"\x00" * 8, "photo"),
        (ftyp(b"heic", b"mif1", b"heic"), "photo"),
        (ftyp(b"mif1", b"heic", b"miaf"), "photo"),
        (ftyp(b"avif", b"mif1", b"miaf"), "photo"),
        (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video"),
        (ftyp(b"mp42", b"mp42", b"isom"), "video"),
        (ftyp(b"qt  ", b"qt  "), "video"),
        (ftyp(b"M4V ", b"M4V ", b"mp42"), "video"),
        (ftyp(b"3gp5", b"3gp5"), "video"),
        (ftyp(b"XXXX", b"mif1", b"isom"), "video"),
        (ftyp(b"XXXX", b"zzzz"), None),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "video"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "video"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "video"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        ((b"\x47" + b"\x00" * 187) * 3, "video"),
        ((b"\x00\x00\x00\x00\x47" + b"\x00" * 187) * 3, "video"),
        (b"\x47" + b"\x00" * 100, None),
        (b"BMP is a nice format, says this text file", None),
        (b"hello world", None),
        (b"", None),
    ],
)
def test_sniff_kind(tmp_path: Path, head: bytes, kind: str | None) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(head)
    assert sniff_kind(path) == kind


def test_sniff_kind_propagates_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sniff_kind(tmp_path / "missing")


def test_image_extensions() -> None:
    for ext in (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"):
        assert ext in IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    assert ".mp4" not in IMAGE_EXTENSIONS and ".txt" not in IMAGE_EXTENSIONS
