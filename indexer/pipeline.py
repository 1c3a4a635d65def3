"""The embedding pipeline: decode in parallel, infer in batches, commit in batches.

Decoding threads stay a bounded number of batches ahead of the model (enough that the
model never waits, few enough that memory stays flat). One writer — this thread —
commits each batch in a single transaction: embeddings and the file's new status go
in together, so a killed run (SIGKILL, power loss) resumes exactly where the last
commit ended without re-embedding anything and without a half-written row.
"""
from __future__ import annotations

import collections
import logging
import os
import queue as queue_mod
import shutil
import threading
import time
from pathlib import Path
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, delete, exists, insert, select, update

from db import Database, Embedding, Media
from indexer.decode import DecodeError, ImageMeta, read_image
from indexer.encoders import ClipModel
from indexer.events import IndexProgress, IndexReport
from indexer.preprocess import draft_target, preprocess
from indexer.video import KeyframeSampler, SamplerConfig, VideoError, VideoInfo, save_thumbnail

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Job:
    media_id: int
    path: str
    kind: str


@dataclass(slots=True)
class _Decoded:
    job: _Job
    pixels: np.ndarray | None = None
    meta: ImageMeta | None = None
    size: int = 0
    mtime_ns: int = 0
    error: str | None = None
    vanished: bool = False


