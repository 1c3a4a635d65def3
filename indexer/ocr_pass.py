"""The text pass: read the text in every indexed photo that has not been read in its current version.

Runs after the embedding pass (search is usable first). Like that pass it is resumable and
incremental: results are committed per batch, a killed run resumes with what was not committed,
and a photo is read again only when its media row's size or mtime changed since (the text is tied
to them). A photo that cannot be read gets a row with the reason in ``error``, is counted in
``IndexReport.text_failed``, and is not retried until it changes; nothing stops the run.

Photos are decoded and read on a small pool of threads (two by default), each with its own engine.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select

from db import Database, Media, MediaText
from indexer.decode import DecodeError
from indexer.events import IndexProgress, IndexReport
from indexer.ocr import TextLine, TextReader, TextReadError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TextJob:
    media_id: int
    path: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class _Read:
    job: TextJob
    lines: list[TextLine] | None = None
    error: str | None = None
    vanished: bool = False


def _unread(query):
    """Restrict ``query`` to indexed photos with no text row for their current size and mtime."""
    return (
        query.outerjoin(MediaText, MediaText.media_id == Media.id)
        .where(Media.kind == "photo", Media.status == "indexed")
        .where(or_(MediaText.media_id.is_(None), MediaText.size != Media.size, MediaText.mtime_ns != Media.mtime_ns))
    )


def pending_text_jobs(db: Database) -> list[TextJob]:
    """Indexed photos whose current version has not been read."""
    query = _unread(select(Media.id, Media.path, Media.size, Media.mtime_ns)).order_by(Media.path)
    with db.session() as session:
        return [TextJob(*row) for row in session.execute(query)]


def pending_text_count(db: Database) -> int:
    with db.session() as session:
        return session.execute(_unread(select(func.count()).select_from(Media))).scalar_one()


def _lower_priority() -> None:
    """A lower-priority pass (DESIGN): on Linux, where niceness is per thread, the reading threads
    (each engine runs its single ONNX thread in the caller) yield the CPU to the window and search."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 5))
    except OSError:
        pass


class TextPass:
    """Reads photos on ``workers`` threads, each with its own single-threaded OCR engine.

    Two photos in flight on one thread each use two cores better than one photo on two threads
    (detection's pre/post-processing and decoding are serial), and the count stays bounded.
    """

    def __init__(
        self,
        db: Database,
        reader: TextReader | None = None,
        *,
        workers: int | None = None,
        batch_size: int = 8,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> None:
        self.db = db
        self.workers = max(1, workers or min(2, os.cpu_count() or 1))
        self.batch_size = max(1, batch_size)
        self.on_progress = on_progress or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.pause = pause or threading.Event()
        self._readers: queue.SimpleQueue[TextReader] = queue.SimpleQueue()
        self._readers.put(reader or TextReader(threads=1))

    def pending_jobs(self) -> list[TextJob]:
        return pending_text_jobs(self.db)

    def load(self) -> None:
        """Load the first engine's models now. Raises TextReadError."""
        reader = self._readers.get()
        try:
            reader.load()
        finally:
            self._readers.put(reader)

    def run(self, jobs: list[TextJob], report: IndexReport | None = None) -> IndexReport:
        report = report or IndexReport()
        total = len(jobs)
        started = time.perf_counter()
        self.on_progress(IndexProgress("text", 0, total))
        if not jobs:
            return report
        try:
            self.load()
        except TextReadError as exc:  # a broken install: say so, record nothing, retry next run
            log.warning("text pass skipped: %s", exc.reason)
            report.errors.append(("text reading", exc.reason))
            return report
        done = 0
        batch: list[_Read] = []
        ahead: collections.deque[Future[_Read]] = collections.deque()
        todo = iter(jobs)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="text", initializer=_lower_priority) as pool:
            def top_up() -> None:
                while len(ahead) < self.workers * 2:
                    job = next(todo, None)
                    if job is None:
                        return
                    ahead.append(pool.submit(self._work, job))

            top_up()
            while ahead:
                if self.cancel.is_set():
                    report.cancelled = True
                    break
                while self.pause.is_set() and not self.cancel.is_set():
                    time.sleep(0.1)
                item = ahead.popleft().result()
                top_up()
                batch.append(item)
                done += 1
                if len(batch) >= self.batch_size:
                    self._commit(batch, report)
                    batch = []
                elapsed = time.perf_counter() - started
                self.on_progress(IndexProgress("text", done, total, failed=report.text_failed,
                                               rate=done / elapsed if elapsed > 0 else 0.0, current=item.job.path))
            for future in ahead:
                future.cancel()
        if batch:
            self._commit(batch, report)
        report.elapsed += time.perf_counter() - started
        return report

    def _work(self, job: TextJob) -> _Read:
        if self.cancel.is_set():
            return _Read(job, vanished=True)  # not committed; read next run
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            reader = TextReader(threads=1)
        try:
            return self._read(reader, job)
        finally:
            self._readers.put(reader)

    @staticmethod
    def _read(reader: TextReader, job: TextJob) -> _Read:
        try:
            pixels = reader.decode(job.path)
        except FileNotFoundError:
            return _Read(job, vanished=True)
        except DecodeError as exc:
            return _Read(job, error=exc.reason, vanished=not os.path.lexists(job.path))
        except OSError as exc:
            return _Read(job, error=exc.strerror or str(exc))
        except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop the run
            log.exception("unexpected error decoding %s for text", job.path)
            return _Read(job, error=f"unexpected error: {type(exc).__name__}: {exc}")
        try:
            return _Read(job, lines=reader.read_array(pixels))
        except TextReadError as exc:
            return _Read(job, error=exc.reason)
        except Exception as exc:  # noqa: BLE001
            log.exception("unexpected error reading text in %s", job.path)
            return _Read(job, error=f"unexpected error: {type(exc).__name__}: {exc}")

    def _commit(self, batch: list[_Read], report: IndexReport) -> None:
        """One transaction per batch; a row whose media changed or vanished meanwhile is skipped."""
        now = time.time()
        rows = []
        for item in batch:
            if item.vanished:
                continue  # the next scan removes the file's row
            lines = item.lines or []
            rows.append({
                "media_id": item.job.media_id, "size": item.job.size, "mtime_ns": item.job.mtime_ns,
                "read_at": now, "text": "\n".join(line.text for line in lines),
                "lines": json.dumps([line.to_json() for line in lines], ensure_ascii=False),
                "error": "reading text: " + item.error if item.error else None,
            })
        if not rows:
            return
        with self.db.session() as session:
            ids = [row["media_id"] for row in rows]
            current = {
                r[0]: (r[1], r[2]) for r in session.execute(
                    select(Media.id, Media.size, Media.mtime_ns).where(Media.id.in_(ids)))
            }
            rows = [row for row in rows if current.get(row["media_id"]) == (row["size"], row["mtime_ns"])]
            session.execute(delete(MediaText).where(MediaText.media_id.in_(ids)))
            if rows:
                session.execute(insert(MediaText), rows)
        for row in rows:
            if row["error"]:
                report.text_failed += 1
            else:
                report.text_read += 1


__all__ = ["TextJob", "TextPass", "pending_text_count", "pending_text_jobs"]
