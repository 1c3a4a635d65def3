"""End to end: the real `mediaseek` command on generated photos with known EXIF."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import mediaseek_command, run_cli
from tests.media import save_jpeg, scene

SCENES = ["red", "blue", "stripes", "checker", "gradient", "noise"]


def make_library(folder: Path) -> dict[str, Path]:
    photos = {}
    for i, kind in enumerate(SCENES):
        sub = folder / ("2019" if i < 3 else "2023")
        taken = datetime(2019, 6, 1 + i, 12, 0) if i < 3 else datetime(2023, 3, 1 + i, 9, 30)
        photos[kind] = save_jpeg(sub / f"{kind}.jpg", scene(kind, seed=i), taken=taken, make="Acme", model="Cam 1")
    return photos


def search_json(home: Path, *args: str) -> list[dict]:
    result = run_cli(home, *args, "--json", check=True)
    return json.loads(result.stdout)


def test_import_index_search_similar_round_trip(home, tmp_path):
    photos = make_library(tmp_path / "photos")
    out = run_cli(home, "index", tmp_path / "photos", check=True)
    assert "6 indexed" in out.stdout

    # similar: a copy of each photo outside the library finds the original first
    for kind, path in photos.items():
        probe = tmp_path / f"probe-{kind}.jpg"
        shutil.copy(path, probe)
        results = search_json(home, "similar", probe, "--limit", "3")
        assert results[0]["path"] == str(path)
        assert results[0]["score"] > 0.99
        assert results[0]["kind"] == "photo" and results[0]["timestamp"] is None and results[0]["moments"] == []

    # text search returns every photo once, best first, with the documented shape
    results = search_json(home, "search", "a red photo", "--limit", "10")
    assert sorted(r["path"] for r in results) == sorted(str(p) for p in photos.values())
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert set(results[0]) == {"path", "score", "kind", "timestamp", "moments", "text"}

    # filters: folder scope, date range (EXIF date), limit, min score
    in_2019 = search_json(home, "search", "anything", "--folder", tmp_path / "photos" / "2019")
    assert {Path(r["path"]).parent.name for r in in_2019} == {"2019"} and len(in_2019) == 3
    dated = search_json(home, "search", "anything", "--after", "2023-01-01")
    assert {Path(r["path"]).parent.name for r in dated} == {"2023"}
    early = search_json(home, "search", "anything", "--before", "2019-06-02")
    assert sorted(Path(r["path"]).name for r in early) == ["blue.jpg", "red.jpg"]
    assert len(search_json(home, "search", "anything", "--limit", "2")) == 2
    cut = scores[2]
    assert all(r["score"] >= cut for r in search_json(home, "search", "a red photo", "--min-score", str(cut)))
    assert search_json(home, "search", "anything", "--type", "video") == []

    # plain text output: one line per result, path then score
    text = run_cli(home, "search", "a red photo", "--limit", "2", check=True).stdout.splitlines()
    assert len(text) == 2 and text[0].startswith(results[0]["path"])


def test_text_search_ranks_like_the_model(home, tmp_path, library):
    """The CLI ranking equals cosine(text, image) computed directly with the encoders."""
    import numpy as np

    photos = make_library(tmp_path / "photos")
    run_cli(home, "index", tmp_path / "photos", check=True)
    results = search_json(home, "search", "stripes on a wall")
    clip = library.clip()
    from indexer.decode import read_image
    from indexer.preprocess import draft_target, preprocess

    q = clip.text.encode("stripes on a wall")[0]
    expected = {}
    for path in photos.values():
        image, meta = read_image(path, draft=draft_target(clip.preprocess))
        v = clip.image.encode(preprocess(image, clip.preprocess, meta.reduced)[None])[0]
        expected[str(path)] = float(np.dot(q, v))
    assert [r["path"] for r in results] == sorted(expected, key=expected.get, reverse=True)
    for r in results:
        assert abs(r["score"] - expected[r["path"]]) < 2e-3


def test_rescan_detects_new_changed_moved_and_deleted_files(home, tmp_path):
    photos = make_library(tmp_path / "photos")
    run_cli(home, "index", tmp_path / "photos", check=True)
    # move (rename into another folder) keeps the embedding: nothing re-embedded for it
    moved = tmp_path / "photos" / "moved" / "renamed.jpg"
    moved.parent.mkdir()
    os.rename(photos["red"], moved)
    # delete
    os.remove(photos["blue"])
    # change content
    save_jpeg(photos["stripes"], scene("noise", seed=99))
    # new
    save_jpeg(tmp_path / "photos" / "new.jpg", scene("checker", seed=5))
    out = run_cli(home, "index", check=True).stdout
    assert "1 moved" in out and "1 removed" in out and "1 changed" in out and "1 new" in out
    assert "2 indexed" in out  # the changed and the new one only
    paths = {r["path"] for r in search_json(home, "search", "anything", "--limit", "50")}
    assert str(moved) in paths and str(photos["red"]) not in paths and str(photos["blue"]) not in paths
    assert str(tmp_path / "photos" / "new.jpg") in paths
    # a rescan with no changes embeds nothing
    assert " 0 indexed" in run_cli(home, "index", check=True).stdout


def test_status_reports_roots_model_and_counts(home, tmp_path):
    make_library(tmp_path / "photos")
    run_cli(home, "index", tmp_path / "photos", check=True)
    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert status["active_model"] == "tiny"
    assert status["roots"] == [{"path": str(tmp_path / "photos"), "files": 6, "indexed": 6, "failed": 0,
                                "pending": 0, "exists": True}]
    assert status["photos"] == 6 and status["embeddings"] == 6 and status["failed"] == []
    text = run_cli(home, "status", check=True).stdout
    assert "model: tiny" in text and str(tmp_path / "photos") in text


@pytest.mark.parametrize("args, code", [
    (["serch", "x"], 2),
    (["search"], 2),
    (["search", "x", "--limit", "zero"], 2),
    (["search", "x", "--after", "2020-13-01"], 2),
    (["search", "x", "--type", "gif"], 2),
    (["index", "/definitely/not/here"], 1),
    (["add", "/definitely/not/here"], 1),
    (["similar", "/definitely/not/here.jpg"], 1),
    (["models", "use", "nope"], 1),
    (["remove", "/not/a/root"], 1),
    (["models", "import", "--arch", "ViT-B-32", "--checkpoint", "/nope.pt"], 1),
])
def test_bad_commands_print_one_line_and_no_traceback(home, args, code):
    result = run_cli(home, *args)
    assert result.returncode == code, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("mediaseek")


def test_search_without_model_explains_what_to_do(tmp_path):
    result = run_cli(tmp_path / "empty-home", "search", "cat")
    assert result.returncode == 1
    assert "no model installed" in result.stderr and "models import" in result.stderr


def committed_embeddings(db_path: Path) -> int:
    """Rows another process has committed, read without disturbing it (0 if not readable yet)."""
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from embeddings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_for_embeddings(db_path: Path, at_least: int, timeout: float = 120) -> int:
    deadline = time.time() + timeout
    count = 0
    while time.time() < deadline and count < at_least:
        time.sleep(0.2)
        count = committed_embeddings(db_path)
    return count


def start_indexer(home: Path, folder: Path, photos: int, **popen) -> subprocess.Popen:
    """`mediaseek index` on `photos` new camera-like JPEGs, in small batches so it can be interrupted."""
    for i in range(photos):
        save_jpeg(folder / f"p{i:03d}.jpg", scene(SCENES[i % len(SCENES)], size=(1600, 1200), seed=i))
    env = {**os.environ, "MEDIASEEK_HOME": str(home), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider"}
    return subprocess.Popen([*mediaseek_command(), "index", str(folder), "--batch-size", "2", "--workers", "1"],
                            env=env, **popen)


def test_killed_indexer_resumes_without_reembedding_or_corruption(home, tmp_path):
    proc = start_indexer(home, tmp_path / "many", 48, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = home / "library.db"
    committed = wait_for_embeddings(db_path, 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 6 <= committed < 48, "the run should have been killed part-way"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        before = conn.execute("select count(*) from embeddings").fetchone()[0]
    out = run_cli(home, "index", check=True).stdout
    assert f"{48 - before} indexed" in out
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select count(*) from embeddings").fetchone()[0] == 48
        assert conn.execute("select count(distinct media_id) from embeddings").fetchone()[0] == 48


def test_ctrl_c_stops_cleanly_and_next_run_continues(home, tmp_path):
    proc = start_indexer(home, tmp_path / "many", 40, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db_path = home / "library.db"
    wait_for_embeddings(db_path, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped early" in out and "Traceback" not in err
    done = committed_embeddings(db_path)
    assert done < 40
    assert f"{40 - done} indexed" in run_cli(home, "index", check=True).stdout


def test_search_and_status_work_while_another_process_indexes(home, tmp_path):
    proc = start_indexer(home, tmp_path / "many", 30, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_embeddings(home / "library.db", 2)
        found = json.loads(run_cli(home, "search", "anything", "--limit", "50", "--json", check=True).stdout)
        assert 2 <= len(found) <= 30
        run_cli(home, "status", check=True)
    finally:
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(json.loads(run_cli(home, "search", "x", "--limit", "50", "--json", check=True).stdout)) == 30
