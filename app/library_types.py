"""Plain data the ``Library`` returns to the CLI and the window (no behaviour beyond formatting)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


# -- plain data returned to the CLI / UI ---------------------------------------------------
@dataclass(frozen=True)
class Moment:
    timestamp: float
    score: float


@dataclass(frozen=True)
class SearchResult:
    path: str
    score: float
    kind: str  # 'photo' | 'video'
    timestamp: float | None = None
    moments: tuple[Moment, ...] = ()
    media_id: int = 0
    date: float | None = None
    width: int | None = None
    height: int | None = None
    text: str | None = None  # the photo's text lines that matched the query (app.text_search)
    text_boxes: tuple[tuple[tuple[float, float], ...], ...] = ()  # their boxes, corners normalised 0..1
    duration: float | None = None  # videos: seconds

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "score": round(float(self.score), 6),
            "kind": self.kind,
            "timestamp": self.timestamp,
            "moments": [{"timestamp": m.timestamp, "score": round(float(m.score), 6)} for m in self.other_moments],
            "text": self.text,
        }

    @property
    def other_moments(self) -> tuple[Moment, ...]:
        """The matching moments besides the best one (``timestamp``), best first.

        ``moments`` holds the best one too (the window's strip shows them all, in time order).
        """
        return tuple(m for m in self.moments if m.timestamp != self.timestamp)


@dataclass(frozen=True)
class SearchFilters:
    folder: str | None = None
    kind: str | None = None  # 'photo' | 'video'
    after: date | None = None  # inclusive
    before: date | None = None  # inclusive (the whole day)
    limit: int = 20
    min_score: float | None = None
    recursive: bool = True  # with ``folder``: its subfolders too (False: only files directly inside)


@dataclass(frozen=True)
class RootInfo:
    id: int
    path: str
    files: int = 0
    indexed: int = 0
    failed: int = 0
    pending: int = 0
    exists: bool = True


@dataclass(frozen=True)
class MediaDetails:
    id: int
    path: str
    kind: str
    size: int
    width: int | None
    height: int | None
    taken_at: float | None  # EXIF time (naive, stored as UTC epoch)
    date: float | None
    camera_make: str | None
    camera_model: str | None
    gps_lat: float | None
    gps_lon: float | None
    duration: float | None
    status: str
    error: str | None


@dataclass(frozen=True)
class FailedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class LibraryStatus:
    home: str
    roots: list[RootInfo]
    active_model: str | None
    serving_model: str | None
    photos: int
    videos: int
    indexed: int
    pending: int
    failed: list[FailedFile] = field(default_factory=list)
    embeddings: int = 0
    text_read: int = 0  # photos whose text has been read (text pass)
    text_found: int = 0  # ... of which some text was found
    text_pending: int = 0
    text_failed: list[FailedFile] = field(default_factory=list)
    # onnxruntime execution provider in use, the one wanted first, and why they differ (None when they don't)
    provider: str | None = None
    provider_wanted: str | None = None
    provider_problem: str | None = None
