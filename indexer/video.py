"""Choose the moments of a video worth embedding, decoding as little of it as possible.

A *moment* is a timestamp plus the picture shown there. ``KeyframeSampler.moments`` streams them
in time order; nothing here touches the database or the model.

**Which frames become moments.** Candidate frames are compared with the *last chosen moment* (not
with the previous candidate, so a slow pan adds up to a change). The difference is a number in
0..1: the mean of the colour change over an 8x8 grid of regions (layout) and the distance between
soft colour histograms (palette); see ``Signature``. A candidate at time ``t``, ``elapsed`` seconds
after the last moment, is chosen when

1. it is the first decodable frame (every video has at least one moment), or
2. ``elapsed >= min_interval`` and ``difference >= scene_threshold`` (a scene change), or
3. ``elapsed >= max_interval`` and ``difference >= duplicate_threshold`` (coverage of a long shot).

A near-duplicate (difference below ``duplicate_threshold``) is dropped even at the ``max_interval``
mark: the clock keeps running, so the first later frame that differs just enough is taken at once.
A tripod shot of an empty room therefore gives one moment, a handheld shot about one per
``max_interval``, and a clip with cuts one per cut (never two within ``min_interval``).

**Decoding.** Candidates are keyframes: only their packets are sent to the decoder (every other
packet is read from the container and dropped, which costs almost nothing), and keyframes closer
than ``SamplerConfig.candidate_step`` to the previous one are skipped too (all-intra video). Phones
write a keyframe every 1-2 s and most encoders add one at a cut, so a change is seen within one GOP.
(A cut that falls inside a long GOP is seen at the next keyframe; a shot shorter than the GOP that
has no keyframe of its own can be missed.) When keyframes are sparser than ``max_interval`` the
sampler notices the gap while reading: it keeps the packets since the last keyframe (at most
``_PENDING_LIMIT`` bytes), and when ``max_interval`` passes without a candidate it decodes them
and every packet up to the next keyframe, taking a candidate every ``candidate_step`` seconds.
No frame is kept after it has been looked at, so memory does not grow with the length of the
video. bench/bench_video.py compares the options: this runs as fast as FFmpeg's
``skip_frame = "NONKEY"`` (which decodes the same frames but cannot switch to decoding a whole GOP
mid-stream) and an order of magnitude faster than decoding every frame or OpenCV's
``CAP_PROP_POS_MSEC`` seeking (which decodes from the previous keyframe up to each target).

**Orientation and shape.** Moments are upright (the display matrix FFmpeg attaches to each decoded
frame is applied; mirroring is not) and anamorphic pixels are made square. ``VideoInfo.rotation`` is
the clockwise rotation applied, as the old ``rotate`` tag and phones state it (a portrait phone
clip says 90).

**Damaged files.** A file with no decodable frame raises ``VideoError``. A file that breaks part
way (cut off, still being recorded, a corrupt stretch) yields the moments before and around the
damage, logs a warning and ends normally: those moments are real and worth searching. An mp4 whose
index was never written (recording interrupted before the end) cannot be read at all and raises.
"""
from __future__ import annotations

import logging
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image

__all__ = [
    "VIDEO_EXTENSIONS", "VideoError", "VideoInfo", "SamplerConfig", "Moment", "Signature",
    "probe_video", "KeyframeSampler", "save_thumbnail",
]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts"}
)

# Packets kept while waiting to learn whether a GOP is longer than max_interval. 10 s of 4K phone
# video is ~60 MB; past this we stop waiting and decode the GOP.
_PENDING_LIMIT = 64 * 1024 * 1024
# Packets read while looking for the first frame or for the real end of the stream.
_PROBE_PACKETS = 600
_END_PACKETS = 3000
# FFmpeg demuxers that turn a still image into a one-frame "video".
_IMAGE_FORMATS = ("image2", "_pipe")
# A stream that ends this much before its stated duration is reported as cut short.
_SHORT_BY = 1.0
_HIST_BINS = 8
_GRID = 8


