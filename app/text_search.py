"""Searching the text read in photos, and combining it with the picture search.

The combination rule (README "Text in photos"):

* The query's words are matched against each photo's text (case-insensitive; a word matches at
  the start of a word in the text, a word of 5 or more letters anywhere; a CJK word anywhere, as
  CJK text has no spaces). ``coverage`` is the fraction of the query's words found.
* A photo's score is its picture similarity plus ``TEXT_WEIGHT`` × coverage. Picture similarity is
  a cosine in [-1, 1], so a photo containing every word of the query outranks every photo that
  contains none, and a partial match still lifts a photo well above what the picture alone gives.
* Photos without matching text keep their picture score: they are still found by their picture.
* Quoted words or phrases (``"B42"``, ``"wifi password"``) must appear in the text; when a query
  has any, results lacking them are excluded.
* Common English filler words ("a", "the", "of", "photo"…) and single letters are not matched; a single
  digit ("platform 7") is, as a whole word.

Filters (folder, type, dates, limit) are applied by the picture ranking both signals go through;
``min_score`` applies to the combined score.
"""
from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select, text as sql_text
from sqlalchemy.exc import OperationalError

from app.config import Config
from db import Database, Media, MediaText
from indexer.ocr import TextLine

if TYPE_CHECKING:
    from app.library import Library, SearchFilters, SearchResult
    from db import SearchMatrix

log = logging.getLogger(__name__)

TEXT_WEIGHT = 2.0
MAX_CANDIDATES = 400  # photos whose text is checked per query, best FTS rank first (keeps a query fast)
SNIPPET_LINES = 3
_ANYWHERE_LEN = 5

_STOPWORDS = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the this to was were with
photo photos picture pictures image images
""".split())
_QUOTED = re.compile(r'["“”„«»]([^"“”„«»]+)["“”„«»]')
_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _is_cjk(word: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in word)


@dataclass(frozen=True)
class TextQuery:
    """A search query seen as words to find in photos' text."""

    words: tuple[str, ...]  # every word or phrase to look for, normalised (includes ``required``)
    required: tuple[str, ...]  # quoted words/phrases that must appear

    @classmethod
    def parse(cls, query: str) -> "TextQuery":
        required = tuple(dict.fromkeys(p for p in (_norm(m) for m in _QUOTED.findall(query)) if p))
        rest = _QUOTED.sub(" ", query)
        words = []
        for word in _WORD.findall(_norm(rest)):
            if word in _STOPWORDS or (len(word) < 2 and not _is_cjk(word) and not word.isdigit()) \
                    or word.replace("_", "") == "":
                continue
            words.append(word)
        return cls(tuple(dict.fromkeys([*required, *words])), required)

    def __bool__(self) -> bool:
        return bool(self.words)


def _word_pattern(word: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(part) for part in word.split())
    if _is_cjk(word) or len(word) >= _ANYWHERE_LEN:
        return re.compile(body)
    if len(word) == 1:  # a lone digit ("platform 7") is a whole word: not the 7 of "72"
        return re.compile(r"(?<![^\W_])" + body + r"(?![^\W_])")
    return re.compile(r"(?<![^\W_])" + body)  # at the start of a word


@dataclass(frozen=True)
class TextHit:
    media_id: int
    coverage: float  # fraction of the query's words found in the photo's text
    snippet: str  # the lines holding the matches
    boxes: tuple[tuple[tuple[float, float], ...], ...]  # those lines' boxes (normalised corners)
    has_required: bool


def _match_lines(lines: list[TextLine], query: TextQuery,
                 patterns: dict[str, re.Pattern[str]]) -> TextHit | None:
    normed = [_norm(line.text) for line in lines]
    full = "\n".join(normed)
    found = [w for w in query.words if patterns[w].search(full)]
    if not found:
        return None
    matched = [i for i, text in enumerate(normed) if any(patterns[w].search(text) for w in found)]
    if not matched:  # a phrase spanning two lines
        matched = list(range(len(lines)))
    shown = matched[:SNIPPET_LINES]
    return TextHit(
        media_id=0, coverage=len(found) / len(query.words),
        snippet=" … ".join(lines[i].text for i in shown),
        boxes=tuple(lines[i].box for i in shown),
        has_required=all(w in found for w in query.required),
    )


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def find_text(db: Database, query: TextQuery) -> dict[int, TextHit]:
    """Photos whose current text contains any of the query's words, with how well they match."""
    if not query:
        return {}
    long_words = [w for w in query.words if len(w) >= 3]  # the trigram index needs 3 characters
    short_words = [w for w in query.words if len(w) < 3]
    ids: set[int] = set()
    with db.session() as session:
        if long_words:
            match = " OR ".join(_fts_phrase(w) for w in long_words)
            try:
                ids.update(r[0] for r in session.execute(
                    sql_text("SELECT rowid FROM media_text_fts WHERE media_text_fts MATCH :q ORDER BY rank LIMIT :n"),
                    {"q": match, "n": MAX_CANDIDATES}))
            except OperationalError:  # an FTS syntax corner we did not foresee: scan instead
                log.warning("text index query failed for %r; scanning", match, exc_info=True)
                short_words = list(query.words)
        for word in short_words:
            like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            ids.update(r[0] for r in session.execute(
                select(MediaText.media_id).where(MediaText.text.ilike(like, escape="\\")).limit(MAX_CANDIDATES)))
        if not ids:
            return {}
        rows = []
        id_list = sorted(ids)[: MAX_CANDIDATES * 2]
        for start in range(0, len(id_list), 900):
            chunk = id_list[start:start + 900]
            rows += session.execute(
                select(MediaText.media_id, MediaText.lines)
                .join(Media, Media.id == MediaText.media_id)
                .where(MediaText.media_id.in_(chunk), MediaText.error.is_(None),
                       MediaText.size == Media.size, MediaText.mtime_ns == Media.mtime_ns)).all()
    patterns = {w: _word_pattern(w) for w in query.words}
    hits = {}
    for media_id, raw in rows:
        hit = _match_lines(_parse_lines(raw), query, patterns)
        if hit is not None:
            hits[media_id] = replace(hit, media_id=media_id)
    return hits


