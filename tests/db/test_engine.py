"""Database engine: pragmas, sessions, cascades, tombstones, paths, typed errors, two users at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import (
    Database,
    DiskFullError,
    Embedding,
    EmbeddingTombstone,
    LibraryBusyError,
    LibraryError,
    LibraryNotFoundError,
    LibraryReadOnlyError,
    Media,
    Model,
    Root,
    inside_folder,
    prefix_range,
    translate_db_errors,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "library.db")
    yield database
    database.close()


def _media(root: Root, path: str, kind: str = "photo") -> Media:
    return Media(root=root, path=path, kind=kind, size=1, mtime_ns=1, date=0.0, status="indexed")


def _populate(db: Database) -> dict[str, int]:
    """Two roots; root /r1 has two photos with one embedding each and a video with two keyframes."""
    with db.session() as s:
        model = Model(name="m", embed_dim=4, created_at=0.0)
        r1, r2 = Root(path="/r1", added_at=0.0), Root(path="/r2", added_at=0.0)
        p1, p2, v = _media(r1, "/r1/a.jpg"), _media(r1, "/r1/b.jpg"), _media(r1, "/r1/c.mp4", "video")
        p3 = _media(r2, "/r2/d.jpg")
        s.add_all([model, r1, r2, p1, p2, v, p3])
        s.flush()
        vec = b"\0" * 16
        s.add_all([Embedding(media_id=m.id, model_id=model.id, vector=vec) for m in (p1, p2, p3)])
        s.add_all([Embedding(media_id=v.id, model_id=model.id, timestamp=t, vector=vec) for t in (0.0, 2.0)])
        s.flush()
        return {"model": model.id, "r1": r1.id, "r2": r2.id, "p1": p1.id, "p2": p2.id, "video": v.id, "p3": p3.id}


def _count(db: Database, entity: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(entity))


def test_pragmas_are_set_on_every_connection(db: Database) -> None:
    # Two connections open at the same time: both must carry the settings, not just the first.
    with db.engine.connect() as first, db.engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as s:
        s.add(Root(path="/kept", added_at=1.0))
    with pytest.raises(RuntimeError):
        with db.session() as s:
            s.add(Root(path="/dropped", added_at=1.0))
            s.flush()
            raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalars(select(Root.path)).all() == ["/kept"]


def test_deleting_a_root_cascades_to_media_and_embeddings(db: Database) -> None:
    ids = _populate(db)
    with db.session() as s:
        s.delete(s.get(Root, ids["r1"]))
    assert _count(db, Root) == 1
    with db.session() as s:
        assert s.scalars(select(Media.path)).all() == ["/r2/d.jpg"]
        assert s.scalars(select(Embedding.media_id)).all() == [ids["p3"]]


def test_tombstones_record_direct_and_cascaded_deletes(db: Database) -> None:
    ids = _populate(db)
    with db.session() as s:
        emb = {m: s.scalars(select(Embedding.id).where(Embedding.media_id == ids[m])).all() for m in ids if m not in ("model", "r1", "r2")}

    def tombstoned() -> list[int]:
        with db.session() as s:
            return s.scalars(select(EmbeddingTombstone.embedding_id).order_by(EmbeddingTombstone.seq)).all()

    with db.engine.begin() as conn:  # a plain SQL delete of one embedding
        conn.exec_driver_sql("DELETE FROM embeddings WHERE id = ?", (emb["p1"][0],))
    assert tombstoned() == emb["p1"]
    with db.session() as s:  # media -> embeddings cascade
        s.delete(s.get(Media, ids["video"]))
    assert sorted(tombstoned()) == sorted(emb["p1"] + emb["video"])
    with db.session() as s:  # roots -> media -> embeddings cascade, two levels deep
        s.delete(s.get(Root, ids["r1"]))
    assert sorted(tombstoned()) == sorted(emb["p1"] + emb["video"] + emb["p2"])
    with db.session() as s:  # models -> embeddings cascade
        s.delete(s.get(Model, ids["model"]))
    assert sorted(tombstoned()) == sorted(sum(emb.values(), []))
    with db.session() as s:
        models = set(s.scalars(select(EmbeddingTombstone.model_id)).all())
    assert models == {ids["model"]}


def test_embedding_ids_are_never_reused(db: Database) -> None:
    ids = _populate(db)
    with db.session() as s:
        highest = s.scalar(select(func.max(Embedding.id)))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM embeddings WHERE id = ?", (highest,))
    with db.session() as s:
        fresh = Embedding(media_id=ids["p1"], model_id=ids["model"], vector=b"\0" * 16)
        s.add(fresh)
        s.flush()
        assert fresh.id > highest


def test_non_utf8_path_round_trips_exactly(db: Database) -> None:
    raw = b"/photos/caf\xe9 \xff\xfe.jpg"  # Latin-1 bytes: not valid UTF-8
    name = os.fsdecode(raw)
    with db.session() as s:
        root = Root(path="/photos", added_at=0.0)
        s.add_all([root, _media(root, name), _media(root, "/photos/日本 🐕.jpg")])
    with db.session() as s:
        paths = set(s.scalars(select(Media.path)).all())
    assert paths == {name, "/photos/日本 🐕.jpg"}
    assert os.fsencode(name) == raw
    with db.engine.connect() as conn:
        stored = {row[0] for row in conn.exec_driver_sql("SELECT path FROM media")}
    assert raw in stored  # the exact file system bytes, not a re-encoding


def test_prefix_range_selects_the_folder_and_its_subfolders_only(db: Database) -> None:
    odd_dir = os.fsdecode(b"/a/\xff")
    inside_b = ["/a/b/x.jpg", "/a/b/c/y.jpg", "/a/b/c/d/z.jpg"]
    outside_b = ["/a/bc/z.jpg", "/a/b0.jpg", "/a/b.jpg", "/a/b", "/a/x.jpg", odd_dir + "/p.jpg"]
    with db.session() as s:
        root = Root(path="/a", added_at=0.0)
        s.add_all([root] + [_media(root, p) for p in inside_b + outside_b])

    def inside(folder: str) -> set[str]:
        with db.session() as s:
            return set(s.scalars(select(Media.path).where(inside_folder(Media.path, folder))).all())

    assert inside("/a/b") == set(inside_b)
    assert inside("/a/b/") == set(inside_b)
    assert inside("/a/b/c") == {"/a/b/c/y.jpg", "/a/b/c/d/z.jpg"}
    assert inside("/a/bc") == {"/a/bc/z.jpg"}
    assert inside(odd_dir) == {odd_dir + "/p.jpg"}
    assert inside("/a") == set(inside_b + outside_b)
    assert inside("/") == set(inside_b + outside_b)
    assert prefix_range("/a/b") == (b"/a/b/", b"/a/b0")


def test_open_without_create_refuses_a_missing_library(tmp_path: Path) -> None:
    with pytest.raises(LibraryNotFoundError):
        Database.open(tmp_path / "nowhere" / "library.db", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_open_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "library.db"
    with Database.open(path) as db:
        with db.session() as s:
            s.add(Root(path="/x", added_at=0.0))
    with Database.open(path, create=False) as db:
        assert _count(db, Root) == 1


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` really unwritable, even for root.

    chmod does not stop root (these tests may run as root), so as root we set the immutable
    attribute, which the kernel enforces for every user; otherwise a chmod is enough.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root and the file system does not support chattr +i")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_writing_a_read_only_library_raises_read_only_error(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as db:
        with db.session() as s:
            s.add(Root(path="/kept", added_at=0.0))
    with _read_only(path):
        with Database.open(path) as db:
            with db.session() as s:  # reading still works
                assert s.scalars(select(Root.path)).all() == ["/kept"]
            with pytest.raises(LibraryReadOnlyError):
                with db.session() as s:
                    s.add(Root(path="/new", added_at=0.0))
    with Database.open(path) as db:
        assert _count(db, Root) == 1


def test_creating_a_library_in_a_read_only_folder_raises_read_only_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with _read_only(folder):
        with pytest.raises(LibraryReadOnlyError):
            Database.open(folder / "library.db")
        with pytest.raises(LibraryReadOnlyError):
            Database.open(folder / "sub" / "library.db")


def test_full_database_raises_disk_full_and_keeps_committed_data(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as db:
        with db.session() as s:
            s.add(Root(path="/kept", added_at=0.0))
        with pytest.raises(DiskFullError):
            with db.session() as s:
                # SQLite reports SQLITE_FULL when a file would exceed max_page_count, exactly as on a full disk.
                pages = s.connection().exec_driver_sql("PRAGMA page_count").scalar()
                s.connection().exec_driver_sql(f"PRAGMA max_page_count = {pages + 1}")
                s.add_all(Root(path=f"/big/{i}/" + "x" * 4000, added_at=0.0) for i in range(20))
    with Database.open(path) as db:
        with db.session() as s:
            assert s.scalars(select(Root.path)).all() == ["/kept"]


def test_a_write_lock_held_too_long_raises_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as holder, Database.open(path, busy_timeout_s=0.2) as waiter:
        with holder.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.exec_driver_sql("INSERT INTO roots (path, added_at) VALUES (x'2f68', 0)")
            with pytest.raises(LibraryBusyError):
                with waiter.session() as s:
                    s.add(Root(path="/w", added_at=0.0))
            conn.commit()
        with waiter.session() as s:  # the lock is free again
            s.add(Root(path="/w", added_at=0.0))
        assert _count(holder, Root) == 2


def test_translate_db_errors_leaves_other_errors_alone(db: Database) -> None:
    with pytest.raises(KeyError):
        with translate_db_errors():
            raise KeyError("not a database problem")
    with pytest.raises(Exception) as info:  # a constraint violation is a bug, not a user problem
        with db.session() as s:
            s.add_all([Root(path="/same", added_at=0.0), Root(path="/same", added_at=0.0)])
    assert "UNIQUE" in str(info.value)
    assert not isinstance(info.value, LibraryError)


def test_two_databases_on_one_file_write_and_read_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Database.open(path) as app, Database.open(path) as cli:
        with app.session() as s:
            root = Root(path="/r", added_at=0.0)
            s.add(root)
            s.flush()
            root_id = root.id
        errors: list[BaseException] = []
        per_writer = 40

        def write(db: Database, name: str) -> None:
            try:
                for i in range(per_writer):
                    with db.session() as s:  # one short transaction per file, as the indexer commits
                        s.add(Media(root_id=root_id, path=f"/r/{name}{i}.jpg", kind="photo", size=1, mtime_ns=1, date=0.0))
            except BaseException as exc:  # reported below, in the test thread
                errors.append(exc)

        writers = [threading.Thread(target=write, args=(db, name)) for db, name in ((app, "app"), (cli, "cli"))]
        for thread in writers:
            thread.start()
        seen = []
        while any(thread.is_alive() for thread in writers):
            seen.append(_count(cli, Media))  # a reader during the writes: never blocked, never fails
        for thread in writers:
            thread.join()
        assert errors == []
        assert seen == sorted(seen)
        assert _count(app, Media) == _count(cli, Media) == 2 * per_writer
