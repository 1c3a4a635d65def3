"""End to end: text in photos, through the real `mediaseek` command (tiny CLIP model, real OCR).

The tiny model's picture scores are random, so every "found first" below is the text signal's doing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import mediaseek_command, run_cli
from tests.media import draw_text, font_path, photo_background, save_jpeg, scene

pytestmark = pytest.mark.skipif(
    font_path("DejaVuSans-Bold.ttf") is None or font_path("LiberationSerif-Regular.ttf") is None,
    reason="fonts-dejavu-core and fonts-liberation are not installed")
CJK_FONT = "wqy-zenhei.ttc"
SIZE = (800, 600)


def search_json(home: Path, *args: str) -> list[dict]:
    return json.loads(run_cli(home, "search", *args, "--json", check=True).stdout)


def status_json(home: Path) -> dict:
    return json.loads(run_cli(home, "status", "--json", check=True).stdout)


def text_rows(home: Path) -> dict[str, tuple[float, str, str | None]]:
    """path -> (read_at, text, error) as committed, read without disturbing a running indexer."""
    try:
        with sqlite3.connect(f"file:{home / 'library.db'}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT m.path, t.read_at, t.text, t.error FROM media_text t "
                                "JOIN media m ON m.id = t.media_id").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {os.fsdecode(p): (r, t, e) for p, r, t, e in rows}


def fresh_home(tmp_path: Path, template: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(template / "models", home / "models")
    shutil.copy2(template / "config.json", home / "config.json")
    return home


@pytest.fixture(scope="module")
def signs(tmp_path_factory, model_home_template) -> tuple[Path, dict[str, Path]]:
    """One indexed library: photos with text of every sort, and photos without."""
    root = tmp_path_factory.mktemp("text-library")
    home = fresh_home(root, model_home_template)
    folder = root / "photos"
    photos = {
        "gate": save_jpeg(folder / "signs" / "gate.jpg", draw_text(
            photo_background(SIZE, 0), "GATE B42", height=0.1, at=(0.2, 0.3), angle=8)),
        "receipt": save_jpeg(folder / "signs" / "receipt.jpg", draw_text(
            photo_background(SIZE, 1), "Hardware Store Receipt", height=0.06, at=(0.05, 0.6),
            font="LiberationSerif-Regular.ttf")),
        "wifi": save_jpeg(folder / "signs" / "wifi.jpg", draw_text(
            photo_background(SIZE, 2), "wifi password", height=0.05, at=(0.3, 0.2),
            fill=(95, 95, 95), plate=(140, 140, 140))),  # low contrast
    }
    if font_path(CJK_FONT) is not None:
        photos["cafe"] = save_jpeg(folder / "signs" / "cafe.jpg", draw_text(
            photo_background(SIZE, 3), "北京咖啡店", font=CJK_FONT, height=0.1, at=(0.2, 0.4)))
    for i in range(3):
        photos[f"plain{i}"] = save_jpeg(folder / "plain" / f"plain{i}.jpg", photo_background(SIZE, 4 + i))
    photos["noise"] = save_jpeg(folder / "plain" / "noise.jpg", scene("noise", SIZE))
    run_cli(home, "index", folder, check=True)
    return home, photos


def test_a_word_drawn_in_one_photo_finds_it_first(signs):
    home, photos = signs
    cases = [("gate", "gate"), ("B42", "gate"), ("hardware store receipt", "receipt"), ("receipt", "receipt"),
             ("the wifi password", "wifi")]
    if "cafe" in photos:
        cases += [("咖啡", "cafe"), ("北京咖啡店", "cafe")]
    for query, name in cases:
        results = search_json(home, query)
        assert results[0]["path"] == str(photos[name]), (query, results[:3])
        assert results[0]["text"], query
        assert set(results[0]) == {"path", "score", "kind", "timestamp", "moments", "text"}
        assert all(r["text"] is None for r in results[1:]), query  # only one photo holds those words


def test_a_photo_without_text_is_still_found_by_its_picture(signs):
    home, photos = signs
    found = {r["path"] for r in search_json(home, "gate", "--limit", "50")}
    assert {str(photos[f"plain{i}"]) for i in range(3)} <= found
    assert len(search_json(home, "a quiet meadow")) == len(photos)


def test_quoted_words_must_appear_in_the_text(signs):
    home, photos = signs
    assert [r["path"] for r in search_json(home, '"B42"')] == [str(photos["gate"])]
    assert [r["path"] for r in search_json(home, 'sign at "wifi password"')] == [str(photos["wifi"])]
    assert search_json(home, '"B99"') == []
    assert search_json(home, 'airport "gate" "receipt"') == []  # both required, no photo has both
    assert run_cli(home, "search", '"B99"', check=True).stdout.strip() == "no matches"


def test_filters_apply_to_text_matches(signs):
    home, photos = signs
    assert str(photos["gate"]) not in {r["path"] for r in search_json(home, "gate", "--folder", str(photos["plain0"].parent))}
    assert search_json(home, "gate", "--type", "video") == []
    assert [r["path"] for r in search_json(home, "gate", "--limit", "1")] == [str(photos["gate"])]
    assert [r["path"] for r in search_json(home, "gate", "--min-score", "1.1")] == [str(photos["gate"])]
    assert search_json(home, "gate", "--before", "2001-01-01") == []


def test_text_free_photos_hold_no_stray_characters(signs):
    home, photos = signs
    rows = text_rows(home)
    for name, path in photos.items():
        read_at, text, error = rows[str(path)]
        assert error is None
        assert (text == "") == (name.startswith("plain") or name == "noise"), (name, text)
    st = status_json(home)
    texted = sum(1 for name in photos if not (name.startswith("plain") or name == "noise"))
    assert (st["text_read"], st["text_found"], st["text_pending"], st["text_failed"]) == (len(photos), texted, 0, [])
    assert f"text: {len(photos)} photos read ({texted} with text)" in run_cli(home, "status", check=True).stdout


def test_no_text_then_a_killed_text_pass_resumes_and_skips_unchanged_files(tmp_path, model_home_template):
    home = fresh_home(tmp_path, model_home_template)
    folder = tmp_path / "many"
    count = 24
    for i in range(count):
        save_jpeg(folder / f"s{i:02d}.jpg", draw_text(scene("gradient", (480, 360), seed=i), f"ROOM {100 + i}",
                                                      height=0.12, at=(0.15, 0.35)))
    run_cli(home, "index", folder, "--no-text", check=True)
    st = status_json(home)
    assert (st["indexed"], st["text_read"], st["text_pending"]) == (count, 0, count)

    env = {**os.environ, "MEDIASEEK_HOME": str(home), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider"}
    proc = subprocess.Popen([*mediaseek_command(), "index"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and len(text_rows(home)) < 8:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = text_rows(home)
    assert 8 <= len(before) < count, "the text pass should have been killed part-way"

    run_cli(home, "index", check=True)
    after = text_rows(home)
    assert len(after) == count
    assert all(after[path][0] == before[path][0] for path in before), "committed photos were read again"
    assert status_json(home)["text_read"] == count
    first = search_json(home, '"ROOM 100"')
    assert [r["path"] for r in first] == [str(folder / "s00.jpg")]

    # a changed photo is read again; the others are not
    changed = folder / "s05.jpg"
    save_jpeg(changed, draw_text(scene("gradient", (480, 360), seed=99), "KITCHEN", height=0.12, at=(0.15, 0.35)))
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    run_cli(home, "index", check=True)
    final = text_rows(home)
    assert final[str(changed)][1] == "KITCHEN" and final[str(changed)][0] > after[str(changed)][0]
    assert all(final[p][0] == after[p][0] for p in after if p != str(changed))
    assert [r["path"] for r in search_json(home, '"kitchen"')] == [str(changed)]
    assert search_json(home, '"ROOM 105"') == []
    with sqlite3.connect(home / "library.db") as conn:
        conn.execute("INSERT INTO media_text_fts (media_text_fts) VALUES ('integrity-check')")


def test_a_photo_that_cannot_be_read_is_recorded_with_a_reason(tmp_path, model_home_template):
    home = fresh_home(tmp_path, model_home_template)
    folder = tmp_path / "photos"
    good = save_jpeg(folder / "good.jpg", draw_text(scene("gradient", (480, 360)), "EXIT", height=0.15, at=(0.2, 0.3)))
    bad = save_jpeg(folder / "bad.jpg", draw_text(scene("checker", (480, 360)), "ENTRY", height=0.15, at=(0.2, 0.3)))
    run_cli(home, "index", folder, "--no-text", check=True)
    # the file goes bad after the embedding pass, keeping its size and time: only the text pass sees it
    st = bad.stat()
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * (st.st_size - 4))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = run_cli(home, "index", check=True)
    assert "text read in 1 photos (1 unreadable)" in result.stdout
    status = status_json(home)
    assert status["text_read"] == 1
    assert [f["path"] for f in status["text_failed"]] == [str(bad)]
    assert status["text_failed"][0]["reason"].startswith("reading text: ")
    assert "photos whose text could not be read:" in run_cli(home, "status", check=True).stdout
    assert [r["path"] for r in search_json(home, '"exit"')] == [str(good)]
    failed_at = text_rows(home)[str(bad)][0]
    run_cli(home, "index", check=True)  # unchanged: not tried again
    assert text_rows(home)[str(bad)][0] == failed_at