class VideoError(Exception):
    """A file that cannot be indexed as a video; ``reason`` is short and meant for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds, measured from the stream where the container states it wrongly
    width: int  # display size: square pixels, rotation applied
    height: int
    rotation: int  # clockwise degrees applied for display: 0, 90, 180 or 270
    fps: float | None  # average frame rate; None when the container does not say
    codec: str
    taken_at: datetime | None  # naive local time, like EXIF DateTimeOriginal


@dataclass(frozen=True)
class SamplerConfig:
    """How moments are chosen; see the module docstring for the rule."""

    min_interval: float = 2.0  # never two moments closer than this (seconds)
    max_interval: float = 10.0  # a moment at least this often unless the picture is unchanged
    scene_threshold: float = 0.12  # difference that counts as a new scene
    duplicate_threshold: float = 0.02  # difference below which a frame adds nothing
    thumb_size: int = 256  # long side of the UI thumbnail callers write with save_thumbnail
    analysis_size: int = 64  # frames are compared at this many pixels square (a multiple of 8)
    max_image_side: int = 1024  # Moment.image is reduced to fit this
    threads: int = 0  # decoder threads; 0: one per CPU, at most 4 (each holds frames in flight)

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval <= self.max_interval or self.max_interval <= 0:
            raise ValueError("need 0 <= min_interval <= max_interval and max_interval > 0")
        if not 0 <= self.duplicate_threshold <= self.scene_threshold <= 1:
            raise ValueError("need 0 <= duplicate_threshold <= scene_threshold <= 1")
        if self.analysis_size < _GRID or self.analysis_size % _GRID:
            raise ValueError(f"analysis_size must be a positive multiple of {_GRID}")
        if self.max_image_side < 16 or self.thumb_size < 16 or self.threads < 0:
            raise ValueError("max_image_side and thumb_size must be >= 16, threads >= 0")

    @property
    def candidate_step(self) -> float:
        """Least time between two analysed frames: fine enough to place a cut within ±0.5 s."""
        return min(max(self.min_interval / 4, 0.1), 1.0)


@dataclass
class Moment:
    timestamp: float  # seconds from the start of the video
    image: Image.Image  # RGB, upright, long side <= SamplerConfig.max_image_side
    trigger: str = "scene"  # why it was chosen: 'first' | 'scene' | 'interval'


class Signature:
    """A tiny summary of a frame for judging how much the picture changed.

    ``layout``: mean colour of each cell of an 8x8 grid (where things are); ``palette``: soft
    8-bin histogram per channel (what colours there are, tolerant of motion). Soft binning spreads
    each value over the two nearest bins, so noise on a flat colour that sits on a bin edge does
    not flip the histogram.
    """

    __slots__ = ("layout", "palette")

    def __init__(self, layout: np.ndarray, palette: np.ndarray) -> None:
        self.layout = layout
        self.palette = palette

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> Signature:
        """From an HxWx3 uint8 array whose sides are multiples of 8."""
        h, w = rgb.shape[:2]
        pixels = rgb.astype(np.float32) * (1 / 255)
        layout = pixels.reshape(_GRID, h // _GRID, _GRID, w // _GRID, 3).mean(axis=(1, 3))
        pos = pixels.reshape(-1, 3) * (_HIST_BINS - 1)
        low = np.floor(pos)
        upper = pos - low
        low = low.astype(np.intp)
        high = np.minimum(low + 1, _HIST_BINS - 1)
        offsets = np.arange(3) * _HIST_BINS
        hist = np.bincount((low + offsets).ravel(), (1 - upper).ravel(), minlength=3 * _HIST_BINS)
        hist += np.bincount((high + offsets).ravel(), upper.ravel(), minlength=3 * _HIST_BINS)
        return cls(layout, (hist / (h * w)).astype(np.float32))

    def difference(self, other: Signature) -> float:
        """0 for the same picture, 1 for opposite colours everywhere."""
        layout = float(np.abs(self.layout - other.layout).mean())
        palette = float(np.abs(self.palette - other.palette).sum()) / 6  # 3 distributions, TV distance
        return 0.5 * (layout + palette)


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read what the indexer needs to know about a video; decodes only its first frame.

    Raises ``VideoError`` for anything that is not a decodable video, and ``OSError`` (as
    ``FileNotFoundError``, ``PermissionError``...) when the file cannot be read at all.
    """
    with _Source(path, first_frame=True) as source:
        return source.describe(source.first)


