"""The indexing child process on its own: real subprocess, real library, JSON lines on stdout."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from tests.conftest import REPO
from tests.media import save_jpeg, scene


def _spawn(home, *folders):
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider"}
    args = [sys.executable, "-m", "app.index_worker", "--data", str(home), "--cache", str(home / "cache"),
            "--logs", str(home / "logs"), "--providers", "CPUExecutionProvider", "--", *map(str, folders)]
    return subprocess.Popen(args, env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _photos(folder, n):
    for i in range(n):
        save_jpeg(folder / f"IMG_{i:04d}.jpg", scene("noise", (320, 240), seed=i))
    return folder


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_eof_on_stdin_cancels(home, tmp_path):
    folder = _photos(tmp_path / "p", 4)
    proc = _spawn(home, folder)
    out, err = proc.communicate(timeout=180)  # closes stdin at once, as a parent that died would
    lines = _lines(out)
    assert proc.returncode == 0, err
    assert lines[-1]["type"] == "report" and lines[-1]["report"]["cancelled"]


def test_full_run_with_a_broken_file(home, tmp_path):
    folder = _photos(tmp_path / "p", 4)
    (folder / "broken.jpg").write_bytes(b"not a picture")
    proc = _spawn(home, folder)
    out = proc.stdout.read()  # stdin stays open until the run ends
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    lines = _lines(out)
    assert all(line["type"] == "progress" for line in lines[:-1]) and lines[-2]["event"]["phase"] == "done"
    report = lines[-1]["report"]
    assert lines[-1]["type"] == "report" and report["embedded"] == 4 and report["failed"] == 1
    assert not report["cancelled"]
    from app.index_worker import progress_from_dict, report_from_dict

    assert report_from_dict(report).embedded == 4
    assert progress_from_dict(lines[0]["event"]).phase == "scan"


def test_cancel_through_stdin_keeps_committed_items(home, tmp_path):
    folder = _photos(tmp_path / "p", 40)
    proc = _spawn(home, folder)
    proc.stdin.write("pause\n")
    proc.stdin.flush()
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["type"] == "progress" and seen[-1]["event"]["phase"] == "embed":
            break
    proc.stdin.write("cancel\n")
    proc.stdin.flush()
    rest = _lines(proc.stdout.read())
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    report = rest[-1]["report"]
    assert report["cancelled"] and report["embedded"] < 40
    with sqlite3.connect(home / "library.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_no_model_is_one_error_line(tmp_path):
    proc = _spawn(tmp_path / "empty-home", tmp_path)
    out, _ = proc.communicate(timeout=60)
    lines = _lines(out)
    assert proc.returncode == 1 and len(lines) == 1
    assert lines[0]["type"] == "error" and lines[0]["kind"] == "MediaseekError" and "no model" in lines[0]["message"]
