"""Indexing and searching never open a network connection.

The CLI runs with a ``sitecustomize`` that makes every socket connect/resolve fail
and records the attempt, so a library that silently phones home fails this test."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.media import save_jpeg, scene

GUARD = '''
import os, socket
_LOG = os.environ["NET_GUARD_LOG"]
def _deny(*args, **kwargs):
    with open(_LOG, "a") as fh:
        fh.write(repr(args[:2]) + "\\n")
    raise OSError("network disabled by test")
socket.socket.connect = _deny
socket.socket.connect_ex = _deny
socket.create_connection = _deny
socket.getaddrinfo = _deny
'''


def guarded_env(tmp_path: Path) -> dict:
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    log.write_text("")
    repo = Path(__file__).resolve().parents[2]
    return {"PYTHONPATH": f"{guard_dir}{os.pathsep}{repo}", "NET_GUARD_LOG": str(log)}


def test_index_and_search_work_with_sockets_blocked(home, tmp_path):
    env = guarded_env(tmp_path)
    folder = tmp_path / "photos"
    for i, kind in enumerate(("red", "blue", "checker")):
        save_jpeg(folder / f"{kind}.jpg", scene(kind, seed=i))
    run_cli(home, "index", folder, env=env, check=True)
    results = json.loads(run_cli(home, "search", "a blue sky", "--json", env=env, check=True).stdout)
    assert len(results) == 3
    run_cli(home, "similar", folder / "red.jpg", env=env, check=True)
    run_cli(home, "status", env=env, check=True)
    assert (tmp_path / "net.log").read_text() == ""
    # the guard itself works: a sanity check that a connection attempt is caught
    probe = run_cli(home, "models", "install", "ViT-B-32:laion2b_s34b_b79k", env=env)
    assert probe.returncode == 1


def test_models_install_fails_fast_and_clearly_offline(home, tmp_path):
    started = time.monotonic()
    result = run_cli(home, "models", "install", "ViT-B-32:laion2b_s34b_b79k", env={"HF_HUB_OFFLINE": "1"})
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "network" in result.stderr.lower() or "offline" in result.stderr.lower()
    assert elapsed < 60  # includes interpreter and torch start-up; the download attempt itself is immediate