class KeyframeSampler:
    """Streams the moments of a video (see the module docstring for which and how)."""

    def __init__(self, config: SamplerConfig = SamplerConfig()) -> None:
        self.config = config

    def moments(
        self,
        path: str | os.PathLike[str],
        on_progress: Callable[[float, float], None] | None = None,
        cancel: threading.Event | None = None,
        on_info: Callable[[VideoInfo], None] | None = None,
    ) -> Iterator[Moment]:
        """Yield moments in time order.

        ``on_progress(seconds_done, duration)`` is called as reading advances and once more at the
        end with ``seconds_done == duration``. When ``cancel`` is set the iteration stops at the
        next packet, without an error and without the final progress call. ``on_info`` receives
        what ``probe_video`` would return, before the first moment, so a caller that needs both
        opens the file once. Raises ``VideoError`` before the first moment for a file that cannot
        be decoded at all.
        """
        with _Source(path, self.config.threads) as source:
            source.rewind()
            progress = _Progress(on_progress, source.duration)
            run = _Run(self.config, source, progress, cancel, on_info)
            yield from run.moments()
        if not run.cancelled:
            progress.finish()


def save_thumbnail(image: Image.Image, path: str | os.PathLike[str], size: int = 256) -> None:
    """Write a small JPEG (long side ``size``) for the UI cache; atomic, so readers never see half."""
    thumb = image if image.mode == "RGB" else image.convert("RGB")
    thumb = thumb.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        thumb.save(partial, "JPEG", quality=85)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------

class _Progress:
    """Calls back at most about a hundred times per file and at most once per second of video."""

    def __init__(self, callback: Callable[[float, float], None] | None, duration: float) -> None:
        self.callback = callback
        self.total = max(duration, 0.0)
        self.done = 0.0
        self.every = max(1.0, self.total / 100)

    def update(self, seconds: float) -> None:
        if self.callback is None or seconds < self.done + self.every:
            return
        self.done = seconds
        self.total = max(self.total, seconds)
        self.callback(seconds, self.total)

    def finish(self) -> None:
        if self.callback is not None:
            self.total = max(self.total, self.done)
            self.callback(self.total, self.total)


