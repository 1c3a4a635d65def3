"""Small JPEG previews of library files, cached on disk for the desktop app.

A cached file is named after the source's path, size, mtime and the requested pixel size, so a
file that changes gets a new thumbnail and a stale one is never shown; nothing needs invalidating.
Video moments prefer the JPEG the indexer wrote for that moment
(``<thumbnails>/moments/<media_id>/<milliseconds>.jpg``); without one the first frame is used.

Nothing here imports Qt: the UI calls ``ThumbnailCache.get`` from worker threads and loads the
returned file itself. Thumbnails live only under the cache folder, never next to the user's media.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)

JPEG_QUALITY = 85
_MIN_PX, _MAX_PX = 16, 4096


class ThumbnailError(Exception):
    """No thumbnail can be made; ``reason`` is short and meant for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def moment_thumbnail_path(thumbnails: Path, media_id: int, timestamp: float) -> Path:
    """Where the indexer stores the picture of one video moment."""
    return Path(thumbnails) / "moments" / f"{media_id}" / f"{int(timestamp * 1000)}.jpg"


class ThumbnailCache:
    """Makes and caches thumbnails under ``folder`` (the app's thumbnails directory)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.files = self.folder / "files"

    # -- lookup ----------------------------------------------------------------------------
    def cache_path(self, source: str, px: int, timestamp: float | None = None) -> Path:
        """Where the thumbnail of ``source`` at ``px`` lives; raises ThumbnailError if unreadable."""
        try:
            st = os.stat(source)
        except FileNotFoundError:
            raise ThumbnailError("file not found") from None
        except OSError as exc:
            raise ThumbnailError(exc.strerror or "cannot read file") from None
        key = hashlib.sha1(os.fsencode(source), usedforsecurity=False)
        key.update(f"\0{st.st_size}\0{st.st_mtime_ns}\0{_clamp(px)}\0{timestamp!r}".encode())
        digest = key.hexdigest()
        return self.files / digest[:2] / f"{digest}.jpg"

    def get(self, source: str, px: int, kind: str = "photo", timestamp: float | None = None,
            media_id: int | None = None) -> Path:
        """A JPEG whose long side is at most ``px``, made now if not cached yet.

        Safe to call from several threads: each writer goes through its own temporary file.
        """
        target = self.cache_path(source, px, timestamp)
        if target.is_file():
            return target
        image = self.render(source, px, kind=kind, timestamp=timestamp, media_id=media_id)
        _save_atomically(image, target)
        return target

    # -- rendering -------------------------------------------------------------------------
    def render(self, source: str, px: int, kind: str = "photo", timestamp: float | None = None,
               media_id: int | None = None) -> Image.Image:
        """An upright RGB image whose long side is at most ``px`` (not cached)."""
        px = _clamp(px)
        if kind == "video":
            image = self._video_image(source, px, timestamp, media_id)
        else:
            image = _photo_image(source, px)
        if max(image.size) > px:
            image.thumbnail((px, px), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return image if image.mode == "RGB" else image.convert("RGB")

    def _video_image(self, source: str, px: int, timestamp: float | None, media_id: int | None) -> Image.Image:
        if timestamp is not None and media_id:
            moment = moment_thumbnail_path(self.folder, media_id, timestamp)
            if moment.is_file():
                try:
                    with Image.open(moment) as im:
                        im.load()
                        return im.convert("RGB")
                except OSError:
                    log.debug("unreadable moment thumbnail %s", moment, exc_info=True)
        return _first_video_frame(source, px)


def _clamp(px: int) -> int:
    return max(_MIN_PX, min(_MAX_PX, int(px)))


def _photo_image(source: str, px: int) -> Image.Image:
    from indexer.decode import DecodeError, read_image

    try:
        image, _ = read_image(source, draft=(px, px))
    except DecodeError as exc:
        raise ThumbnailError(exc.reason) from None
    except OSError as exc:
        raise ThumbnailError(exc.strerror or "cannot read file") from None
    return image


def _first_video_frame(source: str, px: int) -> Image.Image:
    """The first picture of a video, upright (the indexer's sampler applies the display matrix)."""
    from indexer.video import KeyframeSampler, SamplerConfig, VideoError

    moments = KeyframeSampler(SamplerConfig(max_image_side=max(px, 16), threads=1)).moments(source)
    try:
        first = next(moments)
    except StopIteration:
        raise ThumbnailError("no picture in this video") from None
    except VideoError as exc:
        raise ThumbnailError(exc.reason) from None
    except OSError as exc:
        raise ThumbnailError(exc.strerror or "cannot read file") from None
    finally:
        moments.close()
    return first.image


def _save_atomically(image: Image.Image, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        image.save(partial, "JPEG", quality=JPEG_QUALITY)
        os.replace(partial, target)
    except OSError as exc:
        raise ThumbnailError(f"cannot write thumbnail: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
