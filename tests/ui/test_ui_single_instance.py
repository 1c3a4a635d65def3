"""One window per user and library: a second launch hands its folder over and exits."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from app.paths import AppPaths
from app.single_instance import InstanceServer, decode_message, encode_message, send_to_running, server_name
from tests.conftest import REPO, mediaseek_command, run_cli

HOSTILE = ["with space", "quote's \"double\"", "$HOME `id`; rm -rf x", "-leading-dash", "new\nline",
           os.fsdecode(b"caf\xe9-latin1")]


@pytest.mark.parametrize("name", HOSTILE + [None])
def test_message_round_trips_every_folder_name_exactly(name):
    folder = None if name is None else f"/media/{name}"
    line = encode_message(folder)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert decode_message(line[:-1]) == folder


def test_names_differ_per_library(tmp_path):
    a = AppPaths(tmp_path / "a", tmp_path / "a/c", tmp_path / "a/l")
    b = AppPaths(tmp_path / "b", tmp_path / "b/c", tmp_path / "b/l")
    assert server_name(a) != server_name(b) and server_name(a) == server_name(a)


def test_hand_off_in_process_and_stale_socket_is_replaced(qtbot, tmp_path):
    paths = AppPaths(tmp_path / "home", tmp_path / "home/c", tmp_path / "home/l")
    assert send_to_running(paths, "/x", timeout_ms=200) is False  # nobody listening
    if sys.platform != "win32":  # a socket file left behind by a crashed window
        stale = os.path.join(QDir.tempPath(), server_name(paths))
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(stale)
        sock.close()
        assert os.path.exists(stale)
    server = InstanceServer(paths)
    assert server.listen()
    received = []
    server.folder_received.connect(received.append)
    client = subprocess.Popen(
        [sys.executable, "-c", "import sys, os; from pathlib import Path; from app.paths import AppPaths; "
         "from app.single_instance import send_to_running; "
         "p = Path(sys.argv[1]); print(send_to_running(AppPaths(p, p / 'c', p / 'l'), os.fsdecode(sys.argv[2].encode('utf-8', 'surrogateescape'))))",
         str(paths.data), HOSTILE[-1]],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    qtbot.waitUntil(lambda: bool(received), timeout=20_000)
    out, err = client.communicate(timeout=20)
    assert received == [HOSTILE[-1]]
    assert out.strip() == b"True" and b"did not confirm" not in err
    server.close()


def _read(status: Path) -> dict:
    try:
        return json.loads(status.read_text())
    except (OSError, ValueError):
        return {}


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_second_process_hands_its_folder_to_the_first_window(home, indexed, tmp_path):
    status = tmp_path / "status.json"
    extra = {"QT_QPA_PLATFORM": "offscreen", "MEDIASEEK_GUI_STATUS": str(status)}
    env = {**os.environ, "MEDIASEEK_HOME": str(home), "MEDIASEEK_PROVIDERS": "CPUExecutionProvider",
           "PYTHONPATH": str(REPO), **extra}
    first = subprocess.Popen([*mediaseek_command(), "gui"], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: _read(status).get("visible") and _read(status).get("roots") is not None)
        assert _read(status)["pid"] == first.pid and _read(status)["scope"] is None

        beach = indexed / "beach"
        second = run_cli(home, "gui", "--folder", beach, env=extra, timeout=60)
        assert second.returncode == 0, second.stderr
        _wait(lambda: _read(status).get("scope") == str(beach))
        assert _read(status)["pid"] == first.pid  # the running window took it; no second window
        assert _read(status)["message"] is None  # beach is inside a library folder: nothing to offer

        for name in HOSTILE:
            odd = indexed / name
            odd.mkdir()
            result = run_cli(home, "gui", "--folder", odd, env=extra, timeout=60)
            assert result.returncode == 0, result.stderr
            _wait(lambda odd=odd: _read(status).get("scope") == str(odd))

        outside = tmp_path / "elsewhere"
        outside.mkdir()
        run_cli(home, "gui", "--folder", outside, env=extra, timeout=60, check=True)
        _wait(lambda: _read(status).get("scope") == str(outside))
        assert "not in your library" in _read(status)["message"]

        missing = tmp_path / "no such folder"
        assert run_cli(home, "gui", "--folder", missing, env=extra, timeout=60).returncode == 0
        _wait(lambda: "Folder not found" in (_read(status).get("message") or ""))
        assert _read(status)["scope"] == str(outside)  # unchanged
        assert first.poll() is None  # and the window is still running
    finally:
        first.terminate()
        try:
            _, err = first.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            first.kill()
            _, err = first.communicate()
    assert b"Traceback" not in err, err.decode(errors="replace")


_DROP_SERVER = """
import gc, sys
from pathlib import Path
from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QApplication
from app.paths import AppPaths
from app.single_instance import InstanceServer, encode_message, server_name

app = QApplication([])
home = Path(sys.argv[1])
for i in range(5):
    paths = AppPaths(home / str(i), home / "c", home / "l")
    server = InstanceServer(paths)
    assert server.listen()
    got = []
    server.folder_received.connect(got.append)
    client = QLocalSocket()
    client.connectToServer(server_name(paths))
    assert client.waitForConnected(5000)
    client.write(encode_message("/x"))
    client.flush()
    while not got:
        app.processEvents()
    server.close()
    del server, client  # the server's deferred work runs after its last reference is gone
    app.processEvents()
    gc.collect()
    app.processEvents()
print("clean")
"""


def test_dropping_a_server_after_a_hand_off_is_clean(tmp_path):
    """The server deleted while a served socket awaits deletion: this crashed the test run (exit 139)."""
    result = subprocess.run([sys.executable, "-c", _DROP_SERVER, str(tmp_path)], cwd=REPO, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == b"clean", result.stderr.decode(errors="replace")
