"""Opening a video file: the stream to read, what the container says about it, and frames as pictures.

Shared by ``probe_video`` and the moment sampler (indexer/video.py).

**Orientation and shape.** Pictures are upright (the display matrix FFmpeg attaches to each decoded
frame is applied; mirroring is not) and anamorphic pixels are made square. ``VideoInfo.rotation`` is
the clockwise rotation applied, as the old ``rotate`` tag and phones state it (a portrait phone
clip says 90).

**Damaged files.** A file that cannot be opened raises ``VideoError``; ``Source`` measures the real
duration of a file cut short (see ``_duration``) so the sampler can say so. An mp4 whose index was
never written (recording interrupted before the end) cannot be read at all and raises.
"""
from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import av
from av.video.reformatter import VideoReformatter
from PIL import Image

__all__ = ["VIDEO_EXTENSIONS", "VideoError", "VideoInfo", "Source", "probe_video", "sample_aspect",
           "to_image", "codec_name"]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts"}
)

# Packets read while looking for the first frame or for the real end of the stream.
_PROBE_PACKETS = 600
_END_PACKETS = 3000
# FFmpeg demuxers that turn a still image into a one-frame "video".
_IMAGE_FORMATS = ("image2", "_pipe")


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


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read what the indexer needs to know about a video; decodes only its first frame.

    Raises ``VideoError`` for anything that is not a decodable video, and ``OSError`` (as
    ``FileNotFoundError``, ``PermissionError``...) when the file cannot be read at all.
    """
    with Source(path, first_frame=True) as source:
        return source.describe(source.first)


class Source:
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
        width, height = _display_size(frame.width, frame.height, sample_aspect(stream))
        rotation = _clockwise(frame)
        if rotation in (90, 270):
            width, height = height, width
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            duration=self.duration, width=width, height=height, rotation=rotation,
            fps=float(rate) if rate else None, codec=codec_name(stream),
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

    def __enter__(self) -> Source:
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
        raise VideoError(f"cannot decode video: {codec_name(stream)}")
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads or min(4, os.cpu_count() or 1)
    return stream


def _pixel_count(stream) -> int:
    context = stream.codec_context
    return (context.width or 0) * (context.height or 0) if context is not None else 0


def codec_name(stream) -> str:
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
                raise VideoError(f"cannot decode video: {codec_name(stream)}") from None
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


def sample_aspect(stream) -> Fraction | None:
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


def to_image(frame: av.VideoFrame, sar: Fraction | None, max_side: int,
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
