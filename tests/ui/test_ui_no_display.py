"""Without a usable display the app says so in one line and exits 1 (never Qt's abort, 134)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, mediaseek_command, run_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland display rules")


def _env_without_display(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def _run_without(home, env, *args):
    env = {**env, "MEDIASEEK_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([*mediaseek_command(), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("args", [(), ("gui",)])
def test_no_display_exits_1_with_one_line(tmp_path, args):
    result = _run_without(tmp_path / "home", _env_without_display(), *args)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no display" in lines[0] and "command line works" in lines[0]
    assert result.stdout == ""


def test_unreachable_display_exits_1_with_one_line(tmp_path):
    """A display that is named but not there: Qt fails to load its platform plugin."""
    result = _run_without(tmp_path / "home", _env_without_display(DISPLAY=":977"), "gui")
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot open the window" in lines[0] and "command line works" in lines[0]


def test_command_line_still_works_without_display(home):
    result = run_cli(home, "status", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert result.returncode == 0, result.stderr


def test_missing_display_rule():
    from ui.main import missing_display

    assert missing_display({}, "linux") is not None
    assert missing_display({"DISPLAY": ":0"}, "linux") is None
    assert missing_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert missing_display({}, "win32") is None
    assert missing_display({}, "darwin") is None
