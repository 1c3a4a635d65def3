"""install.sh refuses an old Python before touching the system (no apt-get, no sudo)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/bin/sh
case "$2" in
  *"version_info >="*) exit 1 ;;
  *print*) echo 3.9 ;;
esac
exit 0
"""


def test_old_python_is_refused_with_a_clear_message(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3.9"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    marker = tmp_path / "sudo-called"
    sudo = bin_dir / "sudo"
    sudo.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    sudo.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHON": "python3.9"}
    result = subprocess.run(["bash", str(REPO / "install.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "needs Python 3.11 or newer; python3.9 is 3.9" in result.stderr
    assert not marker.exists()
