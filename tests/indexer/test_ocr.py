"""Reading text in photos: real fonts drawn by PIL, read by the real PP-OCR models (rapidocr)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.decode import DecodeError
from indexer.ocr import TextReader, keep_line
from tests.media import draw_text, font_path, photo_background, save_jpeg, scene

NEEDS_FONTS = pytest.mark.skipif(font_path("DejaVuSans-Bold.ttf") is None or font_path("LiberationSerif-Regular.ttf") is None,
                                 reason="fonts-dejavu-core and fonts-liberation are not installed")
CJK_FONT = "wqy-zenhei.ttc"


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(threads=1)


def _texts(lines) -> str:
    return " | ".join(line.text for line in lines).lower()


# -- the noise rules (values seen on text-free photos from a default rapidocr run) ------------
@pytest.mark.parametrize("text, score, height", [
    ("0", 0.57, 0.55), ("3", 0.62, 0.33), ("A", 0.15, 0.31),  # stray single characters
    ("光", 0.19, 0.95), ("业", 0.99, 0.73),  # a lone CJK glyph, even when confident
    ("11", 0.92, 0.14),  # a pair not quite confident enough
    ("B", 0.99, 0.02),  # confident but tiny: texture
    ("--", 0.99, 0.1), ("", 1.0, 0.1),  # nothing to search
    ("Departures", 0.55, 0.05),  # low confidence
    ("hello world", 0.99, 0.004),  # thinner than any legible line
])
def test_noise_is_dropped(text, score, height):
    assert not keep_line(text, score, height)


@pytest.mark.parametrize("text, score, height", [
    ("GATE B42", 0.99, 0.05), ("B42", 0.9, 0.03), ("EX", 0.97, 0.04),
    ("P", 0.99, 0.2),  # a big parking sign letter
    ("北京咖啡店", 0.9, 0.05), ("咖啡", 0.97, 0.05),
    ("Hardware Store Receipt", 0.7, 0.01),
])
def test_text_is_kept(text, score, height):
    assert keep_line(text, score, height)


# -- reading real pictures ---------------------------------------------------------------------
@NEEDS_FONTS
def test_reads_large_small_angled_and_low_contrast_text_over_a_photo(reader, tmp_path):
    image = photo_background((1280, 960), 1)
    image = draw_text(image, "GATE B42", height=0.09, at=(0.08, 0.08))  # large, on a sign plate
    image = draw_text(image, "Hardware Store", height=0.05, at=(0.35, 0.40), angle=12,
                      font="LiberationSerif-Regular.ttf")  # angled serif
    image = draw_text(image, "wifi password", height=0.035, at=(0.08, 0.78),
                      fill=(95, 95, 95), plate=(140, 140, 140))  # low contrast
    image = draw_text(image, "Platform seven", height=0.03, at=(0.6, 0.85),
                      fill=(255, 255, 255), plate=None)  # small, straight on the picture
    path = save_jpeg(tmp_path / "signs.jpg", image)
    lines = reader.read(path)
    found = _texts(lines)
    for words in ("gate b42", "hardware store", "wifi password", "platform seven"):
        assert words in found, found
    gate = next(line for line in lines if "B42" in line.text)
    xs = [x for x, _ in gate.box]
    ys = [y for _, y in gate.box]
    assert all(0.0 <= v <= 1.0 for v in xs + ys)
    assert 0.05 < min(xs) < 0.2 and 0.05 < min(ys) < 0.2 and max(ys) < 0.25  # where it was drawn
    assert all(line.score >= 0.6 for line in lines)


def test_text_free_pictures_give_no_lines(reader, tmp_path):
    pictures = [photo_background((800, 600), i) for i in range(4)]
    pictures += [scene(k, (640, 480)) for k in ("noise", "checker", "stripes", "gradient")]
    for i, picture in enumerate(pictures):
        assert reader.read(save_jpeg(tmp_path / f"plain{i}.jpg", picture)) == [], i


@NEEDS_FONTS
def test_text_is_read_upright_through_exif_rotation(reader, tmp_path):
    upright = draw_text(scene("gradient", (640, 480)), "ROTATED SIGN", height=0.1, at=(0.1, 0.4))
    # stored turned 90° with orientation 6: a viewer (and read_image) turns it back
    path = save_jpeg(tmp_path / "rotated.jpg", upright.transpose(Image.Transpose.ROTATE_90), orientation=6)
    lines = reader.read(path)
    assert "rotated sign" in _texts(lines)
    box = next(line.box for line in lines if "SIGN" in line.text)
    assert max(x for x, _ in box) - min(x for x, _ in box) > max(y for _, y in box) - min(y for _, y in box)


@NEEDS_FONTS
@pytest.mark.parametrize("variant", ["cmyk", "palette", "16bit", "huge"])
def test_every_kind_of_photo_the_embedding_pass_accepts_can_be_read(reader, tmp_path, variant):
    base = draw_text(Image.new("RGB", (640, 480), (250, 250, 250)), "INVOICE 2031", height=0.1,
                     at=(0.1, 0.4), plate=None)
    if variant == "cmyk":
        path = tmp_path / "cmyk.jpg"
        base.convert("CMYK").save(path, "JPEG", quality=92)
    elif variant == "palette":
        path = tmp_path / "palette.png"
        base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    elif variant == "16bit":
        path = tmp_path / "deep.png"
        deep = (np.asarray(base.convert("L"), np.uint16) * 257).astype("<u2")
        Image.frombytes("I;16", base.size, deep.tobytes()).save(path)
        assert Image.open(path).mode.startswith("I;16")
    else:  # bigger than the detector needs: decoded reduced
        path = save_jpeg(tmp_path / "huge.jpg", base.resize((6400, 4800), Image.Resampling.NEAREST), quality=80)
    assert "invoice 2031" in _texts(reader.read(path))


def test_a_file_that_is_not_an_image_raises_decode_error_with_a_reason(reader, tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DecodeError) as info:
        reader.read(path)
    assert info.value.reason


@pytest.mark.skipif(font_path(CJK_FONT) is None, reason="fonts-wqy-zenhei is not installed")
def test_reads_chinese(reader, tmp_path):
    image = draw_text(photo_background((800, 600), 2), "北京咖啡店", font=CJK_FONT, height=0.1, at=(0.15, 0.3))
    lines = reader.read(save_jpeg(tmp_path / "cafe.jpg", image))
    assert "咖啡" in _texts(lines)
