"""Dates as people type them: '2023-01-01', '1/2/2023', '2023', 'March 2023', 'today'.

``parse_range`` turns one entry into the days it covers (a year, a month or one day), so a "From"
field takes its first day and a "To" field its last. Slashed dates follow the locale's order
(month first in the US, day first elsewhere) unless one part is over 12. Pure and testable.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9


class DateError(ValueError):
    """The entry is not a date this understands (the message says what would be)."""


HINT = "Type a date like 2023-01-31, 31/1/2023, “March 2023” or “2023”"


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def parse_range(text: str, month_first: bool = False, today: date | None = None) -> tuple[date, date]:
    """The first and last day ``text`` names. Raises ``DateError`` with a hint."""
    raw = text.strip().lower().replace(",", " ")
    today = today or date.today()
    if not raw:
        raise DateError(HINT)
    try:
        if raw == "today":
            return today, today
        if raw == "yesterday":
            day = today - timedelta(days=1)
            return day, day
        if m := re.fullmatch(r"(\d{4})", raw):
            year = int(m[1])
            return date(year, 1, 1), date(year, 12, 31)
        if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})", raw):
            return _month_range(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", raw):
            day = date(int(m[1]), int(m[2]), int(m[3]))
            return day, day
        if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})", raw):
            a, b, year = int(m[1]), int(m[2]), int(m[3])
            year += 2000 if year < 100 else 0
            if "." in raw or a > 12:
                month_first = False
            elif b > 12:
                month_first = True
            month, day_ = (a, b) if month_first else (b, a)
            day = date(year, month, day_)
            return day, day
        words = raw.split()
        if len(words) == 2 and words[0] in MONTHS and re.fullmatch(r"\d{4}", words[1]):
            return _month_range(int(words[1]), MONTHS[words[0]])
        if len(words) == 2 and words[1] in MONTHS and re.fullmatch(r"\d{4}", words[0]):
            return _month_range(int(words[0]), MONTHS[words[1]])
        if len(words) == 3 and words[1] in MONTHS and words[0].isdigit() and words[2].isdigit():
            day = date(int(words[2]), MONTHS[words[1]], int(words[0]))  # 14 July 2021
            return day, day
        if len(words) == 3 and words[0] in MONTHS and words[1].isdigit() and words[2].isdigit():
            day = date(int(words[2]), MONTHS[words[0]], int(words[1]))  # July 14 2021
            return day, day
    except ValueError as exc:  # 2023-02-30
        raise DateError(f"Not a date: {text.strip()} ({exc})") from exc
    raise DateError(f"Not a date: {text.strip()}. {HINT}")


def presets(today: date | None = None) -> list[tuple[str, date, date]]:
    """Common ranges: (label, first day, last day)."""
    today = today or date.today()
    return [
        ("Last 30 days", today - timedelta(days=29), today),
        ("This year", date(today.year, 1, 1), today),
        ("Last year", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]


def describe(after: date | None, before: date | None) -> str:
    """A range as a chip shows it: 'March 2023', '2021', '1 Jan 2021 – 5 Mar 2022', 'Since …'."""
    if after and before:
        if after == date(after.year, 1, 1) and before == date(after.year, 12, 31):
            return str(after.year)
        if (after.day == 1 and before.year == after.year and before.month == after.month
                and before.day == calendar.monthrange(after.year, after.month)[1]):
            return after.strftime("%B %Y")
        if after == before:
            return f"{after.day} {after:%b %Y}"
        return f"{after.day} {after:%b %Y} – {before.day} {before:%b %Y}"
    if after:
        return f"Since {after.day} {after:%b %Y}"
    if before:
        return f"Until {before.day} {before:%b %Y}"
    return "Any date"
