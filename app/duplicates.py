"""Duplicates: exact copies, the same picture in another form, and similar shots.

Three kinds of group, never confused:

* ``exact``: the same bytes. Candidates share size and the stored content fingerprint (size plus
  first and last 64 KiB); a full blake2b of each candidate confirms them.
* ``same``: the same picture resized, recompressed, converted, EXIF-stripped, rotated by EXIF or
  lightly cropped; for videos, the same video re-encoded or trimmed. Photo candidates are pairs of
  stored vectors with cosine >= ``CANDIDATE_COSINE`` (permissive on purpose); the pixel check in
  ``app.duplicate_pixels`` decides. Videos match when most moments of the shorter one match
  moments of the longer one, in order.
* ``similar``: bursts and near-identical shots (small moves, exposure changes): candidates whose
  pixels are not the same picture but overlap closely once brightness is normalised. Reported,
  never offered for deletion (``reclaimable`` is 0 and ``trash_suggested`` skips them).

Each group suggests a file to keep, with a reason a person can read (``duplicate_maths.choose_keep``).
Nothing is decoded except candidate photos, small.
"""
from __future__ import annotations

import hashlib
from collections import Counter
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from app.duplicate_maths import KeepFacts, UnionFind, choose_keep, near_pairs, ordered_match_fraction, quantize
from app.duplicate_pixels import SAME_MAX_DISTANCE, SHOT_MAX_DISTANCE, Thumb, load_thumb, picture_distance, shot_distance
from app.errors import MediaseekError, NoModelError, NotFoundError
from db import Media, prefix_range, translate_db_errors
from db import Model as ModelRecord

log = logging.getLogger(__name__)

KINDS = ("exact", "same", "similar")
# Real CLIP models put the same picture resized or recompressed at >= 0.95 and other shots of a
# scene at 0.8-0.93, so 0.8 lets every "same" and "similar" through; the pixel check decides.
CANDIDATE_COSINE = 0.80
# Two moments of the same video (re-encoded, keyframes a little apart) and the share of the shorter
# video's moments that must match the longer one in order.
MOMENT_COSINE = 0.92
MOMENT_SHARE = 0.8
_HASH_CHUNK = 1 << 20
_LOAD_CHUNK = 8192


@dataclass(frozen=True)
class DuplicateFile:
    media_id: int
    path: str
    kind: str  # 'photo' | 'video'
    size: int
    width: int | None
    height: int | None
    date: float | None  # EXIF date taken, else the file's time
    taken_at: float | None
    camera: str | None
    has_gps: bool
    mtime: float
    duration: float | None

    def to_json(self) -> dict:
        return {"path": self.path, "size": self.size, "width": self.width, "height": self.height,
                "date": self.date, "media_id": self.media_id, "kind": self.kind}


@dataclass(frozen=True)
class DuplicateGroup:
    """Files that are copies of one another (``exact``/``same``) or shots of one moment (``similar``)."""

    kind: str  # 'exact' | 'same' | 'similar'
    files: tuple[DuplicateFile, ...]
    keep: int  # index into files
    reason: str

    @property
    def kept(self) -> DuplicateFile:
        return self.files[self.keep]

    @property
    def suggested(self) -> tuple[DuplicateFile, ...]:
        """The files the keep rule would move to the trash (none for ``similar``)."""
        if self.kind == "similar":
            return ()
        return tuple(f for i, f in enumerate(self.files) if i != self.keep)

    @property
    def reclaimable(self) -> int:
        return sum(f.size for f in self.suggested)

    def with_keep(self, path: str) -> DuplicateGroup:
        """The same group keeping ``path`` instead (the user's choice)."""
        for i, f in enumerate(self.files):
            if f.path == path:
                return DuplicateGroup(self.kind, self.files, i, "chosen")
        raise NotFoundError(f"not in this group: {path}")

    def to_json(self) -> dict:
        return {"kind": self.kind, "keep": self.kept.path, "reason": self.reason,
                "files": [f.to_json() for f in self.files], "reclaimable": self.reclaimable}