class _Run:
    """One pass over one file: packet selection, decoding, and the moment rule."""

    def __init__(self, config: SamplerConfig, source: _Source, progress: _Progress,
                 cancel: threading.Event | None, on_info: Callable[[VideoInfo], None] | None) -> None:
        self.config = config
        self.on_info = on_info
        self.source = source
        self.path = source.path
        self.stream = source.stream
        self.time_base = source.stream.time_base
        self.origin = source.origin
        self.sar = _sample_aspect(source.stream)
        self.progress = progress
        self.cancel = cancel
        self.cancelled = False
        self.step = config.candidate_step
        self.last_analysed = -math.inf
        self.last_moment_t = 0.0
        self.last_moment_sig: Signature | None = None
        self.last_time = 0.0  # latest packet timestamp seen, for frames without one
        self.frames = 0
        self.decode_errors = 0
        # Kept for the whole file: a reformatter reuses its scaler while the sizes stay the same,
        # and setting one up (filter taps for a 1080p -> 64 px area filter) costs more than using it.
        self.analysis_scaler = VideoReformatter()
        self.image_scaler = VideoReformatter()

    def moments(self) -> Iterator[Moment]:
        broke_off = yield from self._read(self.source.container, self.stream)
        if self.cancelled:
            return
        if self.frames == 0:
            raise VideoError("truncated or corrupt video")
        stated = self.source.stated
        short = stated is not None and stated - self.last_time > _SHORT_BY + 0.05 * stated
        if broke_off or self.decode_errors or short:
            log.warning("%s: damaged or cut short (read to %.1f s; the file states %s; %d bad packets); "
                        "kept the moments found", self.path, self.last_time,
                        "no duration" if stated is None else f"{stated:.1f} s", self.decode_errors)

    def _read(self, container, stream) -> Iterator[Moment]:
        """Feed the decoder the packets worth decoding; returns True when reading broke off.

        A keyframe on its own is decoded and drained at once: decoders given keyframes with gaps
        between them do not always return pictures in order (HEVC after an open-GOP CRA can
        hold the previous one back to the end of the file), and draining costs nothing measurable.
        """
        max_interval = self.config.max_interval
        last_sent = -math.inf
        in_gap = False
        gop: list[av.Packet] = []  # packets since the last keyframe, that keyframe included
        gop_bytes = 0
        packets = container.demux(stream)
        while True:
            if self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
                return False
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as exc:
                log.info("%s: reading stopped: %s", self.path, exc)
                yield from self._decode(None)
                return True
            if packet.size == 0:  # PyAV's end-of-stream marker
                continue
            if packet.is_corrupt:  # e.g. the partial last packet of a cut-off file
                self.decode_errors += 1
                continue
            t = self._packet_time(packet)
            if t is not None:
                self.last_time = max(self.last_time, t)
                self.progress.update(t)
            if packet.is_keyframe:
                in_gap = False
                gop, gop_bytes = [packet], packet.size
                if t is None or t >= last_sent + self.step:
                    yield from self._decode(packet, drain=True)
                    last_sent = t if t is not None else last_sent
            elif in_gap:
                yield from self._decode(packet)
                last_sent = t if t is not None else last_sent
            else:
                gop.append(packet)
                gop_bytes += packet.size
                if (t is not None and t >= last_sent + max_interval) or gop_bytes > _PENDING_LIMIT:
                    # No candidate for max_interval and no keyframe in sight: decode this GOP
                    # from its keyframe (again: draining reset the decoder) up to the next one.
                    in_gap = True
                    for held in gop:
                        yield from self._decode(held)
                    gop, gop_bytes = [], 0
                    last_sent = t if t is not None else last_sent
        yield from self._decode(None)
        return False

    def _packet_time(self, packet: av.Packet) -> float | None:
        stamp = packet.pts if packet.pts is not None else packet.dts
        return None if stamp is None else max(0.0, float(stamp * self.time_base) - self.origin)

    def _decode(self, packet: av.Packet | None, drain: bool = False) -> Iterator[Moment]:
        """Decode one packet (None: drain) and judge the pictures that come out.

        ``drain`` empties the decoder after the packet and resets it for the next one.
        """
        frames: list[av.VideoFrame] = []
        try:
            frames += self.stream.decode(packet)
            if drain:
                frames += self.stream.decode(None)
        except av.EOFError:
            pass
        except av.DecoderNotFoundError:
            raise VideoError(f"cannot decode video: {_codec_name(self.stream)}") from None
        except av.FFmpegError as exc:  # one bad packet; the decoder recovers at the next keyframe
            self.decode_errors += 1
            log.debug("%s: undecodable packet: %s", self.path, exc)
        finally:
            if drain:  # never leave it in the drained state, where it refuses every packet
                self.stream.codec_context.flush_buffers()
        for frame in frames:
            self.frames += 1
            stamp = frame.pts if frame.pts is not None else frame.dts
            t = self.last_time if stamp is None else max(0.0, float(stamp * self.time_base) - self.origin)
            # Frames must move forward: this also drops the leading pictures of an open GOP,
            # which reference a GOP we never decoded.
            if t < self.last_analysed + self.step:
                continue
            self.last_analysed = t
            moment = self._consider(t, frame)
            if moment is not None:
                yield moment

    def _consider(self, t: float, frame: av.VideoFrame) -> Moment | None:
        size = self.config.analysis_size
        small = self.analysis_scaler.reformat(frame, size, size, "rgb24", interpolation="AREA")
        sig = Signature.from_rgb(small.to_ndarray())
        if self.last_moment_sig is None:
            trigger = "first"
            if self.on_info is not None:
                self.on_info(self.source.describe(frame))
        else:
            elapsed = t - self.last_moment_t
            if elapsed < self.config.min_interval:
                return None
            change = sig.difference(self.last_moment_sig)
            if change >= self.config.scene_threshold:
                trigger = "scene"
            elif elapsed >= self.config.max_interval and change >= self.config.duplicate_threshold:
                trigger = "interval"
            else:
                return None
        self.last_moment_t, self.last_moment_sig = t, sig
        return Moment(t, _to_image(frame, self.sar, self.config.max_image_side, self.image_scaler), trigger)


