"""Without the `export` extra (no torch, torchvision, open_clip) the app still imports ONNX exports, indexes and
searches; `models import` and `models install ARCH:PRETRAINED` fail with one line giving the pip command."""
from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REPO, run_cli
from tests.media import save_jpeg, scene

BLOCKER = '''
import sys

_BLOCKED = ("torch", "torchvision", "open_clip", "transformers")


class _NoExportExtra:
    """Acts as if the export extra were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoExportExtra())
'''


@pytest.fixture
def no_torch(tmp_path) -> dict:
    folder = tmp_path / "blocker"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}


def test_blocker_really_blocks(tmp_path, no_torch):
    import subprocess
    import sys

    probe = subprocess.run([sys.executable, "-c", "import torch"], env={**os.environ, **no_torch},
                           capture_output=True, text=True)
    assert probe.returncode == 1 and "No module named 'torch'" in probe.stderr


@pytest.mark.parametrize("args", [
    ("models", "import", "--arch", "ViT-B-32", "--checkpoint", "CHECKPOINT"),
    ("models", "install", "ViT-B-32-256:datacomp_s34b_b86k"),
])
def test_export_commands_name_the_pip_command(tmp_path, no_torch, args):
    checkpoint = tmp_path / "weights.pt"
    checkpoint.write_bytes(b"not read")
    args = [str(checkpoint) if a == "CHECKPOINT" else a for a in args]
    result = run_cli(tmp_path / "home", *args, env=no_torch, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "pip install 'mediaseek[export]'" in lines[0] and "PyTorch" in lines[0]
    assert not (tmp_path / "home" / "models").exists() or not any((tmp_path / "home" / "models").iterdir())


def test_runtime_works_without_torch(tmp_path, no_torch):
    from tests.exports import tiny_model, write_immich_export

    source = write_immich_export(tiny_model(seed=3), tmp_path / "immich")
    photos = tmp_path / "photos"
    for i, kind in enumerate(["red", "blue", "stripes"]):
        save_jpeg(photos / f"{kind}.jpg", scene(kind, seed=i))
    home = tmp_path / "home"
    run_cli(home, "models", "import-onnx", source, "--name", "immich", env=no_torch, check=True)
    assert "3 indexed" in run_cli(home, "index", photos, env=no_torch, check=True).stdout
    results = json.loads(run_cli(home, "search", "a red photo", "--json", env=no_torch, check=True).stdout)
    assert len(results) == 3
    status = json.loads(run_cli(home, "status", "--json", env=no_torch, check=True).stdout)
    assert status["provider"] == "CPUExecutionProvider"