@dataclass
class DuplicateReport:
    groups: list[DuplicateGroup] = field(default_factory=list)
    missing: str | None = None  # why "same"/"similar" could not be looked for, in one line
    candidates: int = 0  # photo pairs the pixel check looked at
    unreadable: dict[str, None] = field(default_factory=dict)  # files that vanished or could not be read

    @property
    def reclaimable(self) -> int:
        return sum(g.reclaimable for g in self.groups)

    def note_unreadable(self, path: str) -> None:
        self.unreadable[path] = None


def find_duplicates(library, folder: str | os.PathLike | None = None,
                    kinds: Iterable[str] = KINDS,
                    on_progress: Callable[[str, int, int], None] | None = None) -> DuplicateReport:
    """Group the library's (or ``folder``'s) copies; largest reclaimable space first.

    ``on_progress(phase, done, total)`` reports ``hash`` (exact candidates read in full),
    ``compare`` (the vector pass starts) and ``pixels`` (candidate pairs checked). Raises
    ``NotFoundError`` for a missing folder; unreadable files are left out (``report.unreadable``).
    """
    return DuplicateFinder(library, on_progress).run(folder, kinds)


def trash_suggested(library, groups: Sequence[DuplicateGroup]):
    """Move every suggested (non-kept) file of ``exact``/``same`` groups to the desktop trash.

    Returns ``app.file_actions.TrashBatch`` (``done``, ``failed`` with reasons, ``bytes_freed``);
    ``FileActions(library).undo(batch)`` puts files and library rows back.
    """
    from app.file_actions import FileActions

    kept = {g.kept.path for g in groups}  # a file kept by one group is never trashed by another
    paths = list(dict.fromkeys(f.path for g in groups for f in g.suggested if f.path not in kept))
    return FileActions(library).trash(paths)


