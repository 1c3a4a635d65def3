"""End to end: `mediaseek duplicates` on a generated library with planted copies, the trash in a
temporary XDG data folder, and the library forgetting what was trashed."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.duplicates_media import BURST, SAME_COPIES, build_library


@pytest.fixture
def indexed(home, tmp_path):
    photos = tmp_path / "photos"
    paths = {k: str(v) for k, v in build_library(photos).items()}
    run_cli(home, "index", photos, check=True)
    xdg = tmp_path / "xdg-data"
    return home, photos, paths, {"XDG_DATA_HOME": str(xdg)}, xdg / "Trash"


def _groups(home: Path, *args: str, env=None) -> list[dict]:
    result = run_cli(home, "duplicates", *args, "--json", env=env, check=True)
    return json.loads(result.stdout)


def test_duplicates_json_text_and_trash(indexed):
    home, photos, p, env, trash = indexed
    groups = _groups(home)
    assert [g["kind"] for g in groups] == ["same", "exact", "similar"]  # largest reclaimable first
    same, exact, similar = groups
    assert {f["path"] for f in exact["files"]} == {p["a"], p["a_copy"]} and exact["keep"] == p["a_copy"]
    assert {f["path"] for f in same["files"]} == {p["a_copy"], *(p[k] for k in SAME_COPIES)}
    assert same["keep"] == p["a_copy"] and same["reason"] == "more metadata (date taken, camera)"
    assert {f["path"] for f in similar["files"]} == {p[k] for k in BURST} and similar["reclaimable"] == 0
    assert same["reclaimable"] == sum(os.path.getsize(p[k]) for k in SAME_COPIES)
    assert exact["reclaimable"] == os.path.getsize(p["a"])
    small = next(f for f in same["files"] if f["path"] == p["a_small"])
    assert (small["width"], small["height"], small["size"]) == (400, 300, os.path.getsize(p["a_small"]))
    assert {"path", "size", "width", "height", "date"} <= set(small)
    assert set(exact) >= {"kind", "keep", "files", "reclaimable"}

    assert _groups(home, "--kind", "similar") == [similar]
    scoped = _groups(home, "--folder", photos / "copies", "--kind", "same")
    assert len(scoped) == 1 and scoped[0]["files"] == same["files"]

    text = run_cli(home, "duplicates", check=True).stdout
    assert f"same picture: {len(SAME_COPIES) + 1} files" in text and "exact copies: 2 files" in text and "similar shots: 3 files" in text
    assert "3 groups (exact 1, same 1, similar 1)" in text and "reclaimable with 'mediaseek duplicates --trash'" in text

    # --trash: every non-kept file of exact and same groups goes to the (temporary) desktop trash
    result = run_cli(home, "duplicates", "--trash", env=env, check=True)
    moved = {line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("trashed ")}
    expected = {p["a"], *(p[k] for k in SAME_COPIES)}
    assert moved == expected
    assert f"moved {len(expected)} files to the trash" in result.stdout
    assert not any(os.path.exists(x) for x in expected)
    assert {x.name for x in (trash / "files").iterdir()} == {os.path.basename(x) for x in expected}
    assert all(os.path.exists(p[k]) for k in ("a_copy", *BURST, "c_left", "c_right", "d", "e"))
    # the library forgot them; similar shots stay
    status = json.loads(run_cli(home, "status", "--json", check=True).stdout)
    assert status["photos"] == len(p) - len(expected)
    assert [g["kind"] for g in _groups(home)] == ["similar"]
    assert run_cli(home, "duplicates", "--trash", env=env, check=True).stdout.strip() == "nothing to move to the trash"


def test_usage_errors_and_failures(indexed):
    home, photos, p, env, trash = indexed
    for args in (["--trash", "--kind", "similar"], ["--kind", "copies"], ["--bogus"]):
        result = run_cli(home, "duplicates", *args, env=env)
        assert result.returncode == 2, result
        assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout
    assert not trash.exists()

    result = run_cli(home, "duplicates", "--folder", photos / "nope")
    assert result.returncode == 1 and result.stderr.strip().endswith(f"folder not found: {photos / 'nope'}")

    # a file that vanished after indexing is left out (it cannot be checked), with a note; the rest go
    os.unlink(p["a_png"])
    result = run_cli(home, "duplicates", "--trash", "--kind", "same", env=env, check=True)
    moved = {line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("trashed ")}
    assert moved == {p[k] for k in SAME_COPIES if k != "a_png"}
    assert "1 file could not be read" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert os.path.exists(p["a"])  # exact copies were not asked for


def test_exact_copies_without_a_model(indexed):
    home, photos, p, env, trash = indexed
    run_cli(home, "models", "remove", "tiny", check=True)
    result = run_cli(home, "duplicates", "--json", check=True)
    groups = json.loads(result.stdout)
    assert [(g["kind"], {f["path"] for f in g["files"]}) for g in groups] == [("exact", {p["a"], p["a_copy"]})]
    assert result.stderr.count("\n") == 1 and "only exact copies" in result.stderr
