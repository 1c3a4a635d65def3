"""Choose the moments of a video worth embedding, decoding as little of it as possible.

A *moment* is a timestamp plus the picture shown there. ``KeyframeSampler.moments`` streams them
in time order; nothing here touches the database or the model. Opening files and turning frames
into pictures live in indexer/video_source.py, frame summaries in indexer/video_signature.py.

**Candidates.** The sampler looks at the video at a steady rate whatever its keyframes: a
*candidate* frame at least every ``SamplerConfig.probe_interval`` seconds where keyframes are
sparse, else every keyframe. Each is scaled to a tiny analysis frame (``analysis_size``) and
summarised (``Signature``); only the frames that become moments are converted at full size.

**Which candidates become moments.** Candidates are compared with the *last chosen moment* (not
with the previous candidate, so a slow pan adds up to a change). The difference is a number in
0..1 (see ``Signature.difference``). A candidate at time ``t``, ``elapsed`` seconds after the last
moment, is chosen when it shows something (``Signature.informative``: not black, not a flat grey or
white) and

1. it is the first such frame (every video has at least one moment), or
2. ``elapsed >= min_interval`` and ``difference >= scene_threshold`` (a scene change), or
3. ``elapsed >= max_interval`` and ``difference >= duplicate_threshold`` (coverage of a long shot).

A chosen candidate is confirmed by the next one: when the next one shows the same picture brighter
(a fade from black under way) it replaces it, so the moment shows the scene, not the fade. A frame
that is only a darker version of the last moment (a fade to black) is no new scene. A near-duplicate
(difference below ``duplicate_threshold``) is dropped even at the ``max_interval`` mark: the clock
keeps running, so the first later frame that differs just enough is taken at once. A tripod shot of
an empty room therefore gives one moment, a handheld shot about one per ``max_interval``, and a clip
with cuts one per cut (never two within ``min_interval``). A video with no informative frame at
all gives one moment, its least empty frame.

Why this finds every scene of 2 s or more: keyframes at most ``keyframe_gap`` (2 s) apart put one
inside every such scene; longer GOPs get a candidate every ``probe_interval`` (0.5 s), and with
``min_interval`` at 1 s a scene that follows a short one still has a candidate at least 1 s in.

**Decoding.** Where keyframes are at most ``keyframe_gap`` apart (phones write one every 1-2 s)
only keyframe packets are sent to the decoder (every other packet is read from the container and
dropped, which costs almost nothing), and keyframes closer than ``probe_interval`` to the previous
one are skipped too (all-intra video). The sampler learns a GOP is longer while reading: it keeps
the packets since the last keyframe (at most ``_PENDING_LIMIT`` bytes), and once ``keyframe_gap``
passes without a keyframe it decodes them and every packet up to the next keyframe, taking a
candidate every ``probe_interval``. The decoder skips non-reference frames (``skip_frame =
"NONREF"``: most B-frames), which no candidate needs, and runs frame threads. No frame is kept
after it has been judged (at most the one awaiting confirmation and, until the first moment, the
least empty frame), so memory does not grow with the length of the video. bench/bench_video.py
measures both cases and the alternatives (decoding every frame, OpenCV seeking).

**Damaged files.** A file with no decodable frame raises ``VideoError``. A file that breaks part
way (cut off, still being recorded, a corrupt stretch) yields the moments before and around the
damage, logs a warning and ends normally: those moments are real and worth searching.
"""
from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from av.video.reformatter import VideoReformatter
from PIL import Image

from indexer.video_signature import GRID, Signature
from indexer.video_source import (
    VIDEO_EXTENSIONS,
    Source,
    VideoError,
    VideoInfo,
    codec_name,
    probe_video,
    sample_aspect,
    to_image,
)

__all__ = [
    "VIDEO_EXTENSIONS", "VideoError", "VideoInfo", "SamplerConfig", "Moment", "Signature",
    "probe_video", "KeyframeSampler", "save_thumbnail",
]

log = logging.getLogger(__name__)

