"""Reading the text in a photo: PP-OCR detection + recognition through onnxruntime (rapidocr).

``TextReader.read(path)`` decodes the photo with ``indexer.decode.read_image`` (so every photo the
embedding pass accepts can be read: EXIF rotation, CMYK, 16-bit, palette, huge dimensions), at a
reduced size suited to the detector, runs the detector on the whole picture and the recogniser
only on the regions it found, and returns the lines that survive the noise rules in ``keep_line``.

Boxes are four (x, y) corners normalised to the upright picture (0..1 on both axes), so a viewer
can draw them over the photo at any size. The models are the ones shipped inside the rapidocr
wheel (PP-OCR "ch" det/rec: Chinese and Latin script — English and other languages written with
the basic Latin alphabet, digits and common punctuation); nothing is downloaded.

Errors: ``read`` raises ``DecodeError`` for a file it cannot decode and ``TextReadError`` when the
OCR engine fails; both carry a short reason for the failures bookkeeping.
"""
from __future__ import annotations

import logging
import os
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np
from PIL import Image

from indexer.decode import DecodeError, read_image

__all__ = ["TextLine", "TextReadError", "TextReader", "keep_line", "DET_SIDE"]

log = logging.getLogger(__name__)

# Longest side, in pixels, of the picture handed to the detector (PP-OCR's own default size). Signs,
# receipts and screenshots stay legible at this size on camera photos, and detection cost (most of
# the pass's time) grows with the pixel count.
DET_SIDE = 736

# -- noise rules (see keep_line) --------------------------------------------------------------
MIN_SCORE = 0.6  # recogniser confidence below this is dropped outright
SHORT_SCORE = 0.85  # lines of 3 letters/digits need at least this
PAIR_SCORE = 0.95  # ... and of 2 (a "11" at 0.92 came out of a flower photo)
SINGLE_SCORE = 0.95  # a lone character needs this AND a large box (a big letter on a sign)
SINGLE_MIN_HEIGHT = 0.06  # ... box height as a fraction of the picture's shorter side
MIN_HEIGHT = 0.008  # boxes thinner than this (fraction of the shorter side) are texture, not text


