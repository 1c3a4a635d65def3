"""Structured progress events. Core code emits these; the CLI and UI render them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IndexProgress:
    phase: str  # 'scan' | 'embed' | 'text' (reading text in photos) | 'done'
    done: int
    total: int  # 0 while unknown (scanning)
    failed: int = 0
    rate: float = 0.0  # items per second over the phase so far
    current: str | None = None
    file_done: float = 0.0  # seconds processed inside the current video
    file_total: float = 0.0  # that video's duration (0 for photos)

    @property
    def eta(self) -> float | None:
        if self.total and self.rate > 0 and self.done <= self.total:
            return (self.total - self.done) / self.rate
        return None


@dataclass(slots=True)
class IndexReport:
    scanned: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    embedded: int = 0
    moments: int = 0  # video moments embedded
    failed: int = 0
    failed_unchanged: int = 0  # known-bad files left alone because they did not change
    text_read: int = 0  # photos whose text was read by the text pass
    text_failed: int = 0  # photos the text pass could not read (reason in media_text.error)
    cancelled: bool = False
    elapsed: float = 0.0
    scan_seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) for folders that could not be read