# Packets kept while waiting to learn whether a GOP is longer than keyframe_gap. 10 s of 4K phone
# video is ~60 MB; past this we stop waiting and decode the GOP.
_PENDING_LIMIT = 64 * 1024 * 1024
# A stream that ends this much before its stated duration is reported as cut short.
_SHORT_BY = 1.0
# The last moment at this fraction of a candidate's brightness or more, same picture: not a new scene.
_SAME_BRIGHTER = 0.97


@dataclass(frozen=True)
class SamplerConfig:
    """How moments are chosen; see the module docstring for the rule."""

    min_interval: float = 1.0  # never two moments closer than this (seconds)
    max_interval: float = 10.0  # a moment at least this often unless the picture is unchanged
    scene_threshold: float = 0.12  # difference that counts as a new scene
    duplicate_threshold: float = 0.02  # difference below which a frame adds nothing
    probe_interval: float = 0.5  # a candidate at least this often (seconds) where keyframes are sparse
    keyframe_gap: float = 2.0  # keyframes this close are candidates enough; longer GOPs are decoded
    thumb_size: int = 256  # long side of the UI thumbnail callers write with save_thumbnail
    analysis_size: int = 64  # frames are compared at this many pixels square (a multiple of 8)
    max_image_side: int = 1024  # Moment.image is reduced to fit this
    threads: int = 0  # decoder threads; 0: one per CPU, at most 4 (each holds frames in flight)

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval <= self.max_interval or self.max_interval <= 0:
            raise ValueError("need 0 <= min_interval <= max_interval and max_interval > 0")
        if not 0 <= self.duplicate_threshold <= self.scene_threshold <= 1:
            raise ValueError("need 0 <= duplicate_threshold <= scene_threshold <= 1")
        if not 0 < self.probe_interval <= self.keyframe_gap:
            raise ValueError("need 0 < probe_interval <= keyframe_gap")
        if self.analysis_size < GRID or self.analysis_size % GRID:
            raise ValueError(f"analysis_size must be a positive multiple of {GRID}")
        if self.max_image_side < 16 or self.thumb_size < 16 or self.threads < 0:
            raise ValueError("max_image_side and thumb_size must be >= 16, threads >= 0")

    @property
    def candidate_step(self) -> float:
        """Least time between two analysed frames (the old name of ``probe_interval``)."""
        return self.probe_interval


@dataclass
class Moment:
    timestamp: float  # seconds from the start of the video
    image: Image.Image  # RGB, upright, long side <= SamplerConfig.max_image_side
    trigger: str = "scene"  # why it was chosen: 'first' | 'scene' | 'interval'


class KeyframeSampler:
    """Streams the moments of a video (see the module docstring for which and how).

    The name is historical: it looks between keyframes too where they are sparse.
    """

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
        with Source(path, self.config.threads) as source:
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


class _Held:
    """A candidate frame kept for a moment: awaiting confirmation, or the least empty so far."""

    __slots__ = ("t", "frame", "sig", "trigger")

    def __init__(self, t: float, frame: av.VideoFrame, sig: Signature, trigger: str) -> None:
        self.t, self.frame, self.sig, self.trigger = t, frame, sig, trigger