class _Source:
    """An open video: the chosen stream and what the container says about it.

    ``probe_video`` and the sampler share it; the sampler learns rotation and size from its own
    first frame instead of decoding one more (opening already costs a frame: FFmpeg's stream
    analysis decodes one).
    """

    def __init__(self, path: str | os.PathLike[str], threads: int = 0, first_frame: bool = False) -> None:
        self.path = os.fspath(path)
        self.threads = threads
        self.container = _open(self.path)
        try:
            self.stream = _video_stream(self.container, threads)
            # Seeking back to the start is exact only with an index (mp4 sample table, Matroska
            # cues, AVI idx1); MPEG-TS seeks by bisecting timestamps and can land a GOP late.
            self.seekable = len(self.stream.index_entries) > 0
            # Decoded before the duration is measured, which may read from the end of the file.
            self.first = _first_frame(self.container, self.stream) if first_frame else None
            self.origin = _origin(self.container, self.stream)
            self.stated, self.duration, self.moved = _duration(
                self.container, self.stream, self.origin, os.path.getsize(self.path))
        except BaseException:
            self.container.close()
            raise

    def describe(self, frame: av.VideoFrame) -> VideoInfo:
        stream = self.stream
        width, height = _display_size(frame.width, frame.height, _sample_aspect(stream))
        rotation = _clockwise(frame)
        if rotation in (90, 270):
            width, height = height, width
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            duration=self.duration, width=width, height=height, rotation=rotation,
            fps=float(rate) if rate else None, codec=_codec_name(stream),
            taken_at=_taken_at(self.container, stream),
        )

    def rewind(self) -> None:
        """Back to the first packet if measuring the duration read ahead (seek, else reopen)."""
        if not self.moved:
            return
        self.moved = False
        if self.seekable:
            start = self.stream.start_time if self.stream.start_time is not None else 0
            try:
                self.container.seek(start, stream=self.stream, backward=True, any_frame=False)
                return
            except av.FFmpegError:
                log.debug("%s: cannot seek to the start; reopening", self.path)
        self.container.close()
        self.container = _open(self.path)
        self.stream = _video_stream(self.container, self.threads)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Container helpers
# ---------------------------------------------------------------------------------------------

def _open(path: str | os.PathLike[str]):
    path = os.fspath(path)
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise VideoError("not a regular file")
    if info.st_size == 0:
        raise VideoError("empty file")
    try:
        container = av.open(path, metadata_errors="replace")
    except OSError:
        raise
    except av.FFmpegError:
        if _looks_like_video_container(path):
            raise VideoError("truncated or corrupt video") from None
        raise VideoError("not a video (unrecognised format)") from None
    name = container.format.name
    if name == _IMAGE_FORMATS[0] or name.endswith(_IMAGE_FORMATS[1]):
        container.close()
        raise VideoError("not a video (a still image)")
    return container


