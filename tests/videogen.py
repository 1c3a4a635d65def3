"""Generate test videos with known content at test time (PyAV + the libx264 it ships).

Frames are described as ``(timestamp_seconds, rgb_array)`` pairs so a test can say exactly what is
on screen when; helpers build the usual shapes of input (scene sequences, rotated, variable frame
rate) and the usual kinds of damage (truncated, still being written, lying duration, audio only).
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.media import scene

# Colours of the flat test scenes, as RGB.
COLOURS = {
    "red": (220, 30, 0),
    "blue": (0, 60, 230),
    "green": (20, 200, 40),
    "grey": (128, 128, 128),
    "white": (250, 250, 250),
    "black": (5, 5, 5),
}


def photo_like(size: tuple[int, int], seed: int = 0, shift: float = 0.0) -> np.ndarray:
    """A smooth, textured picture (sky gradient, hills, blobs, fine noise) rather than a flat colour.

    ``shift`` pans it horizontally by that fraction of the width, for motion.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx = (xx + shift * w) % w
    img = np.zeros((h, w, 3), np.float32)
    sky = yy / h
    img[..., 0] = 90 + 100 * sky
    img[..., 1] = 150 + 60 * sky
    img[..., 2] = 235 - 80 * sky
    horizon = h * (0.55 + 0.1 * np.sin(xx / w * 2 * np.pi * 2 + seed))
    ground = yy > horizon
    img[ground] = np.stack([60 + 40 * np.sin(xx / 9), 140 + 30 * np.cos(yy / 7), 50 + 0 * xx], -1)[ground]
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.15) * w
        colour = rng.uniform(0, 255, 3)
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
        img[blob] = colour
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def flat(colour: str | tuple[int, int, int], size: tuple[int, int]) -> np.ndarray:
    w, h = size
    rgb = COLOURS[colour] if isinstance(colour, str) else colour
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def scene_array(kind: str, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A flat colour from COLOURS, 'photo' (see photo_like), 'bars' (vertical colour bars),
    'rings' (concentric yellow/purple rings) or any kind tests.media.scene knows."""
    if kind in COLOURS:
        return flat(kind, size)
    if kind == "photo":
        return photo_like(size, seed)
    w, h = size
    if kind == "bars":
        palette = np.array([(250, 250, 0), (0, 250, 250), (0, 200, 0), (250, 0, 250), (200, 0, 0), (0, 0, 200)],
                           np.uint8)
        return np.broadcast_to(palette[np.arange(w) * len(palette) // w][None], (h, w, 3)).copy()
    if kind == "rings":
        yy, xx = np.mgrid[0:h, 0:w]
        ring = (np.hypot(xx - w / 2, yy - h / 2) // 12 % 2).astype(bool)
        out = np.empty((h, w, 3), np.uint8)
        out[ring], out[~ring] = (240, 220, 30), (90, 20, 140)
        return out
    return np.asarray(scene(kind, size, seed))


# Ten scenes that differ a lot from each other (and from black), for scene-recall tests.
DISTINCT_SCENES = ["checker", "red", "stripes", "bars", "photo", "blue", "rings", "gradient", "green", "noise"]


def segments(parts: Sequence[tuple[str, float]], size: tuple[int, int] = (320, 240), fps: float = 25,
             marker: bool = False, fade: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    """Frames for consecutive scenes, e.g. ``[("red", 4), ("blue", 4), ("photo", 4)]``.

    With ``marker`` a white square sits in the top-left corner of every frame (to check rotation).
    With ``fade`` every scene fades in from black over its first ``fade`` seconds.
    """
    t0 = 0.0
    for index, (kind, seconds) in enumerate(parts):
        base = scene_array(kind, size, seed=index)
        if marker:
            w, h = size
            base[: h // 5, : w // 5] = 255
        count = int(round(seconds * fps))
        fading = int(round(fade * fps))
        for i in range(count):
            if i < fading:
                yield t0 + i / fps, (base.astype(np.float32) * (i / fading)).astype(np.uint8)
            else:
                yield t0 + i / fps, base
        t0 += count / fps


def write_video(path: Path, frames: Iterable[tuple[float, np.ndarray]], *, fps: float = 25,
                codec: str = "libx264", keyint: int | None = None, rotation: float | None = None,
                creation_time: datetime | str | None = None, faststart: bool = False,
                pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
                audio: bool = False, sample_aspect: Fraction | None = None,
                muxer_options: dict[str, str] | None = None, format: str | None = None) -> Path:
    """Encode frames to ``path`` (container from the extension) with exact per-frame timestamps.

    ``rotation`` is counter-clockwise degrees in the display matrix, as PyAV's
    ``set_display_rotation`` takes it (a portrait phone clip reads back as -90).
    ``sample_aspect`` makes pixels non-square (e.g. 4/3 for 1440x1080 HDV/AVCHD).
    ``format`` names the muxer when the extension does not (``"mpegts"`` for .mts).
    ``muxer_options`` go to the container, e.g. ``{"flush_packets": "1"}`` to write each packet to
    disk at once, as a camera app does (otherwise hundreds of KB wait in the output buffer).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = iter(frames)
    first = next(frames)
    h, w = first[1].shape[:2]
    time_base = Fraction(1, 1000)
    muxer = dict(muxer_options or {})
    if faststart:
        muxer["movflags"] = "+faststart"
    container = av.open(str(path), "w", format=format, options=muxer)
    try:
        if creation_time is not None:
            if isinstance(creation_time, datetime):
                creation_time = creation_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            container.metadata["creation_time"] = creation_time
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if sample_aspect is not None:
            stream.codec_context.sample_aspect_ratio = sample_aspect
        opts = {"libx264": {"preset": "superfast"},
                "libx265": {"preset": "ultrafast", "x265-params": "log-level=none"}}.get(codec, {})
        if keyint is not None:
            opts.update({"g": str(keyint), "keyint_min": str(keyint)} if codec != "libx264"
                        else {"g": str(keyint), "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"})
        opts.update(options or {})
        stream.codec_context.options = opts
        if rotation is not None:
            stream.set_display_rotation(rotation)
        audio_stream = None
        if audio:
            audio_stream = container.add_stream("aac", rate=44100)
            audio_stream.layout = "mono"
        last_t = 0.0
        for t, rgb in _chain(first, frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            last_t = t
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            _encode_tone(container, audio_stream, last_t + 1 / fps)
    finally:
        container.close()
    return path


def _chain(first, rest):
    yield first
    yield from rest


def _encode_tone(container, stream, seconds: float, rate: int = 44100) -> None:
    samples = np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate).astype(np.float32) * 0.2
    chunk = 1024
    for start in range(0, len(samples), chunk):
        part = samples[start:start + chunk]
        frame = av.AudioFrame.from_ndarray(part[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_audio_only(path: Path, seconds: float = 2.0) -> Path:
    """An AAC track with no video stream (named whatever the test wants, e.g. ``.mp4``)."""
    container = av.open(str(path), "w", format="mp4" if Path(path).suffix.lower() in (".mp4", ".m4v", ".mov") else None)
    try:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        _encode_tone(container, stream, seconds)
    finally:
        container.close()
    return Path(path)


def truncated_copy(source: Path, target: Path, fraction: float) -> Path:
    """The first ``fraction`` of the bytes of ``source``: a cut-off download or a file still being recorded."""
    data = Path(source).read_bytes()
    Path(target).write_bytes(data[: int(len(data) * fraction)])
    return Path(target)


def _boxes(data: bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for the ISO-BMFF boxes between start and end."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, pos + size
        pos += size


def lie_about_mp4_duration(path: Path, factor: float) -> Path:
    """Multiply every duration the mp4 header states (mvhd, tkhd, mdhd, elst) by ``factor``; samples stay."""
    data = bytearray(Path(path).read_bytes())

    def scale(offset: int, wide: bool) -> None:
        fmt = ">Q" if wide else ">I"
        size = struct.calcsize(fmt)
        value = struct.unpack(fmt, data[offset:offset + size])[0]
        struct.pack_into(fmt, data, offset, min(int(value * factor), 2 ** (8 * size) - 2))

    def walk(start: int, end: int) -> None:
        for kind, body, box_end in _boxes(data, start, end):
            if kind in (b"moov", b"trak", b"mdia", b"edts"):
                walk(body, box_end)
            elif kind in (b"mvhd", b"mdhd"):
                wide = data[body] == 1
                scale(body + (4 + 8 + 8 + 4 if wide else 4 + 4 + 4 + 4), wide)
            elif kind == b"tkhd":
                wide = data[body] == 1
                scale(body + (4 + 8 + 8 + 4 + 4 if wide else 4 + 4 + 4 + 4 + 4), wide)
            elif kind == b"elst":
                wide = data[body] == 1
                count = struct.unpack(">I", data[body + 4:body + 8])[0]
                entry = 20 if wide else 12
                for i in range(count):
                    scale(body + 8 + i * entry, wide)

    walk(0, len(data))
    Path(path).write_bytes(bytes(data))
    return Path(path)


def lie_about_mkv_duration(path: Path, factor: float) -> Path:
    """Multiply the Matroska Segment Info Duration element (ID 0x4489, a float) by ``factor``."""
    data = bytearray(Path(path).read_bytes())
    head = bytes(data[:65536])
    for width, fmt in ((0x88, ">d"), (0x84, ">f")):
        at = head.find(b"\x44\x89" + bytes([width]))
        if at >= 0:
            offset = at + 3
            value = struct.unpack(fmt, data[offset:offset + struct.calcsize(fmt)])[0]
            struct.pack_into(fmt, data, offset, value * factor)
            Path(path).write_bytes(bytes(data))
            return Path(path)
    raise ValueError(f"no Duration element in {path}")