def _parse_lines(raw: str | None) -> list[TextLine]:
    try:
        return [TextLine.from_json(item) for item in json.loads(raw or "[]")]
    except (ValueError, KeyError, TypeError):
        return []


def search_with_text(library: "Library", matrix: "SearchMatrix", query_vector: np.ndarray, query: str,
                     filters: "SearchFilters") -> list["SearchResult"]:
    """The picture ranking of ``query_vector`` combined with the text matches of ``query``."""
    text_query = TextQuery.parse(query)
    if not text_query:
        return library._rank(matrix, query_vector, filters)
    hits = find_text(library.db, text_query)
    if text_query.required:
        hits = {k: v for k, v in hits.items() if v.has_required}
        if not hits:
            return []
    limit = max(1, filters.limit)
    unfiltered = replace(filters, min_score=None)
    merged: dict[int, SearchResult] = {}
    if not text_query.required:
        merged = {r.media_id: r for r in library._rank(matrix, query_vector, replace(unfiltered, limit=limit))}
    if hits:
        only = np.fromiter(hits, dtype=np.int64, count=len(hits))
        for r in library._rank(matrix, query_vector, replace(unfiltered, limit=len(hits)), only_ids=only):
            hit = hits[r.media_id]
            merged[r.media_id] = replace(r, score=r.score + TEXT_WEIGHT * hit.coverage, text=hit.snippet,
                                         text_boxes=hit.boxes)
    ranked = sorted(merged.values(), key=lambda r: -r.score)
    if filters.min_score is not None:
        ranked = [r for r in ranked if r.score >= filters.min_score]
    return ranked[:limit]


# -- what the window shows ---------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoText:
    """The text read in one photo: its lines with confidences and normalised boxes."""

    media_id: int
    lines: tuple[TextLine, ...]
    error: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def photo_text(db: Database, media_id: int) -> PhotoText | None:
    """The current text of a photo; None when it has not been read (or changed since)."""
    with db.session() as session:
        row = session.execute(
            select(MediaText.lines, MediaText.error).join(Media, Media.id == MediaText.media_id)
            .where(MediaText.media_id == media_id, MediaText.size == Media.size,
                   MediaText.mtime_ns == Media.mtime_ns)).first()
    if row is None:
        return None
    return PhotoText(media_id, tuple(_parse_lines(row[0])), row[1])


@dataclass(frozen=True)
class TextStatus:
    read: int  # photos whose current version has been read (with or without text)
    with_text: int  # ... of which some text was found
    pending: int  # indexed photos not read yet (or changed since)
    failed: list[tuple[str, str]]  # (path, reason)


def text_status(db: Database) -> TextStatus:
    current = (MediaText.size == Media.size) & (MediaText.mtime_ns == Media.mtime_ns)
    with db.session() as session:
        read, with_text = session.execute(
            select(func.count(), func.count().filter(MediaText.text != ""))
            .select_from(MediaText).join(Media, Media.id == MediaText.media_id)
            .where(current, MediaText.error.is_(None))).one()
        failed = [(p, e) for p, e in session.execute(
            select(Media.path, MediaText.error).join(MediaText, MediaText.media_id == Media.id)
            .where(current, MediaText.error.is_not(None)).order_by(Media.path))]
    from indexer.ocr_pass import pending_text_count

    return TextStatus(read, with_text, pending_text_count(db), failed)


# -- the setting -------------------------------------------------------------------------------
CONFIG_KEY = "read_text"


def read_text_enabled(config_path: Path) -> bool:
    """Whether indexing reads the text in photos (config key ``read_text``; on by default)."""
    return Config.load(config_path).extra.get(CONFIG_KEY, True) is not False


def set_read_text(config_path: Path, enabled: bool) -> None:
    config = Config.load(config_path)
    config.extra[CONFIG_KEY] = bool(enabled)
    config.save(config_path)
