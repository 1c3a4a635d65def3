"""Short human strings for numbers, sizes, dates and times shown in the window.

Dates: the library stores EXIF capture times (which carry no zone) as if they were UTC, so they
are shown in UTC too — that gives back the wall-clock time the camera recorded.
"""
from __future__ import annotations

from datetime import datetime, timezone


def format_timestamp(seconds: float | None) -> str:
    """A position in a video: ``m:ss``, or ``h:mm:ss`` past an hour."""
    if seconds is None or seconds != seconds:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_date(epoch: float | None, with_time: bool = True, local: bool = False) -> str:
    """``local``: a real instant (a file's modification time), shown in this computer's zone."""
    if epoch is None:
        return ""
    try:
        moment = datetime.fromtimestamp(epoch) if local else datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return ""
    text = f"{moment.day} {moment.strftime('%b %Y')}"
    return f"{text}, {moment:%H:%M}" if with_time else text


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def format_count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def format_duration(seconds: float | None) -> str:
    """How long something takes: '45 s', '3 min', '1 h 20 min'."""
    if seconds is None:
        return ""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 30) // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