class _Run:
    """One pass over one file: packet selection, decoding, and the moment rule."""

    def __init__(self, config: SamplerConfig, source: Source, progress: _Progress,
                 cancel: threading.Event | None, on_info: Callable[[VideoInfo], None] | None) -> None:
        self.config = config
        self.on_info = on_info
        self.source = source
        self.path = source.path
        self.stream = source.stream
        self.time_base = source.stream.time_base
        self.origin = source.origin
        self.sar = sample_aspect(source.stream)
        self.progress = progress
        self.cancel = cancel
        self.cancelled = False
        self.step = config.probe_interval
        self.last_analysed = -math.inf
        self.last_moment_t = 0.0
        self.last_moment_sig: Signature | None = None
        self.pending: _Held | None = None  # chosen, awaiting the next candidate's confirmation
        self.emptiest: _Held | None = None  # the least empty frame, while there is no moment yet
        self.last_time = 0.0  # latest packet timestamp seen, for frames without one
        self.frames = 0
        self.decode_errors = 0
        # No candidate needs a frame nothing refers to (most B-frames): skipping them roughly
        # halves the cost of decoding a long GOP. Keyframes are never skipped.
        try:
            self.stream.codec_context.skip_frame = "NONREF"
        except (AttributeError, ValueError, av.FFmpegError):  # pragma: no cover - old FFmpeg
            pass
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
        if self.pending is not None:
            yield self._choose(self.pending)
        elif self.last_moment_sig is None and self.emptiest is not None:
            yield self._choose(self.emptiest)  # nothing informative at all: the least empty frame
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
        gap = self.config.keyframe_gap
        last_sent = -math.inf
        dense = False  # decoding every (reference) frame of this GOP
        gop: list[av.Packet] = []  # packets since the last keyframe, that keyframe included
        gop_start = 0.0
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
                dense = False
                gop, gop_bytes = [packet], packet.size
                gop_start = t if t is not None else self.last_time
                if t is None or t >= last_sent + self.step:
                    yield from self._decode(packet, drain=True)
                    last_sent = t if t is not None else last_sent
            elif dense:
                yield from self._decode(packet)
            else:
                gop.append(packet)
                gop_bytes += packet.size
                if (t is not None and t >= gop_start + gap) or gop_bytes > _PENDING_LIMIT:
                    # Keyframes too sparse to be the only candidates: decode this GOP from its
                    # keyframe (again: draining reset the decoder) up to the next one.
                    dense = True
                    for held in gop:
                        yield from self._decode(held)
                    gop, gop_bytes = [], 0
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
            raise VideoError(f"cannot decode video: {codec_name(self.stream)}") from None
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
        """Judge one candidate; returns the moment it confirms (the previous candidate), if any."""
        size = self.config.analysis_size
        small = self.analysis_scaler.reformat(frame, size, size, "rgb24", interpolation="AREA")
        sig = Signature.from_rgb(small.to_ndarray())
        if self.on_info is not None:  # told once, from the first picture decoded
            self.on_info(self.source.describe(frame))
            self.on_info = None
        confirmed = None
        if self.pending is not None:
            if self.pending.sig.dimmed_version_of(sig):  # a fade in under way: wait for the picture
                held, self.pending = self.pending, None
                if self.last_moment_sig is None:
                    self._remember_emptiest(held)
            else:
                confirmed = self._choose(self.pending)
        if not sig.informative:
            if self.last_moment_sig is None and self.pending is None:
                self._remember_emptiest(_Held(t, frame, sig, "first"))
            return confirmed
        if self.last_moment_sig is None:
            trigger = "first"
        else:
            elapsed = t - self.last_moment_t
            last = self.last_moment_sig
            # The same picture darker (a fade to black) or a little brighter (the end of a fade
            # in whose last frames were chosen) is no new scene.
            if elapsed < self.config.min_interval or sig.dimmed_version_of(last) \
                    or last.dimmed_version_of(sig, below=_SAME_BRIGHTER):
                return confirmed
            change = sig.difference(last)
            if change >= self.config.scene_threshold:
                trigger = "scene"
            elif elapsed >= self.config.max_interval and change >= self.config.duplicate_threshold:
                trigger = "interval"
            else:
                return confirmed
        self.pending = _Held(t, frame, sig, trigger)
        return confirmed

    def _remember_emptiest(self, held: _Held) -> None:
        if self.emptiest is None or held.sig.content > self.emptiest.sig.content:
            self.emptiest = held

    def _choose(self, held: _Held) -> Moment:
        self.pending = None
        self.emptiest = None
        self.last_moment_t, self.last_moment_sig = held.t, held.sig
        image = to_image(held.frame, self.sar, self.config.max_image_side, self.image_scaler)
        return Moment(held.t, image, held.trigger)
