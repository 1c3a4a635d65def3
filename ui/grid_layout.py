"""Where every thumbnail and section header of the grid goes: pure geometry in numpy, no Qt.

The grid is a list of sections, one per day (items of one day share a key), each on new rows under
a small day header; a section that starts a new month also carries the month's title above its
day header. Without sections (``keys is None``) the grid is one headerless section: a plain
uniform grid. Everything is computed with vectorised operations, so 100,000 items lay out in a few
milliseconds; lookups (rows in a band of y, the item under a point) are binary searches.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

NO_DATE = -1
_EPOCH = date(1970, 1, 1)


def date_keys(dates) -> tuple[np.ndarray, np.ndarray]:
    """(day keys, month keys) of media dates (UTC epoch seconds or None): days since 1970-01-01
    and months since January 1970, ``NO_DATE`` for a missing date."""
    epochs = np.array([np.nan if d is None else d for d in dates], dtype=np.float64)
    valid = np.isfinite(epochs)
    days = np.full(len(epochs), NO_DATE, dtype=np.int64)
    months = np.full(len(epochs), NO_DATE, dtype=np.int64)
    if valid.any():
        day = np.floor(epochs[valid] / 86400.0).astype(np.int64)
        days[valid] = day
        months[valid] = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return days, months


def month_title(month_key: int) -> str:
    if month_key == NO_DATE:
        return "No date"
    return date(1970 + month_key // 12, month_key % 12 + 1, 1).strftime("%B %Y")


def day_title(day_key: int, this_year: int | None = None) -> str:
    if day_key == NO_DATE:
        return "No date"
    day = _EPOCH + timedelta(days=int(day_key))
    year = this_year if this_year is not None else date.today().year
    text = f"{day.strftime('%A')} {day.day} {day.strftime('%B')}"
    return text if day.year == year else f"{text} {day.year}"


@dataclass
class Metrics:
    """Sizes in pixels: a cell's pitch (its size plus spacing), the headers' heights, margins."""

    columns: int
    cell_w: int
    cell_h: int
    day_h: int = 0
    month_h: int = 0
    left: int = 0
    top: int = 0
    bottom: int = 0


class GridLayout:
    """Positions for ``n`` items in ``metrics.columns`` columns, sectioned by ``days``/``months``."""

    def __init__(self, n: int, metrics: Metrics, days: np.ndarray | None = None,
                 months: np.ndarray | None = None) -> None:
        self.n = n
        self.m = metrics
        cols = max(1, metrics.columns)
        self.columns = cols
        sectioned = days is not None and n > 0
        self.sectioned = sectioned
        if n == 0:
            starts = np.zeros(0, dtype=np.int64)
        elif sectioned:
            days = np.asarray(days[:n], dtype=np.int64)
            starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        else:
            starts = np.zeros(1, dtype=np.int64)
        counts = np.diff(np.r_[starts, n]).astype(np.int64)
        nrows = -(-counts // cols)  # rows per section
        if sectioned:
            months = np.asarray(months[:n], dtype=np.int64) if months is not None else days
            self.day_key = days[starts]
            self.month_key = months[starts]
            prev = np.r_[np.int64(-2), self.month_key[:-1]]
            self.month_start = self.month_key != prev
            undated = self.day_key == NO_DATE
            self.day_y_off = np.where(self.month_start, metrics.month_h, 0).astype(np.int64)
            head = self.day_y_off + np.where(undated, 0, metrics.day_h)
        else:
            self.day_key = self.month_key = np.zeros(len(starts), dtype=np.int64)
            self.month_start = np.zeros(len(starts), dtype=bool)
            self.day_y_off = np.zeros(len(starts), dtype=np.int64)
            head = np.zeros(len(starts), dtype=np.int64)
        self.header_h = head
        heights = head + nrows * metrics.cell_h
        self.section_first = starts
        self.section_count = counts
        self.section_y = metrics.top + np.r_[np.int64(0), np.cumsum(heights)[:-1]] if len(starts) else starts
        self.section_h = heights
        self.height = int(metrics.top + heights.sum() + metrics.bottom)
        # rows: y, first item, item count, for every row of every section
        total_rows = int(nrows.sum())
        row_section = np.repeat(np.arange(len(starts)), nrows)
        row_in_section = np.arange(total_rows) - np.repeat(np.cumsum(nrows) - nrows, nrows)
        self.row_y = (self.section_y[row_section] + head[row_section] + row_in_section * metrics.cell_h
                      if total_rows else np.zeros(0, dtype=np.int64))
        self.row_first = starts[row_section] + row_in_section * cols if total_rows else np.zeros(0, dtype=np.int64)
        self.row_count = np.minimum(cols, starts[row_section] + counts[row_section] - self.row_first) \
            if total_rows else np.zeros(0, dtype=np.int64)
        self.row_section = row_section
        # items: their row (x and y follow from it)
        self.item_row = np.repeat(np.arange(total_rows), self.row_count) if total_rows else np.zeros(0, dtype=np.int64)
        self.month_sections = np.flatnonzero(self.month_start)
        self.month_y = self.section_y[self.month_sections]

    # -- items -----------------------------------------------------------------------------
    def item_pos(self, i: int) -> tuple[int, int]:
        row = int(self.item_row[i])
        return (self.m.left + (i - int(self.row_first[row])) * self.m.cell_w, int(self.row_y[row]))

    def item_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every item (vectorised; the benchmark and tests use it)."""
        idx = np.arange(self.n)
        x = self.m.left + (idx - self.row_first[self.item_row]) * self.m.cell_w
        return x, self.row_y[self.item_row]

    def section_of(self, i: int) -> int:
        return int(self.row_section[self.item_row[i]])

    def rows_in(self, y0: float, y1: float) -> range:
        """Rows whose cells overlap the band [y0, y1)."""
        first = max(0, int(np.searchsorted(self.row_y, y0 - self.m.cell_h, side="right")))
        last = int(np.searchsorted(self.row_y, y1, side="left"))
        return range(first, max(first, last))

    def sections_in(self, y0: float, y1: float) -> range:
        first = max(0, int(np.searchsorted(self.section_y, y0, side="right")) - 1)
        last = int(np.searchsorted(self.section_y, y1, side="left"))
        return range(first, max(first, last))

    def item_at(self, x: float, y: float) -> int:
        """The item whose cell holds (x, y), or -1 (a header, the space after a short row)."""
        if self.n == 0:
            return -1
        row = int(np.searchsorted(self.row_y, y, side="right")) - 1
        if row < 0 or y >= self.row_y[row] + self.m.cell_h:
            return -1
        col = int((x - self.m.left) // self.m.cell_w)
        if x < self.m.left or col < 0 or col >= int(self.row_count[row]) or col >= self.columns:
            return -1
        return int(self.row_first[row]) + col

    def items_in(self, x0: float, y0: float, x1: float, y1: float) -> list[tuple[int, int]]:
        """Ranges (first, last) of the items whose cells intersect the rectangle, one per row."""
        c0 = max(0, int((x0 - self.m.left) // self.m.cell_w))
        c1 = min(self.columns - 1, int((x1 - self.m.left) // self.m.cell_w))
        out = []
        if c1 < c0:
            return out
        for row in self.rows_in(y0, y1 + 1):
            count = int(self.row_count[row])
            if c0 >= count:
                continue
            first = int(self.row_first[row])
            out.append((first + c0, first + min(c1, count - 1)))
        return out

    # -- keyboard --------------------------------------------------------------------------
    def step_row(self, i: int, rows: int) -> int:
        """The item ``rows`` rows above (negative) or below, in the same column where that row has one."""
        row = int(self.item_row[i])
        col = i - int(self.row_first[row])
        target = min(max(row + rows, 0), len(self.row_y) - 1)
        return int(self.row_first[target]) + min(col, int(self.row_count[target]) - 1)

    def row_at_y(self, y: float) -> int:
        return min(max(int(np.searchsorted(self.row_y, y, side="right")) - 1, 0), len(self.row_y) - 1)

    # -- headers ---------------------------------------------------------------------------
    def pinned_month(self, y: float) -> tuple[int, int]:
        """(section holding the month title to pin at scroll position ``y``, the title's offset
        from the top: 0, or negative while the next month's title pushes it up); (-1, 0) when none."""
        if len(self.month_y) == 0:
            return -1, 0
        k = max(0, int(np.searchsorted(self.month_y, y, side="right")) - 1)
        offset = 0
        if k + 1 < len(self.month_y):
            offset = min(0, int(self.month_y[k + 1] - y - self.m.month_h))
        return int(self.month_sections[k]), offset

    def top_of_section(self, s: int) -> int:
        return int(self.section_y[s])