class EmbeddingPipeline:
    def __init__(
        self,
        db: Database,
        model: ClipModel,
        model_id: int,
        *,
        batch_size: int = 16,
        workers: int | None = None,
        prefetch_batches: int = 3,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
        thumbnails: Path | None = None,
        sampler: SamplerConfig | None = None,
    ) -> None:
        self.db = db
        self.thumbnails = Path(thumbnails) if thumbnails else None
        self.sampler = KeyframeSampler(sampler or SamplerConfig())
        self.model = model
        self.model_id = model_id
        self.batch_size = max(1, batch_size)
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.prefetch = max(1, prefetch_batches)
        self.on_progress = on_progress or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.pause = pause or threading.Event()  # set = paused; cleared = running
        self._draft = draft_target(model.preprocess)

    # -- work list -------------------------------------------------------------------
    def pending_jobs(self, root_ids: Sequence[int] | None = None) -> list[_Job]:
        """Files that are pending, or indexed but lacking a vector from this model."""
        has_vector = exists().where(and_(Embedding.media_id == Media.id, Embedding.model_id == self.model_id))
        query = select(Media.id, Media.path, Media.kind).where(
            (Media.status == "pending") | ((Media.status == "indexed") & ~has_vector),
        )
        if root_ids is not None:
            query = query.where(Media.root_id.in_(list(root_ids)))
        with self.db.session() as session:
            return [_Job(r[0], r[1], r[2]) for r in session.execute(query.order_by(Media.path))]

    # -- run ---------------------------------------------------------------------------
    def run(self, jobs: list[_Job], report: IndexReport | None = None) -> IndexReport:
        """Photos first (parallel decode, batched inference), then videos one by one."""
        report = report or IndexReport()
        started = time.perf_counter()
        loader: threading.Thread | None = None
        if jobs:
            # Load the ONNX session while the first batches decode instead of before them.
            loader = threading.Thread(target=self._preload_model, name="model-load", daemon=True)
            loader.start()
        try:
            return self._run(jobs, report, started)
        finally:
            # Never return (and let the process exit) while onnxruntime is still building the
            # session on that thread: its C++ threads abort the interpreter's shutdown
            # ("terminate called without an active exception", exit 134) when every file failed.
            if loader is not None:
                loader.join()

    def _run(self, jobs: list[_Job], report: IndexReport, started: float) -> IndexReport:
        photos = [job for job in jobs if job.kind != "video"]
        videos = [job for job in jobs if job.kind == "video"]
        total = len(jobs)
        done = self._run_photos(photos, report, total)
        for job in videos:
            if self.cancel.is_set():
                report.cancelled = True
                break
            self._wait_while_paused()
            self._index_video(job, report, done, total, started)
            done += 1
            elapsed = time.perf_counter() - started
            self.on_progress(IndexProgress("embed", done, total, failed=report.failed,
                                           rate=done / elapsed if elapsed > 0 else 0.0, current=job.path))
        report.elapsed += time.perf_counter() - started
        return report

    def _preload_model(self) -> None:
        try:
            self.model.image.session
        except Exception:  # noqa: BLE001 - raised again, to the caller, by the first encode
            log.debug("preloading the model failed", exc_info=True)

    def _wait_while_paused(self) -> None:
        while self.pause.is_set() and not self.cancel.is_set():
            time.sleep(0.1)

    def _run_photos(self, jobs: list[_Job], report: IndexReport, total: int) -> int:
        started = time.perf_counter()
        done = 0
        if not jobs:
            return 0
        window = self.batch_size * self.prefetch
        queue: collections.deque[Future[_Decoded]] = collections.deque()
        pending_iter = iter(jobs)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            def top_up() -> None:
                while len(queue) < window:
                    job = next(pending_iter, None)
                    if job is None:
                        return
                    queue.append(pool.submit(self._decode, job))

            top_up()
            while queue:
                self._wait_while_paused()  # decoders finish their look-ahead, then idle too
                if self.cancel.is_set():
                    report.cancelled = True
                    for future in queue:
                        future.cancel()
                    break
                batch: list[_Decoded] = []
                while queue and len(batch) < self.batch_size:
                    batch.append(queue.popleft().result())
                    top_up()
                self._embed_and_commit(batch, report)
                done += len(batch)
                elapsed = time.perf_counter() - started
                self.on_progress(IndexProgress(
                    "embed", done, total, failed=report.failed,
                    rate=done / elapsed if elapsed > 0 else 0.0, current=batch[-1].job.path,
                ))
        return done

    # -- videos ------------------------------------------------------------------------
    def _index_video(self, job: _Job, report: IndexReport, done: int, total: int, started: float) -> None:
        """Embed a video's moments and commit them together with the file's status.

        Decoding runs on a helper thread a few moments ahead of inference; vectors are
        small, so a long video is committed in one transaction at its end (a killed run
        redoes at most this one file).
        """
        try:
            st = os.stat(job.path)
        except FileNotFoundError:
            self._drop_vanished(job, report)
            return
        except OSError as exc:
            self._mark_failed(job, report, exc.strerror or str(exc))
            return
        info: dict[str, VideoInfo] = {}
        thumbs = self.thumbnails / str(job.media_id) if self.thumbnails else None
        if thumbs is not None:
            shutil.rmtree(thumbs, ignore_errors=True)
        vectors: list[np.ndarray] = []
        stamps: list[float] = []
        pending_pixels: list[np.ndarray] = []

        def progress(seconds: float, duration: float) -> None:
            elapsed = time.perf_counter() - started
            self.on_progress(IndexProgress("embed", done, total, failed=report.failed,
                                           rate=done / elapsed if elapsed > 0 else 0.0, current=job.path,
                                           file_done=seconds, file_total=duration))

        def flush() -> None:
            if pending_pixels:
                vectors.append(self.model.image.encode(np.stack(pending_pixels)))
                pending_pixels.clear()

        moments = self.sampler.moments(job.path, on_progress=progress, cancel=self.cancel,
                                       on_info=lambda i: info.setdefault("info", i))
        try:
            for moment in _prefetch(moments, size=8):
                if thumbs is not None:
                    save_thumbnail(moment.image, thumbs / f"{int(round(moment.timestamp * 1000))}.jpg",
                                   self.sampler.config.thumb_size)
                pending_pixels.append(preprocess(moment.image, self.model.preprocess))
                stamps.append(moment.timestamp)
                if len(pending_pixels) >= self.batch_size:
                    flush()
            flush()
        except FileNotFoundError:
            self._drop_vanished(job, report)
            return
        except VideoError as exc:
            self._mark_failed(job, report, exc.reason, st)
            return
        except OSError as exc:
            self._mark_failed(job, report, exc.strerror or str(exc), st)
            return
        except Exception as exc:  # a decoder bug must not stop the run
            log.exception("unexpected error reading video %s", job.path)
            self._mark_failed(job, report, f"unexpected error: {type(exc).__name__}: {exc}", st)
            return
        if self.cancel.is_set():
            report.cancelled = True
            return
        if not stamps:
            self._mark_failed(job, report, "no decodable frame", st)
            return
        matrix = np.concatenate(vectors)
        meta = info.get("info")
        taken = _epoch(meta.taken_at) if meta else None
        with self.db.session() as session:
            session.execute(delete(Embedding).where(
                Embedding.media_id == job.media_id, Embedding.model_id == self.model_id))
            session.execute(insert(Embedding), [
                {"media_id": job.media_id, "model_id": self.model_id, "timestamp": float(ts),
                 "vector": matrix[i].astype("<f4").tobytes()}
                for i, ts in enumerate(stamps)
            ])
            session.execute(update(Media).where(Media.id == job.media_id).values(
                status="indexed", error=None, size=st.st_size, mtime_ns=st.st_mtime_ns,
                width=meta.width if meta else None, height=meta.height if meta else None,
                duration=meta.duration if meta else None, taken_at=taken,
                date=taken if taken is not None else st.st_mtime_ns / 1e9, indexed_at=time.time(),
            ))
        report.embedded += 1
        report.moments += len(stamps)

    def _drop_vanished(self, job: _Job, report: IndexReport) -> None:
        with self.db.session() as session:
            session.execute(delete(Media).where(Media.id == job.media_id))
        report.removed += 1

    def _mark_failed(self, job: _Job, report: IndexReport, reason: str, st: os.stat_result | None = None) -> None:
        values = {"status": "failed", "error": reason, "indexed_at": time.time()}
        if st is not None:
            values.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
        with self.db.session() as session:
            session.execute(update(Media).where(Media.id == job.media_id).values(**values))
        report.failed += 1

    def _decode(self, job: _Job) -> _Decoded:
        out = _Decoded(job)
        try:
            st = os.stat(job.path)
            out.size, out.mtime_ns = st.st_size, st.st_mtime_ns
            image, meta = read_image(job.path, draft=self._draft)
            out.pixels = preprocess(image, self.model.preprocess, meta.reduced)
            out.meta = meta
        except FileNotFoundError:
            out.vanished = True
        except DecodeError as exc:
            out.error = exc.reason
            out.vanished = not os.path.lexists(job.path)
        except OSError as exc:
            out.error = exc.strerror or str(exc)
        except Exception as exc:  # a decoder bug must not stop the run
            log.exception("unexpected error decoding %s", job.path)
            out.error = f"unexpected error: {type(exc).__name__}: {exc}"
        return out

    def _embed_and_commit(self, batch: list[_Decoded], report: IndexReport) -> None:
        good = [item for item in batch if item.pixels is not None]
        vectors = self.model.image.encode(np.stack([item.pixels for item in good])) if good else None
        now = time.time()
        with self.db.session() as session:
            if good:
                ids = [item.job.media_id for item in good]
                # a re-run after a model switch or a crash between status and vector writes
                session.execute(delete(Embedding).where(
                    Embedding.media_id.in_(ids), Embedding.model_id == self.model_id))
                session.execute(insert(Embedding), [
                    {"media_id": item.job.media_id, "model_id": self.model_id, "timestamp": None,
                     "vector": vectors[i].astype("<f4").tobytes()}
                    for i, item in enumerate(good)
                ])
                for item in good:
                    meta = item.meta
                    taken = _epoch(meta.taken_at) if meta else None
                    session.execute(update(Media).where(Media.id == item.job.media_id).values(
                        status="indexed", error=None, size=item.size, mtime_ns=item.mtime_ns,
                        width=meta.width, height=meta.height, taken_at=taken,
                        date=taken if taken is not None else item.mtime_ns / 1e9,
                        gps_lat=meta.gps_lat, gps_lon=meta.gps_lon,
                        camera_make=meta.camera_make, camera_model=meta.camera_model,
                        indexed_at=now,
                    ))
                report.embedded += len(good)
            for item in batch:
                if item.pixels is not None:
                    continue
                if item.vanished:
                    session.execute(delete(Media).where(Media.id == item.job.media_id))
                    report.removed += 1
                    continue
                values = {"status": "failed", "error": item.error, "indexed_at": now}
                if item.mtime_ns:
                    values.update(size=item.size, mtime_ns=item.mtime_ns)
                session.execute(update(Media).where(Media.id == item.job.media_id).values(**values))
                report.failed += 1


def _prefetch(iterator, size: int):
    """Run ``iterator`` on a helper thread, ``size`` items ahead of the consumer.

    Exceptions are re-raised in the consumer; closing the consumer early stops the
    producer at its next item.
    """
    items: queue_mod.Queue = queue_mod.Queue(maxsize=size)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue_mod.Full:
                        continue
                if stop.is_set():
                    return
            items.put((end, None))
        except BaseException as exc:  # handed to the consumer
            items.put((end, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None and stop.is_set():
                close()

    thread = threading.Thread(target=produce, name="video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue_mod.Empty:
                thread.join(0.05)


def _epoch(moment) -> float | None:
    """EXIF times are naive local times; store them as if UTC so they round-trip as written."""
    if moment is None:
        return None
    from datetime import timezone

    try:
        return moment.replace(tzinfo=timezone.utc).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
