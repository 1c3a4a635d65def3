"""Tiny summaries of video frames: how much the picture changed, and whether it shows anything.

All of it works on the small analysis frame (``SamplerConfig.analysis_size`` pixels square), never
on the full picture, so judging a frame costs about as much as scaling it down.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Signature", "GRID"]

HIST_BINS = 8
GRID = 8
# Rec. 601 luma weights, as the frames were encoded with.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# "No content": a frame darker than this on average (black, a fade's first frames)...
_DARK = 0.06
# ...or one this flat (luma spread) that also has no colour to speak of (grey, white, a black
# frame with noise). A flat saturated colour is kept: it is a picture of something (a wall, a
# title card) and searchable by its colour.
_FLAT = 0.03
# Luma spread that makes any frame a picture, however dark.
_DETAILED = 0.06
_NEUTRAL = 0.12
# A fade: the same layout scaled by a brightness factor this far below 1, to within this residual.
_DIMMED_BELOW = 0.85
_DIMMED_RESIDUAL = 0.03


class Signature:
    """A tiny summary of a frame for judging how much the picture changed.

    ``layout``: mean colour of each cell of an 8x8 grid (where things are); ``palette``: soft
    8-bin histogram per channel (what colours there are, tolerant of motion). Soft binning spreads
    each value over the two nearest bins, so noise on a flat colour that sits on a bin edge does
    not flip the histogram. ``brightness``, ``detail`` and ``colour`` (mean luma, luma standard
    deviation, mean saturation as max-min of the channels; all 0..1) say whether the frame shows
    anything at all; see ``informative``.
    """

    __slots__ = ("layout", "palette", "brightness", "detail", "colour")

    def __init__(self, layout: np.ndarray, palette: np.ndarray, brightness: float = 0.5,
                 detail: float = 0.0, colour: float = 0.0) -> None:
        self.layout = layout
        self.palette = palette
        self.brightness = brightness
        self.detail = detail
        self.colour = colour

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> Signature:
        """From an HxWx3 uint8 array whose sides are multiples of 8."""
        h, w = rgb.shape[:2]
        pixels = rgb.astype(np.float32) * (1 / 255)
        layout = pixels.reshape(GRID, h // GRID, GRID, w // GRID, 3).mean(axis=(1, 3))
        flat = pixels.reshape(-1, 3)
        pos = flat * (HIST_BINS - 1)
        low = np.floor(pos)
        upper = pos - low
        low = low.astype(np.intp)
        high = np.minimum(low + 1, HIST_BINS - 1)
        offsets = np.arange(3) * HIST_BINS
        hist = np.bincount((low + offsets).ravel(), (1 - upper).ravel(), minlength=3 * HIST_BINS)
        hist += np.bincount((high + offsets).ravel(), upper.ravel(), minlength=3 * HIST_BINS)
        luma = flat @ _LUMA
        colour = float((flat.max(axis=1) - flat.min(axis=1)).mean())
        return cls(layout, (hist / (h * w)).astype(np.float32), float(luma.mean()), float(luma.std()), colour)

    def difference(self, other: Signature) -> float:
        """0 for the same picture, 1 for opposite colours everywhere."""
        layout = float(np.abs(self.layout - other.layout).mean())
        palette = float(np.abs(self.palette - other.palette).sum()) / 6  # 3 distributions, TV distance
        return 0.5 * (layout + palette)

    @property
    def informative(self) -> bool:
        """False for frames that show nothing: black or nearly, or flat grey/white.

        A dark frame with marked detail (fireworks, a title on black, a night street) counts.
        """
        if self.detail >= _DETAILED:
            return True
        if self.brightness < _DARK:
            return False
        return self.detail >= _FLAT or self.colour >= _NEUTRAL

    @property
    def content(self) -> float:
        """How much there is to see, to pick the least empty frame of a video that has no better."""
        return self.detail + 0.5 * self.colour + 0.1 * self.brightness

    def dimmed_version_of(self, other: Signature, below: float = _DIMMED_BELOW) -> bool:
        """Is this ``other``'s picture, only darker by a factor under ``below`` (a frame in a fade
        from or to black, or an exposure change)?"""
        mine, theirs = self.layout.ravel(), other.layout.ravel()
        energy = float(theirs @ theirs)
        if energy < 1e-4:
            return False
        factor = float(mine @ theirs) / energy
        if not 0.0 < factor < below:
            return False
        return float(np.abs(mine - factor * theirs).mean()) < _DIMMED_RESIDUAL
