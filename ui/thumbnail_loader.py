"""Thumbnails for the views: an in-memory LRU of pixmaps in front of the on-disk cache.

Views ask for a pixmap while painting; a miss queues the request and returns None (the view
draws a placeholder). Requests are served newest first, a few at a time, so when the user scrolls
quickly the rows now on screen come before the ones scrolled past, and the queue is bounded so
scrolling through 100,000 results never queues 100,000 decodes.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from app.thumbnails import ThumbnailCache, ThumbnailError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThumbKey:
    path: str
    kind: str = "photo"
    timestamp: float | None = None
    media_id: int = 0
    px: int = 256


class ThumbnailLoader(QObject):
    ready = Signal(object)  # ThumbKey
    failed = Signal(object, str)  # ThumbKey, reason

    def __init__(self, cache: ThumbnailCache, runner, parent: QObject | None = None, capacity: int = 1200,
                 concurrency: int = 2, max_queue: int = 300, pool: str = "thumbnails") -> None:
        super().__init__(parent)
        self.cache = cache
        self.runner = runner
        self.capacity = capacity
        self.concurrency = concurrency
        self.max_queue = max_queue
        self.pool = pool
        self.device_pixel_ratio = 1.0
        self._pixmaps: OrderedDict[ThumbKey, QPixmap] = OrderedDict()
        self._queue: OrderedDict[ThumbKey, None] = OrderedDict()
        self._in_flight: set[ThumbKey] = set()
        self._failures: dict[ThumbKey, str] = {}
        self.generated = 0  # thumbnails decoded in this process (tests, benchmarks)

    def pixmap(self, key: ThumbKey) -> QPixmap | None:
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key in self._failures or key in self._in_flight:
            return None
        self._queue.pop(key, None)
        self._queue[key] = None  # newest last; served first
        while len(self._queue) > self.max_queue:
            self._queue.popitem(last=False)
        self._pump()
        return None

    def failure(self, key: ThumbKey) -> str | None:
        return self._failures.get(key)

    def clear(self) -> None:
        self._pixmaps.clear()
        self._queue.clear()
        self._failures.clear()

    def forget_queue(self) -> None:
        """Drop requests not started yet (new results replaced the old ones)."""
        self._queue.clear()

    def _pump(self) -> None:
        while self._queue and len(self._in_flight) < self.concurrency:
            key, _ = self._queue.popitem(last=True)
            self._in_flight.add(key)
            self.runner.submit(lambda k=key: self._load(k), lambda r, e, k=key: self._done(k, r, e), pool=self.pool)

    def _load(self, key: ThumbKey) -> QImage:
        """Runs on a worker thread: make or find the JPEG, decode it to a QImage (thread-safe)."""
        path = self.cache.get(key.path, key.px, kind=key.kind, timestamp=key.timestamp, media_id=key.media_id)
        image = QImage(str(path))
        if image.isNull():
            raise ThumbnailError("cannot decode thumbnail")
        return image

    def _done(self, key: ThumbKey, image: QImage | None, error: BaseException | None) -> None:
        self._in_flight.discard(key)
        if error is not None or image is None:
            reason = getattr(error, "reason", None) or str(error) or "no thumbnail"
            self._failures[key] = reason
            self.failed.emit(key, reason)
        else:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(self.device_pixel_ratio)
            self._pixmaps[key] = pixmap
            self.generated += 1
            while len(self._pixmaps) > self.capacity:
                self._pixmaps.popitem(last=False)
            self.ready.emit(key)
        self._pump()
