"""Bring the library's file table in line with what is on disk.

Compares a scan of the roots with the ``media`` rows: new files are added as pending,
changed files lose their embeddings and become pending again, files that disappeared
are removed — unless a new file has the same content fingerprint, in which case the
row simply moves to the new path and keeps its embeddings.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from db import Database, Embedding, Media
from indexer.decode import sniff_kind
from indexer.events import IndexProgress, IndexReport
from indexer.scanner import LibraryScanner, ScannedFile, fingerprint

log = logging.getLogger(__name__)

WRITE_CHUNK = 1000
PROGRESS_EVERY = 2000


@dataclass(slots=True)
class _Known:
    id: int
    size: int
    mtime_ns: int
    status: str
    fingerprint: str | None
    root_id: int


class LibrarySync:
    def __init__(
        self,
        db: Database,
        scanner: LibraryScanner | None = None,
        on_progress: Callable[[IndexProgress], None] | None = None,
    ) -> None:
        self.db = db
        self.report = IndexReport()
        self.scanner = scanner or LibraryScanner(on_error=self._scan_error)
        self.on_progress = on_progress or (lambda event: None)

    def _scan_error(self, path: str, reason: str) -> None:
        log.info("scan: %s: %s", path, reason)
        self.report.errors.append((path, reason))

    def run(self, roots: Sequence[tuple[int, str]]) -> IndexReport:
        """``roots``: (root_id, path) pairs. Roots that cannot be read are left untouched."""
        started = time.perf_counter()
        report = self.report
        reachable = [(rid, path) for rid, path in roots if os.path.isdir(path)]
        for rid, path in roots:
            if (rid, path) not in reachable:
                report.errors.append((path, "folder not found or not readable; its entries were kept"))
        if not reachable:
            report.scan_seconds = time.perf_counter() - started
            return report
        root_ids = [rid for rid, _ in reachable]
        known = self._load_known(root_ids)

        seen: set[str] = set()
        new_files: list[tuple[int, ScannedFile]] = []
        changed: list[tuple[int, ScannedFile]] = []
        for root_id, root_path in reachable:
            for item in self.scanner.scan([root_path]):
                if item.path in seen:
                    continue
                seen.add(item.path)
                report.scanned += 1
                row = known.get(item.path)
                if row is None:
                    new_files.append((root_id, item))
                elif row.size != item.size or row.mtime_ns != item.mtime_ns:
                    changed.append((row.id, item))
                elif row.status == "failed":
                    report.failed_unchanged += 1
                if report.scanned % PROGRESS_EVERY == 0:
                    self.on_progress(IndexProgress("scan", report.scanned, 0, current=item.path))

        missing = {path: row for path, row in known.items() if path not in seen}
        self._apply_changes(changed)
        self._apply_new_and_moves(new_files, missing)
        self._remove(missing)
        report.scan_seconds = time.perf_counter() - started
        self.on_progress(IndexProgress("scan", report.scanned, report.scanned))
        return report

    def _load_known(self, root_ids: list[int]) -> dict[str, _Known]:
        with self.db.session() as session:
            rows = session.execute(
                select(Media.path, Media.id, Media.size, Media.mtime_ns, Media.status, Media.fingerprint, Media.root_id)
                .where(Media.root_id.in_(root_ids))
            )
            return {r[0]: _Known(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def _apply_changes(self, changed: list[tuple[int, ScannedFile]]) -> None:
        self.report.changed += len(changed)
        for chunk in _chunks(changed, WRITE_CHUNK):
            with self.db.session() as session:
                ids = [media_id for media_id, _ in chunk]
                session.execute(delete(Embedding).where(Embedding.media_id.in_(ids)))
                for media_id, item in chunk:
                    session.execute(
                        update(Media).where(Media.id == media_id).values(
                            size=item.size, mtime_ns=item.mtime_ns, status="pending", error=None,
                            fingerprint=_safe_fingerprint(item), kind=_content_kind(item),
                        )
                    )

    def _apply_new_and_moves(self, new_files: list[tuple[int, ScannedFile]], missing: dict[str, _Known]) -> None:
        by_fingerprint: dict[tuple[str, int], str] = {
            (row.fingerprint, row.size): path for path, row in missing.items() if row.fingerprint
        }
        for chunk in _chunks(new_files, WRITE_CHUNK):
            with self.db.session() as session:
                for root_id, item in chunk:
                    fp = _safe_fingerprint(item)
                    old_path = by_fingerprint.pop((fp, item.size), None) if fp else None
                    if old_path is not None:
                        row = missing.pop(old_path)
                        session.execute(
                            update(Media).where(Media.id == row.id).values(
                                path=item.path, root_id=root_id, mtime_ns=item.mtime_ns,
                            )
                        )
                        self.report.moved += 1
                        continue
                    session.add(Media(
                        root_id=root_id, path=item.path, kind=_content_kind(item), size=item.size,
                        mtime_ns=item.mtime_ns, fingerprint=fp, status="pending",
                        date=item.mtime_ns / 1e9,
                    ))
                    self.report.new += 1

    def _remove(self, missing: dict[str, _Known]) -> None:
        ids = [row.id for row in missing.values()]
        self.report.removed += len(ids)
        for chunk in _chunks(ids, WRITE_CHUNK):
            with self.db.session() as session:
                session.execute(delete(Media).where(Media.id.in_(chunk)))


def _content_kind(item: ScannedFile) -> str:
    """Trust the file's bytes over its name (a phone video saved as .jpg, a photo as .mov)."""
    try:
        return sniff_kind(item.path) or item.kind
    except OSError:
        return item.kind


def _safe_fingerprint(item: ScannedFile) -> str | None:
    try:
        return fingerprint(item.path, item.size)
    except OSError:
        return None  # unreadable now; the embed step records the reason


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
