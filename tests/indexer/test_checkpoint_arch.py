"""Guessing an open_clip architecture from a checkpoint's keys and shapes (indexer/checkpoint_arch.py)."""
from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from app.checkpoint_guess import guess_checkpoint_arch, misfit_line  # noqa: E402
from app.errors import MediaseekError  # noqa: E402
from indexer.checkpoint_arch import guess_architecture, guess_from_state  # noqa: E402
from indexer.export_checks import ExportError  # noqa: E402
from tests.tinyclip import TINY_ARCH  # noqa: E402


def test_tiny_custom_config_checkpoint_is_recognised(tiny_checkpoint):
    config, checkpoint = tiny_checkpoint
    result = guess_architecture(checkpoint, config)
    assert result.best == TINY_ARCH and result.is_clip


def test_wrapped_and_module_prefixed_checkpoint(tiny_checkpoint, tmp_path):
    config, checkpoint = tiny_checkpoint
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, wrapped)
    assert guess_architecture(wrapped, config).best == TINY_ARCH


def test_wrong_arch_names_the_one_that_fits(tiny_checkpoint):
    config, checkpoint = tiny_checkpoint
    guess_architecture(checkpoint, config)  # registers the tiny config in this process
    line = misfit_line(checkpoint, "ViT-B-32",
                       f"{checkpoint.name} does not fit architecture ViT-B-32: 12 missing keys (e.g. a, b)")
    assert "\n" not in line
    assert line.startswith(f"{checkpoint.name} does not fit ViT-B-32 (12 missing keys)")
    assert f"it fits {TINY_ARCH}" in line and f"use --arch {TINY_ARCH}" in line


def test_non_clip_state_dict_is_not_a_clip_checkpoint(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).state_dict(), path)
    result = guess_architecture(path)
    assert result.exact == [] and not result.is_clip
    with pytest.raises(MediaseekError, match="not an open_clip CLIP checkpoint"):
        guess_checkpoint_arch(path)


def test_truncated_and_junk_files_are_one_line_errors(tiny_checkpoint, tmp_path):
    _, checkpoint = tiny_checkpoint
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all\n" * 10)
    for path in (truncated, junk):
        with pytest.raises(ExportError) as info:
            guess_architecture(path)
        assert "\n" not in str(info.value) and path.name in str(info.value)
        with pytest.raises(MediaseekError):
            guess_checkpoint_arch(path)


def _meta_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    logging.disable(logging.WARNING)
    try:
        with torch.device("meta"):
            model = open_clip.create_model(arch, device="meta")
    finally:
        logging.disable(logging.NOTSET)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_real_architectures_vit_b_32_vs_256_vs_quickgelu():
    """ViT-B-32 and ViT-B-32-256 differ in shapes (position embedding); -quickgelu only in activation."""
    shapes = _meta_shapes("ViT-B-32")
    result = guess_from_state(shapes, hint="checkpoint.pt")
    assert "ViT-B-32-256" not in result.exact
    assert set(result.exact) >= {"ViT-B-32", "ViT-B-32-quickgelu"}
    assert result.exact[0] == "ViT-B-32"  # no hint: the plain (shorter) name first
    assert guess_from_state(shapes, hint="ViT-B-32-quickgelu.pt").exact[0] == "ViT-B-32-quickgelu"
    assert guess_from_state(_meta_shapes("ViT-B-32-256"), hint="ViT-B-32.pt").exact == ["ViT-B-32-256"]


def test_real_small_architecture_from_a_file(tmp_path):
    logging.disable(logging.WARNING)
    try:
        model = open_clip.create_model("ViT-S-32-alt")
    finally:
        logging.disable(logging.NOTSET)
    path = tmp_path / "mine.pt"
    torch.save(model.state_dict(), path)
    assert guess_architecture(path).best == "ViT-S-32-alt"
