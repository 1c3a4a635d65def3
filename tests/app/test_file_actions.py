"""Trash with Undo, move and copy keep the library in step without re-embedding."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.file_actions import FileActions
from app.trash import TrashError, move_to_trash, read_info_path, restore
from db import Embedding, Media
from tests.media import save_jpeg, scene


@pytest.fixture
def indexed(library, tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for i, kind in enumerate(["beach", "forest", "city"]):
        save_jpeg(photos / f"p{i}.jpg", scene(kind, seed=i))
    library.index([photos])
    return library, photos


def _rows(library) -> dict[str, int]:
    with library.db.session() as session:
        return dict(session.execute(
            select(Media.path, func.count(Embedding.id)).outerjoin(Embedding).group_by(Media.id)).all())


def test_trash_follows_the_freedesktop_layout_and_restores(tmp_path, xdg_trash):
    photo = tmp_path / "a b%.jpg"
    photo.write_bytes(b"data")
    item = move_to_trash(photo)
    assert not photo.exists()
    assert Path(item.trashed) == xdg_trash / "files" / "a b%.jpg"
    info = (xdg_trash / "info" / "a b%.jpg.trashinfo").read_text()
    assert "Path=" + str(tmp_path).replace(" ", "%20") + "/a%20b%25.jpg" in info
    assert "DeletionDate=" in info
    assert read_info_path(item.info) == str(photo)

    # a second file of the same name gets its own slot
    photo.write_bytes(b"other")
    second = move_to_trash(photo)
    assert second.trashed != item.trashed and Path(second.trashed).read_bytes() == b"other"

    assert restore(item) == str(photo)
    assert photo.read_bytes() == b"data" and not Path(item.info).exists()
    with pytest.raises(TrashError, match="exists again"):
        restore(second)  # the name is taken by the restored first file
    photo.unlink()
    with pytest.raises(TrashError, match="no longer in the trash"):
        restore(item)


def test_trash_of_a_missing_file_is_one_line(tmp_path, xdg_trash):
    with pytest.raises(TrashError, match="no longer exists"):
        move_to_trash(tmp_path / "gone.jpg")
    assert not (xdg_trash / "info").exists() or not any((xdg_trash / "info").iterdir())


def test_library_trash_and_undo_keep_the_vectors(indexed, xdg_trash):
    library, photos = indexed
    actions = FileActions(library)
    before = _rows(library)
    target = str(photos / "p1.jpg")
    assert before[target] == 1

    batch = actions.trash([target, str(photos / "missing.jpg")])
    assert [p for p, _ in batch.done] == [target]
    assert batch.failed and "no longer exists" in batch.failed[0][1]
    assert batch.bytes_freed == os.path.getsize(batch.items[0].trashed)
    assert target not in _rows(library)
    assert all(r.path != target for r in library.search("a photo"))

    report = actions.undo(batch)
    assert report.done == [(target, target)] and not report.failed
    assert _rows(library) == before
    assert any(r.path == target for r in library.search("a photo"))


def test_move_and_copy_keep_the_library_in_step(indexed, tmp_path):
    library, photos = indexed
    actions = FileActions(library)
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    report = actions.move([photos / "p0.jpg"], photos / "sub")
    assert report.done == [(str(photos / "p0.jpg"), str(photos / "sub" / "p0.jpg"))]
    rows = _rows(library)
    assert str(photos / "p0.jpg") not in rows and rows[str(photos / "sub" / "p0.jpg")] == 1

    report = actions.copy([photos / "p2.jpg"], photos / "sub")
    assert not report.failed
    rows = _rows(library)
    assert rows[str(photos / "p2.jpg")] == 1 and rows[str(photos / "sub" / "p2.jpg")] == 1

    # a name that is taken is refused, not overwritten
    report = actions.copy([photos / "p2.jpg"], photos / "sub")
    assert report.failed and "already exists" in report.failed[0][1]

    # moved out of every library folder: forgotten, the file is where the user put it
    report = actions.move([photos / "p1.jpg"], outside)
    assert (outside / "p1.jpg").exists() and str(photos / "p1.jpg") not in _rows(library)

    # nothing to re-embed on the next run
    progress = []
    library.index([photos], on_progress=progress.append)
    assert _rows(library) == {str(photos / "sub" / "p0.jpg"): 1, str(photos / "p2.jpg"): 1,
                              str(photos / "sub" / "p2.jpg"): 1}


def test_trash_undo_and_copy_keep_the_text_read_in_a_photo(library, tmp_path, xdg_trash):
    from PIL import Image, ImageDraw, ImageFont

    photos = tmp_path / "signs"
    photos.mkdir()
    image = Image.new("RGB", (800, 400), (245, 240, 225))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 90)
    ImageDraw.Draw(image).text((60, 140), "GATE B42", font=font, fill=(15, 15, 15))
    save_jpeg(photos / "sign.jpg", image)
    save_jpeg(photos / "plain.jpg", scene("forest", seed=3))
    library.index([photos])
    sign = str(photos / "sign.jpg")
    assert library.search('"B42"')[0].path == sign

    actions = FileActions(library)
    batch = actions.trash([sign])
    assert library.search('"B42"') == []
    actions.undo(batch)
    assert [r.path for r in library.search('"B42"')] == [sign]

    (photos / "copies").mkdir()
    actions.copy([sign], photos / "copies")
    assert sorted(r.path for r in library.search('"B42"')) == [str(photos / "copies" / "sign.jpg"), sign]
    assert library.status().text_pending == 0  # nothing to read again
