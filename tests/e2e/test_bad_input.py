"""An indexing run over a folder full of bad files finishes, keeps the good ones and
records each bad one with a reason; a second run leaves unchanged bad files alone."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import run_cli
from tests.media import png_with_claimed_size, save_jpeg, scene

def build_bad_folder(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    good, bad = {}, {}
    folder.mkdir(parents=True)
    good["plain"] = save_jpeg(folder / "plain.jpg", scene("gradient"), taken=datetime(2020, 1, 2, 3, 4, 5))
    good["rotated"] = save_jpeg(folder / "rotated.jpg", scene("stripes", size=(640, 320)), orientation=6)
    cmyk = folder / "cmyk.jpg"
    scene("checker").convert("CMYK").save(cmyk, "JPEG")
    good["cmyk"] = cmyk
    deep = folder / "deep16.png"
    Image.fromarray((np.linspace(0, 65535, 320 * 240).reshape(240, 320)).astype(np.uint16)).save(deep)
    good["16bit"] = deep
    pal = folder / "palette-alpha.png"
    p = scene("blue").convert("P", palette=Image.ADAPTIVE, colors=16)
    p.info["transparency"] = 0
    p.save(pal, transparency=0)
    good["palette"] = pal
    gif = folder / "animated.gif"
    frames = [scene(k, size=(200, 150)) for k in ("red", "blue", "checker")]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    good["animated"] = gif
    weird = folder / os.fsdecode(b"caf\xe9-\xff.jpg")
    save_jpeg(weird, scene("red"))
    good["non-utf8"] = weird

    full = (folder / "plain.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(full[: len(full) // 2])
    bad["truncated"] = folder / "truncated.jpg"
    (folder / "empty.jpg").write_bytes(b"")
    bad["empty"] = folder / "empty.jpg"
    (folder / "notes.png").write_text("this is not a picture\n" * 20)
    bad["text"] = folder / "notes.png"
    bad["bomb"] = png_with_claimed_size(folder / "bomb.png", 40000, 40000)
    locked = save_jpeg(folder / "locked.jpg", scene("noise"))
    locked.chmod(0)
    bad["unreadable"] = locked
    os.symlink(folder, folder / "loop")  # symlink loop back to the folder itself
    os.symlink(folder / "missing.jpg", folder / "dangling.jpg")
    return good, bad


# As root, file permissions do not apply; drop the capabilities that bypass them so the
# unreadable file is really unreadable to the indexer (setpriv is part of util-linux).
WITHOUT_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
               "--inh-caps", "-dac_override,-dac_read_search"]


def index_cmd(home: Path, folder: Path) -> subprocess.CompletedProcess:
    return run_cli(home, "index", folder, prefix=WITHOUT_DAC if os.geteuid() == 0 else None)


def test_bad_files_are_recorded_and_the_run_finishes(home, tmp_path):
    folder = tmp_path / "photos"
    good, bad = build_bad_folder(folder)
    lib_home = home

    first = index_cmd(lib_home, folder)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert f"{len(good)} indexed" in first.stdout and f"{len(bad)} failed" in first.stdout

    status = json.loads(run_cli(lib_home, "status", "--json", check=True).stdout)
    reasons = {f["path"]: f["reason"] for f in status["failed"]}
    assert set(reasons) == {str(p) for p in bad.values()}
    assert "truncated" in reasons[str(bad["truncated"])] or "corrupt" in reasons[str(bad["truncated"])]
    assert "empty" in reasons[str(bad["empty"])]
    assert "not an image" in reasons[str(bad["text"])]
    assert "decompression bomb" in reasons[str(bad["bomb"])]
    assert "permission" in reasons[str(bad["unreadable"])]
    text_status = run_cli(lib_home, "status", check=True).stdout
    assert "failed files:" in text_status and "decompression bomb" in text_status

    # every good file is searchable, including the non-UTF-8 name
    results = json.loads(run_cli(lib_home, "search", "anything", "--limit", "50", "--json", check=True).stdout)
    assert {r["path"] for r in results} == {str(p) for p in good.values()}

    # the second run does not retry unchanged bad files
    with sqlite3.connect(lib_home / "library.db") as conn:
        before = dict(conn.execute("select path, indexed_at from media where status = 'failed'").fetchall())
    second = index_cmd(lib_home, folder)
    assert second.returncode == 0
    assert " 0 indexed" in second.stdout and f"{len(bad)} known-bad unchanged" in second.stdout
    with sqlite3.connect(lib_home / "library.db") as conn:
        after = dict(conn.execute("select path, indexed_at from media where status = 'failed'").fetchall())
    assert after == before

    # ...but retries one that changed: the truncated file gets fixed
    shutil.copy(good["plain"], bad["truncated"])
    third = index_cmd(lib_home, folder)
    assert "1 indexed" in third.stdout and "1 changed" in third.stdout


def test_file_deleted_mid_run_is_dropped_without_stopping(library, tmp_path):
    from indexer.pipeline import EmbeddingPipeline
    from indexer.sync import LibrarySync

    folder = tmp_path / "photos"
    paths = [save_jpeg(folder / f"p{i}.jpg", scene("noise", seed=i)) for i in range(5)]
    root = library.add_roots([folder])[0]
    LibrarySync(library.db).run([(root.id, root.path)])
    os.remove(paths[2])  # vanishes between the scan and the decode
    clip = library.clip()
    pipeline = EmbeddingPipeline(library.db, clip, library._model_row(clip), batch_size=2)
    report = pipeline.run(pipeline.pending_jobs())
    assert report.embedded == 4 and report.failed == 0 and report.removed == 1
    assert len(library.search("x", library_filters(limit=10))) == 4


def library_filters(**kw):
    from app.library import SearchFilters

    return SearchFilters(**kw)
