"""Acting on the user's files from the app: trash (with Undo), move, copy, forget.

Every action keeps the library in step at once, without re-embedding anything:

* **trash**: the file goes to the desktop trash and its rows leave the library (results drop it
  immediately); a snapshot of the rows is kept in memory so that **undo** restores the file *and*
  its vectors, thumbnails and metadata while the app runs;
* **move**: the row follows the file (same id, so vectors, moments and text stay attached); a file
  moved out of every library folder is forgotten;
* **copy**: a copy that lands inside a library folder gets a copy of the original's rows.

Each file is handled on its own: one failure (gone, permission, name taken) is reported with a
one-line reason and does not stop the others.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from app.trash import TrashedFile, TrashError, move_to_trash, restore
from db import Embedding, Media, MediaText, Root


@dataclass(frozen=True)
class _MediaSnapshot:
    """A media row and its vectors, enough to put them back under any path."""

    media_id: int
    columns: dict
    vectors: tuple[dict, ...]
    text: dict | None = None  # the text read in the photo, when it is still current


@dataclass
class ActionReport:
    """What a file action did: ``done`` pairs (source, result path), ``failed`` (path, reason)."""

    done: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TrashBatch(ActionReport):
    """A trash action that can be undone while the app runs."""

    items: list[TrashedFile] = field(default_factory=list)
    snapshots: dict[str, _MediaSnapshot] = field(default_factory=dict)

    @property
    def bytes_freed(self) -> int:
        return sum(int(s.columns.get("size") or 0) for s in self.snapshots.values())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror.lower() if exc.strerror else str(exc)
    return str(exc)


class FileActions:
    """File operations on behalf of a ``Library`` (the CLI's ``duplicates --trash``, the window)."""

    def __init__(self, library) -> None:  # app.library.Library (not imported: no cycle)
        self._lib = library

    # -- trash ----------------------------------------------------------------------
    def trash(self, paths: Iterable[str | os.PathLike[str]]) -> TrashBatch:
        batch = TrashBatch()
        for raw in paths:
            path = os.path.abspath(os.fspath(raw))
            snapshot = self._snapshot(path)
            try:
                item = move_to_trash(path)
            except TrashError as exc:
                batch.failed.append((path, str(exc)))
                continue
            batch.items.append(item)
            batch.done.append((path, item.trashed or ""))
            if snapshot is not None:
                batch.snapshots[path] = snapshot
                self._delete_rows([snapshot.media_id])
        return batch

    def undo(self, batch: TrashBatch) -> ActionReport:
        """Restore a trash batch: the files come back, and the library knows them again as before."""
        report = ActionReport()
        for item in batch.items:
            try:
                restored = restore(item)
            except TrashError as exc:
                report.failed.append((item.original, str(exc)))
                continue
            snapshot = batch.snapshots.get(item.original)
            if snapshot is not None:
                self._insert(snapshot, restored)
            report.done.append((item.original, restored))
        return report

    # -- move / copy ----------------------------------------------------------------
    def move(self, paths: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str]) -> ActionReport:
        return self._transfer(paths, folder, keep_source=False)

    def copy(self, paths: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str]) -> ActionReport:
        return self._transfer(paths, folder, keep_source=True)

    def forget(self, paths: Iterable[str | os.PathLike[str]]) -> int:
        """Remove files' rows (not the files). Returns how many rows went."""
        wanted = [os.path.abspath(os.fspath(p)) for p in paths]
        with self._lib.db.session() as session:
            ids = session.execute(select(Media.id).where(Media.path.in_(wanted))).scalars().all()
        self._delete_rows(ids)
        return len(ids)

    def _transfer(self, paths, folder, keep_source: bool) -> ActionReport:
        report = ActionReport()
        target_dir = os.path.abspath(os.fspath(folder))
        verb = "copy" if keep_source else "move"
        if not os.path.isdir(target_dir):
            for raw in paths:
                report.failed.append((os.path.abspath(os.fspath(raw)), f"cannot {verb}: folder not found: {target_dir}"))
            return report
        for raw in paths:
            source = os.path.abspath(os.fspath(raw))
            target = os.path.join(target_dir, os.path.basename(source))
            if os.path.abspath(target) == source:
                report.failed.append((source, f"cannot {verb} {source}: it is already in that folder"))
                continue
            if os.path.lexists(target):
                report.failed.append((source, f"cannot {verb} {source}: {target} already exists"))
                continue
            if not os.path.exists(source):
                report.failed.append((source, f"cannot {verb} {source}: it no longer exists"))
                continue
            snapshot = self._snapshot(source)
            try:
                if keep_source:
                    shutil.copy2(source, target)
                else:
                    shutil.move(source, target)
            except OSError as exc:
                report.failed.append((source, f"cannot {verb} {source}: {_reason(exc)}"))
                continue
            report.done.append((source, target))
            if snapshot is None:
                continue
            if keep_source:
                if self._root_of(target) is not None:
                    self._insert(snapshot, target, new_row=True)
            else:
                self._relocate(snapshot, target)
        return report

    # -- rows -----------------------------------------------------------------------
    def _snapshot(self, path: str) -> _MediaSnapshot | None:
        with self._lib.db.session() as session:
            media = session.execute(select(Media).where(Media.path == path)).scalar_one_or_none()
            if media is None:
                return None
            columns = {c.key: getattr(media, c.key) for c in Media.__mapper__.column_attrs}
            vectors = tuple(
                {"model_id": e.model_id, "timestamp": e.timestamp, "vector": e.vector}
                for e in session.execute(select(Embedding).where(Embedding.media_id == media.id)).scalars())
            read = session.get(MediaText, media.id)
            text = None
            if read is not None and (read.size, read.mtime_ns) == (media.size, media.mtime_ns):
                text = {c.key: getattr(read, c.key) for c in MediaText.__mapper__.column_attrs}
        return _MediaSnapshot(columns["id"], columns, vectors, text)

    def _root_of(self, path: str) -> int | None:
        with self._lib.db.session() as session:
            roots = session.execute(select(Root.id, Root.path)).all()
        inside = [(len(p), rid) for rid, p in roots if path == p or path.startswith(p.rstrip(os.sep) + os.sep)]
        return max(inside)[1] if inside else None

    def _delete_rows(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._lib.db.session() as session:
            session.execute(delete(Media).where(Media.id.in_(list(ids))))  # cascades to vectors

    def _insert(self, snapshot: _MediaSnapshot, path: str, new_row: bool = False) -> None:
        root_id = self._root_of(path)
        if root_id is None:
            return
        columns = dict(snapshot.columns, path=path, root_id=root_id)
        stat = os.stat(path)
        columns.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        with self._lib.db.session() as session:
            taken = session.get(Media, snapshot.media_id) is not None
            if new_row or taken:
                columns.pop("id")
            new_id = session.execute(insert(Media).values(**columns).returning(Media.id)).scalar_one()
            if snapshot.vectors:
                session.execute(insert(Embedding), [dict(v, media_id=new_id) for v in snapshot.vectors])
            if snapshot.text is not None:  # the same picture: its text need not be read again
                session.execute(insert(MediaText).values(**dict(
                    snapshot.text, media_id=new_id, size=columns["size"], mtime_ns=columns["mtime_ns"])))
        self._carry_thumbnails(snapshot.media_id, new_id, keep_source=new_row)

    def _relocate(self, snapshot: _MediaSnapshot, path: str) -> None:
        root_id = self._root_of(path)
        if root_id is None:
            self._delete_rows([snapshot.media_id])
            return
        stat = os.stat(path)
        with self._lib.db.session() as session:
            media = session.get(Media, snapshot.media_id)
            if media is not None:
                media.path, media.root_id = path, root_id
                media.size, media.mtime_ns = stat.st_size, stat.st_mtime_ns
                read = session.get(MediaText, media.id)
                if read is not None and snapshot.text is not None:  # still current after the move
                    read.size, read.mtime_ns = stat.st_size, stat.st_mtime_ns

    def _carry_thumbnails(self, old_id: int, new_id: int, keep_source: bool) -> None:
        if old_id == new_id:
            return
        old = self._lib.moment_thumbnails / str(old_id)
        new = self._lib.moment_thumbnails / str(new_id)
        if not old.is_dir() or new.exists():
            return
        try:
            if keep_source:
                shutil.copytree(old, new)
            else:
                old.rename(new)
        except OSError:
            pass  # thumbnails are a cache: the window draws them again from the file
