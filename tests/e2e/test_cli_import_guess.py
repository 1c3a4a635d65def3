"""`mediaseek models import` guesses the architecture, and names the right one on a mismatch (real CLI)."""
from __future__ import annotations

import logging

import pytest

from tests.conftest import run_cli

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    """A randomly initialised real open_clip architecture (no download), saved under a misleading name."""
    logging.disable(logging.WARNING)
    try:
        model = open_clip.create_model("ViT-S-32-alt")
    finally:
        logging.disable(logging.NOTSET)
    path = tmp_path_factory.mktemp("small") / "ViT-B-32-256.pt"
    torch.save(model.state_dict(), path)
    return path


def test_import_without_arch_guesses_it(tmp_path, small_checkpoint):
    result = run_cli(tmp_path / "home", "models", "import", "--checkpoint", small_checkpoint, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "detected architecture ViT-S-32-alt" in result.stderr
    assert "installed model ViT-S-32-alt" in result.stdout


def test_import_with_a_wrong_arch_names_the_right_one(tmp_path, small_checkpoint):
    result = run_cli(tmp_path / "home", "models", "import", "--arch", "MobileCLIP2-S0",
                     "--checkpoint", small_checkpoint)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("mediaseek:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "ViT-B-32-256.pt does not fit MobileCLIP2-S0 (" in errors[0]
    assert "missing keys" in errors[0] and "use --arch ViT-S-32-alt" in errors[0]


def test_import_without_arch_of_a_non_clip_file_says_so(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save(torch.nn.Linear(4, 2).state_dict(), path)
    result = run_cli(tmp_path / "home", "models", "import", "--checkpoint", path)
    assert result.returncode == 1
    assert "resnet.pt is not an open_clip CLIP checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