class DuplicateFinder:
    def __init__(self, library, on_progress: Callable[[str, int, int], None] | None = None) -> None:
        self._lib = library
        self._progress = on_progress or (lambda phase, done, total: None)

    def run(self, folder, kinds: Iterable[str]) -> DuplicateReport:
        kinds = set(kinds)
        unknown = kinds - set(KINDS)
        if unknown:
            raise MediaseekError(f"unknown duplicate kind {sorted(unknown)[0]!r}; expected exact, same or similar")
        report = DuplicateReport()
        files = self._files(folder)
        exact = self._exact_groups(files, report)
        if kinds & {"same", "similar"}:
            # An exact copy is represented by the file its group keeps.
            hidden = {f.media_id for g in exact for f in g.suggested}
            self._visual_groups({k: f for k, f in files.items() if k not in hidden}, kinds, report)
        if "exact" in kinds:
            report.groups.extend(exact)
        report.groups = [g for g in report.groups if g.kind in kinds]
        report.groups.sort(key=lambda g: (-g.reclaimable, KINDS.index(g.kind), g.kept.path))
        return report

    # -- rows ------------------------------------------------------------------------------
    def _files(self, folder) -> dict[int, DuplicateFile]:
        sql = ("SELECT id, path, kind, size, width, height, date, taken_at, camera_make, camera_model, gps_lat, "
               "mtime_ns, duration FROM media")
        params: tuple = ()
        if folder is not None:
            path = os.path.abspath(os.path.expanduser(os.fspath(folder)))
            if not os.path.isdir(path):
                raise NotFoundError(f"folder not found: {folder}")
            low, high = prefix_range(path)
            sql += " WHERE path >= ? AND path < ?"
            params = (low, high)
        out = {}
        # Plain SQLite rows: at 100k files the ORM's row objects cost seconds here.
        with translate_db_errors(), self._lib.db.engine.connect() as conn:
            rows = conn.connection.driver_connection.execute(sql, params).fetchall()
        for (media_id, raw_path, kind, size, width, height, date, taken_at, make, model, lat, mtime_ns,
             duration) in rows:
            camera = " ".join(p for p in (make, model) if p) or None
            path = os.fsdecode(raw_path) if isinstance(raw_path, bytes) else raw_path
            out[media_id] = DuplicateFile(media_id, path, kind, size, width, height, date, taken_at, camera,
                                          lat is not None, (mtime_ns or 0) / 1e9, duration)
        return out

    def _group(self, kind: str, members: Sequence[DuplicateFile]) -> DuplicateGroup:
        members = sorted(members, key=lambda f: f.path)
        facts = [KeepFacts(f.path, f.width, f.height, f.mtime, f.taken_at, f.camera, f.has_gps,
                           f.duration if f.kind == "video" else None) for f in members]
        keep, reason = choose_keep(facts)
        return DuplicateGroup(kind, tuple(members), keep, reason)

    # -- exact -----------------------------------------------------------------------------
    def _exact_groups(self, files: dict[int, DuplicateFile], report: DuplicateReport) -> list[DuplicateGroup]:
        with self._lib.db.session() as session:
            rows = session.execute(select(Media.id, Media.size, Media.fingerprint)
                                   .where(Media.fingerprint.is_not(None))).all()
        by_key: dict[tuple[int, str], list[int]] = {}
        for media_id, size, fp in rows:
            if media_id in files:
                by_key.setdefault((size, fp), []).append(media_id)
        candidates = [ids for ids in by_key.values() if len(ids) > 1]
        total = sum(map(len, candidates))
        done = 0
        groups = []
        for ids in candidates:
            by_hash: dict[str, list[DuplicateFile]] = {}
            for media_id in ids:
                digest = self._content_hash(files[media_id].path, report)
                done += 1
                self._progress("hash", done, total)
                if digest is not None:
                    by_hash.setdefault(digest, []).append(files[media_id])
            groups += [self._group("exact", same) for same in by_hash.values() if len(same) > 1]
        return groups

    @staticmethod
    def _content_hash(path: str, report: DuplicateReport) -> str | None:
        h = hashlib.blake2b(digest_size=32)
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(_HASH_CHUNK):
                    h.update(chunk)
        except OSError as exc:
            log.info("cannot hash %s: %s", path, exc)
            report.note_unreadable(path)
            return None
        return h.hexdigest()

    # -- same / similar ----------------------------------------------------------------------
    def _model_id(self, report: DuplicateReport) -> int | None:
        try:
            name = self._lib.serving_model()
        except NoModelError:
            report.missing = ("no model installed: only exact copies were looked for "
                              "(install one with 'mediaseek models install')")
            return None
        with self._lib.db.session() as session:
            model_id = session.execute(select(ModelRecord.id).where(ModelRecord.name == name)).scalar_one_or_none()
        if model_id is None:
            report.missing = (f"no vectors from model {name!r} yet: only exact copies were looked for "
                              "(run 'mediaseek index')")
        return model_id

    def _vectors(self, model_id: int, files: dict[int, DuplicateFile]) -> tuple[np.ndarray, ...]:
        """(media ids, timestamps, uint8 codes, scales) of the files' vectors, read in chunks."""
        media_ids, times, codes, scales = [], [], [], []
        last = 0
        with translate_db_errors(), self._lib.db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            while True:
                rows = raw.execute("SELECT id, media_id, timestamp, vector FROM embeddings "
                                   "WHERE model_id = ? AND id > ? ORDER BY id LIMIT ?",
                                   (model_id, last, _LOAD_CHUNK)).fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                rows = [r for r in rows if r[1] in files]
                if rows:
                    dim = len(rows[0][3]) // 4
                    rows = [r for r in rows if len(r[3]) == dim * 4]
                    vecs = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").reshape(len(rows), dim)
                    c, s = quantize(vecs)
                    codes.append(c)
                    scales.append(s)
                    media_ids.append(np.array([r[1] for r in rows], np.int64))
                    times.append(np.array([np.nan if r[2] is None else r[2] for r in rows], np.float64))
        if not codes or len({c.shape[1] for c in codes}) != 1:
            return np.empty(0, np.int64), np.empty(0), np.empty((0, 0), np.uint8), np.empty(0, np.float32)
        return np.concatenate(media_ids), np.concatenate(times), np.concatenate(codes), np.concatenate(scales)

    def _visual_groups(self, files: dict[int, DuplicateFile], kinds: set[str], report: DuplicateReport) -> None:
        model_id = self._model_id(report)
        if model_id is None:
            return
        media_ids, times, codes, scales = self._vectors(model_id, files)
        if len(media_ids) == 0:
            if any(f.kind == "photo" for f in files.values()):
                report.missing = "no vectors yet: only exact copies were looked for (run 'mediaseek index')"
            return
        photo = np.isnan(times) & np.array([files[m].kind == "photo" for m in media_ids.tolist()], np.bool_)
        self._photo_groups(files, media_ids[photo], codes[photo], scales[photo], kinds, report)
        if "same" in kinds:
            video = ~photo
            self._video_groups(files, media_ids[video], times[video], codes[video], scales[video], report)

    def _photo_groups(self, files, media_ids, codes, scales, kinds, report) -> None:
        self._progress("compare", 0, 1)
        left, right, _ = near_pairs(codes, scales, CANDIDATE_COSINE)
        pairs = sorted({(int(media_ids[a]), int(media_ids[b])) for a, b in zip(left.tolist(), right.tolist())})
        report.candidates = len(pairs)
        thumbs: dict[int, Thumb | None] = {}
        # A thumbnail is dropped after its file's last pair, so memory follows the pairs in flight,
        # not every candidate file.
        pending = Counter(m for pair in pairs for m in pair)
        same, shots = UnionFind(), UnionFind()
        for done, (a, b) in enumerate(pairs, 1):
            self._progress("pixels", done, len(pairs))
            ta, tb = self._thumb(thumbs, files[a], report), self._thumb(thumbs, files[b], report)
            for m in (a, b):
                pending[m] -= 1
                if pending[m] == 0:
                    thumbs[m] = None  # keeps the key: a file that failed to decode is not retried
            if ta is None or tb is None:
                continue
            if picture_distance(ta, tb) <= SAME_MAX_DISTANCE:
                same.union(a, b)
                shots.union(a, b)
            elif "similar" in kinds and shot_distance(ta, tb) <= SHOT_MAX_DISTANCE:
                shots.union(a, b)
        same_groups = [self._group("same", [files[m] for m in members]) for members in same.groups()]
        report.groups.extend(same_groups)
        if "similar" not in kinds:
            return
        # A similar group lists each picture once: a picture's other copies are in its "same" group.
        hidden = {f.media_id for g in same_groups for f in g.suggested}
        for members in shots.groups():
            shown = [files[m] for m in members if m not in hidden]
            if len(shown) > 1:
                report.groups.append(self._group("similar", shown))

    @staticmethod
    def _thumb(cache: dict[int, Thumb | None], f: DuplicateFile, report: DuplicateReport) -> Thumb | None:
        if f.media_id not in cache:
            cache[f.media_id] = load_thumb(f.path)
            if cache[f.media_id] is None:
                report.note_unreadable(f.path)
        return cache[f.media_id]

    def _video_groups(self, files, media_ids, times, codes, scales, report) -> None:
        if len(np.unique(media_ids)) < 2:
            return
        left, right, _ = near_pairs(codes, scales, MOMENT_COSINE)
        matches: dict[tuple[int, int], dict[int, list[float]]] = {}
        for a, b in zip(left.tolist(), right.tolist()):
            ma, mb = int(media_ids[a]), int(media_ids[b])
            if ma == mb:
                continue
            if ma > mb:
                a, b, ma, mb = b, a, mb, ma
            pair = matches.setdefault((ma, mb), {})
            pair.setdefault(a, []).append(b)  # moment rows of ma -> matching moment rows of mb
            pair.setdefault(b, []).append(a)
        rows_of: dict[int, np.ndarray] = {}
        for m in np.unique(media_ids).tolist():
            rows = np.flatnonzero(media_ids == m)
            rows_of[m] = rows[np.argsort(times[rows])]
        same = UnionFind()
        for (ma, mb), links in matches.items():
            short, long_ = (ma, mb) if len(rows_of[ma]) <= len(rows_of[mb]) else (mb, ma)
            options = [[float(times[r]) for r in links.get(int(row), []) if media_ids[r] == long_]
                       for row in rows_of[short]]
            if ordered_match_fraction(times[rows_of[short]], options) >= MOMENT_SHARE:
                same.union(ma, mb)
        report.groups.extend(self._group("same", [files[m] for m in members]) for members in same.groups())
