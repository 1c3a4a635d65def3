"""Browsing without a query: a scope's files newest first, in month buckets, paged from SQLite."""
from __future__ import annotations

from datetime import date, datetime

from app.browse import BrowseScope
from tests.media import save_jpeg, scene

TAKEN = {
    "a/one.jpg": datetime(2021, 7, 14, 10, 0),
    "a/two.jpg": datetime(2021, 7, 20, 9, 0),
    "a/sub/three.jpg": datetime(2022, 1, 3, 8, 0),
    "b/four.jpg": datetime(2019, 3, 2, 12, 0),
}


def _library(library, tmp_path):
    root = tmp_path / "pics"
    for i, (rel, taken) in enumerate(TAKEN.items()):
        save_jpeg(root / rel, scene("red" if i % 2 else "blue", seed=i), taken=taken)
    (root / "b" / "broken.jpg").write_bytes(b"not a picture")
    library.index([root])
    return root


def _names(results):
    return [r.path.rsplit("/", 1)[-1] for r in results]


def test_everything_newest_first_with_months(library, tmp_path):
    _library(library, tmp_path)
    results = library.browse(BrowseScope())
    assert _names(results) == ["three.jpg", "two.jpg", "one.jpg", "four.jpg"]  # the broken file is not shown
    months = library.browse_months(BrowseScope())
    assert [(m.year, m.month, m.count, m.offset) for m in months] == [
        (2022, 1, 1, 0), (2021, 7, 2, 1), (2019, 3, 1, 3)]
    assert months[1].label == "July 2021"


def test_pages_and_oldest_first(library, tmp_path):
    _library(library, tmp_path)
    assert _names(library.browse(BrowseScope(), offset=1, limit=2)) == ["two.jpg", "one.jpg"]
    assert _names(library.browse(BrowseScope(newest_first=False), limit=2)) == ["four.jpg", "one.jpg"]


def test_folder_with_and_without_subfolders(library, tmp_path):
    root = _library(library, tmp_path)
    folder = str(root / "a")
    assert _names(library.browse(BrowseScope(folder=folder))) == ["three.jpg", "two.jpg", "one.jpg"]
    assert _names(library.browse(BrowseScope(folder=folder, recursive=False))) == ["two.jpg", "one.jpg"]
    assert library.browse(BrowseScope(folder=str(root / "a" / "sub" / "nothing"))) == []


def test_kind_and_dates(library, tmp_path):
    _library(library, tmp_path)
    assert library.browse(BrowseScope(kind="video")) == []
    scope = BrowseScope(after=date(2021, 7, 14), before=date(2021, 7, 14))
    assert _names(library.browse(scope)) == ["one.jpg"]
    assert [m.count for m in library.browse_months(scope)] == [1]