def _looks_like_video_container(path: str) -> bool:
    """Magic numbers of the containers we index, to tell a damaged video from some other file."""
    with open(path, "rb") as f:
        head = f.read(200)
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
        or head[:4] == b"\x1aE\xdf\xa3"  # Matroska / WebM
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
        or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47)  # MPEG-TS
        or (len(head) > 196 and head[4] == 0x47 and head[196] == 0x47)  # M2TS (.mts)
    )


def _video_stream(container, threads: int = 0):
    """The main picture stream: not cover art (an attached picture), the largest if several.

    Decoding uses frame threads as well as slice threads: phone encoders write one slice per
    frame, so only frame threads put a second core to work when a whole GOP is decoded. (Lone
    keyframes are decoded one at a time whatever the setting; see ``_Run._read``.)
    """
    candidates = [s for s in container.streams.video
                  if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not candidates:
        if container.streams.audio:
            raise VideoError("no video stream (audio only)")
        raise VideoError("no video stream")
    stream = max(candidates, key=_pixel_count)
    if stream.codec_context is None or stream.codec_context.codec is None:
        raise VideoError(f"cannot decode video: {_codec_name(stream)}")
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads or min(4, os.cpu_count() or 1)
    return stream


def _pixel_count(stream) -> int:
    context = stream.codec_context
    return (context.width or 0) * (context.height or 0) if context is not None else 0


def _codec_name(stream) -> str:
    try:
        return stream.codec_context.name
    except Exception:  # noqa: BLE001 - no decoder, so no name from it
        return "unknown codec"


def _first_frame(container, stream) -> av.VideoFrame:
    """The first picture, decoded from the first keyframe alone.

    The decoder is drained right after the keyframe instead of being fed more packets until frame
    threading hands a picture back, which would decode several frames for one.
    """
    seen_key = False
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= _PROBE_PACKETS:
                break
            if packet.size and not packet.is_keyframe and not seen_key and count < _PROBE_PACKETS // 2:
                continue  # nothing decodes before a keyframe (unless the container flags none)
            seen_key = seen_key or packet.is_keyframe
            try:
                frames = stream.decode(packet if packet.size else None)
                if not frames and packet.is_keyframe:
                    frames = stream.decode(None)
                    stream.codec_context.flush_buffers()
            except av.DecoderNotFoundError:
                raise VideoError(f"cannot decode video: {_codec_name(stream)}") from None
            except av.FFmpegError:
                stream.codec_context.flush_buffers()
                continue
            if frames:
                return frames[0]
    except av.FFmpegError:
        pass
    raise VideoError("truncated or corrupt video")


def _origin(container, stream) -> float:
    """The time players show as 0 (MPEG-TS clocks, for one, do not start at zero)."""
    if container.start_time is not None:
        return container.start_time / av.time_base
    if stream.start_time is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _duration(container, stream, origin: float, file_size: int) -> tuple[float | None, float, bool]:
    """(stated, real, read_ahead): seconds from the origin to the end of the video stream, as the
    container states it and as it really is in the file, and whether packets were read to find out.

    Containers can state a wrong duration (a patched or unfinished header, a recording cut off).
    For mp4/mov FFmpeg derives it from the sample table, which is right unless the data is cut
    short, so we look for the last sample that lies wholly inside the file. Elsewhere we seek to
    the stated end and read timestamps up to the real end of the file.
    """
    stated = None
    if stream.duration is not None:
        start = stream.start_time * stream.time_base if stream.start_time is not None else origin
        stated = float(start + stream.duration * stream.time_base) - origin
    elif container.duration is not None:
        start = container.start_time / av.time_base if container.start_time is not None else origin
        stated = start + container.duration / av.time_base - origin
    frame_time = 1 / float(stream.average_rate) if stream.average_rate else 0.0
    if "mp4" in container.format.name and len(stream.index_entries):
        cut = _end_of_cut_index(stream, file_size)
        if cut is None and stated is not None:
            return stated, max(0.0, stated), False
        if cut is not None:
            return stated, max(0.0, cut - origin + frame_time), False
    end = _end_by_reading(container, stream, origin, stated)
    if end is None:
        return stated, max(0.0, stated or 0.0), True
    return stated, max(0.0, end - origin + frame_time), True


def _end_of_cut_index(stream, file_size: int) -> float | None:
    """For an mp4/mov whose data stops early: the time of the last sample wholly inside the file.

    None when every sample is there. (A decode time, up to a frame or two before the matching
    display time when there are B-frames.)
    """
    entries = stream.index_entries
    count = len(entries)
    last = entries[count - 1]
    if last.pos + last.size <= file_size:
        return None
    # Samples of one track are stored in file order: binary search for the last that fits.
    lo, hi = -1, count - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        entry = entries[mid]
        if entry.pos + entry.size <= file_size:
            lo = mid
        else:
            hi = mid - 1
    return float(entries[lo].timestamp * stream.time_base) if lo >= 0 else 0.0


def _end_by_reading(container, stream, origin: float, stated: float | None) -> float | None:
    """Seek near the stated end and read packet timestamps to the end of the file.

    Returns the last timestamp in stream seconds (not relative to the origin), or None.
    """
    target = origin + (stated if stated and stated > 0 else 1e9)
    try:
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.FFmpegError:
        return None
    end = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= _END_PACKETS:  # a very long GOP: what we saw is only a lower bound
                return end if end is not None and (stated is None or end - origin >= stated) else None
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is not None:
                t = float(stamp * stream.time_base)
                end = t if end is None else max(end, t)
    except av.FFmpegError:
        pass
    return end


def _sample_aspect(stream) -> Fraction | None:
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return sar if sar and sar > 0 and sar != 1 else None


def _display_size(width: int, height: int, sar: Fraction | None) -> tuple[int, int]:
    if sar is None:
        return width, height
    return max(1, round(width * sar)), height


def _clockwise(frame: av.VideoFrame) -> int:
    """Clockwise degrees to show the frame upright, snapped to a quarter turn.

    PyAV reports the display matrix as a counter-clockwise angle in [-180, 180].
    """
    try:
        ccw = frame.rotation
    except Exception:  # noqa: BLE001 - malformed side data means no rotation
        return 0
    return (-round(ccw / 90) * 90) % 360 if ccw else 0


_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def _to_image(frame: av.VideoFrame, sar: Fraction | None, max_side: int,
              scaler: VideoReformatter) -> Image.Image:
    width, height = _display_size(frame.width, frame.height, sar)
    scale = min(1.0, max_side / max(width, height))
    width, height = max(2, round(width * scale)), max(2, round(height * scale))
    image = scaler.reformat(frame, width, height, "rgb24", interpolation="AREA").to_image()
    turn = _clockwise(frame)
    return image.transpose(_TRANSPOSE[turn]) if turn else image


def _taken_at(container, stream) -> datetime | None:
    """When it was filmed, as naive local time (what EXIF gives for photos).

    Apple's ``com.apple.quicktime.creationdate`` carries the local time and its offset; the
    generic ``creation_time`` is UTC, so it is shown in this computer's time zone.
    """
    tags = {k.lower(): v for k, v in container.metadata.items()}
    apple = _parse_time(tags.get("com.apple.quicktime.creationdate"))
    if apple is not None:
        return apple.replace(tzinfo=None)
    for source in (tags, {k.lower(): v for k, v in stream.metadata.items()}):
        moment = _parse_time(source.get("creation_time"))
        if moment is not None:
            if moment.tzinfo is None:
                return moment
            return moment.astimezone().replace(tzinfo=None)
    return None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    # 1904/1970 are what an unset mp4 date decodes to.
    return moment if 1980 <= moment.year <= 2200 else None