class TextReadError(Exception):
    """The OCR engine failed on a photo; ``reason`` is fit for the failures list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    score: float
    box: tuple[tuple[float, float], ...]  # 4 corners, normalised to the upright picture

    def to_json(self) -> dict:
        return {"text": self.text, "score": round(self.score, 4),
                "box": [[round(x, 5), round(y, 5)] for x, y in self.box]}

    @classmethod
    def from_json(cls, data: dict) -> "TextLine":
        return cls(str(data["text"]), float(data["score"]), tuple((float(x), float(y)) for x, y in data["box"]))


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and ch.isalnum()


def _significant(text: str) -> int:
    """Letters and digits in ``text`` (a CJK ideograph counts as one)."""
    return sum(1 for ch in text if ch.isalnum())


def keep_line(text: str, score: float, box_height: float) -> bool:
    """Whether a recognised line is text worth indexing rather than noise.

    ``box_height`` is the line box's height as a fraction of the picture's shorter side. Text-free
    photos make the recogniser emit single stray characters ("A", "2", a lone ideograph) from
    texture; real text comes in longer runs or, when short, with high confidence. Rules:

    * confidence below ``MIN_SCORE``, no letter or digit at all, or a box thinner than
      ``MIN_HEIGHT``: dropped;
    * one letter/digit: kept only with confidence ≥ ``SINGLE_SCORE`` and a box at least
      ``SINGLE_MIN_HEIGHT`` tall (a large character on a sign), and never a lone CJK glyph
      (too often a false positive on foliage, brick and fabric);
    * two: confidence ≥ ``PAIR_SCORE``; three: ≥ ``SHORT_SCORE``;
    * longer: kept.
    """
    n = _significant(text)
    if score < MIN_SCORE or n == 0 or box_height < MIN_HEIGHT:
        return False
    if n == 1:
        if any(_is_cjk(ch) for ch in text):
            return False
        return score >= SINGLE_SCORE and box_height >= SINGLE_MIN_HEIGHT
    if n == 2:
        return score >= PAIR_SCORE
    if n == 3:
        return score >= SHORT_SCORE
    return True


def _quiet_rapidocr() -> None:
    """rapidocr logs every model load at INFO to its own stderr handler; library code is silent."""
    rlog = logging.getLogger("RapidOCR")
    rlog.setLevel(logging.ERROR)
    for handler in list(rlog.handlers):
        handler.setLevel(logging.ERROR)


class TextReader:
    """One OCR engine (sessions loaded on first use, kept warm). Thread-safe: reads are serialised."""

    def __init__(self, threads: int | None = None, det_side: int = DET_SIDE) -> None:
        self.threads = max(1, threads or min(2, os.cpu_count() or 1))
        self.det_side = det_side
        self._engine = None
        self._lock = threading.Lock()

    def load(self):
        """Load the models now (else on the first read). Raises TextReadError."""
        if self._engine is None:
            try:
                from rapidocr import RapidOCR

                _quiet_rapidocr()
                ort = {"EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                       "EngineConfig.onnxruntime.inter_op_num_threads": 1}
                self._engine = RapidOCR(params={
                    "Global.log_level": "error",
                    "Global.use_cls": False,  # upright text covers photos; skipping saves a model run per line
                    "Global.text_score": MIN_SCORE,
                    "Global.max_side_len": self.det_side,
                    "Global.min_side_len": 32,
                    "Det.limit_type": "max",
                    "Det.limit_side_len": self.det_side,
                    **ort,
                })
                _quiet_rapidocr()
            except Exception as exc:  # noqa: BLE001 - a broken install must not stop indexing
                raise TextReadError(f"text reader unavailable: {type(exc).__name__}: {exc}") from exc
        return self._engine

    def decode(self, path: str | os.PathLike) -> np.ndarray:
        """The upright photo as BGR uint8, longest side at most ``det_side``. Raises DecodeError."""
        side = self.det_side
        # JPEG DCT reduction down to at least ~3/4 of the target: cheap, and sharp enough to detect
        image, _meta = read_image(path, draft=(side * 3 // 4, side * 3 // 4))
        try:
            if max(image.size) > side:
                scale = side / max(image.size)
                size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
                resized = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
                image.close()
                image = resized
            return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        finally:
            image.close()

    def read(self, path: str | os.PathLike) -> list[TextLine]:
        """The text lines of one photo, top to bottom. Raises DecodeError or TextReadError."""
        return self.read_array(self.decode(path))

    def read_array(self, bgr: np.ndarray) -> list[TextLine]:
        engine = self.load()
        h, w = bgr.shape[:2]
        if h < 8 or w < 8:
            return []
        with self._lock:
            try:
                out = engine(bgr)
            except Exception as exc:  # noqa: BLE001 - the engine raises all sorts on odd inputs
                log.debug("ocr failed", exc_info=True)
                raise TextReadError(f"text reader failed: {type(exc).__name__}: {exc}") from exc
        boxes, texts, scores = getattr(out, "boxes", None), getattr(out, "txts", None), getattr(out, "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        short = float(min(h, w))
        lines = []
        for box, text, score in zip(boxes, texts, scores):
            text = unicodedata.normalize("NFKC", str(text)).strip()
            pts = np.asarray(box, dtype=np.float64).reshape(-1, 2)
            if pts.shape[0] < 4 or not text:
                continue
            height = _box_height(pts) / short
            if not keep_line(text, float(score), height):
                continue
            norm = tuple((min(max(x / w, 0.0), 1.0), min(max(y / h, 0.0), 1.0)) for x, y in pts[:4])
            lines.append(TextLine(text, float(score), norm))
        return lines


def _box_height(pts: np.ndarray) -> float:
    """The shorter side of a (possibly rotated) quadrilateral: the text's height."""
    a = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    b = np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])
    return float(min(a, b) / 2)


__all__ += ["DecodeError"]
