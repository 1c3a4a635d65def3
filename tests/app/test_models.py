"""Model management through the service layer and the CLI: Immich-layout import,
list/use/remove, name clashes, corrupt files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.errors import MediaseekError, NotFoundError
from tests.conftest import run_cli


def immich_layout(model_dir: Path, target: Path) -> Path:
    """Lay out an export of ours the way Immich publishes CLIP models."""
    from open_clip.tokenizer import SimpleTokenizer

    from indexer.tokenizer import default_bpe_path
    from tests.indexer.test_tokenizer import write_hf_files

    manifest = json.loads((model_dir / "manifest.json").read_text())
    (target / "visual").mkdir(parents=True)
    (target / "textual").mkdir()
    shutil.copy(model_dir / "visual.onnx", target / "visual" / "model.onnx")
    shutil.copy(model_dir / "textual.onnx", target / "textual" / "model.onnx")
    write_hf_files(target / "textual", SimpleTokenizer(), default_bpe_path())
    (target / "visual" / "preprocess_cfg.json").write_text(json.dumps({**manifest["preprocess"], "mode": "RGB"}))
    (target / "config.json").write_text(json.dumps({
        "embed_dim": manifest["embed_dim"],
        "vision_cfg": {"image_size": manifest["preprocess"]["size"][0]},
        "text_cfg": {"context_length": 77},
    }))
    return target


def test_import_onnx_immich_layout_gives_the_same_embeddings(library, tmp_path):
    source = immich_layout(library.models.dir_of("tiny"), tmp_path / "immich-tiny")
    manifest = library.models.import_onnx(source, name="immich-tiny")
    assert manifest.source == "onnx-import" and manifest.embed_dim == 32
    assert library.models.active_name == "immich-tiny"
    imported = library.clip().text.encode(["a dog on a beach", "über 🎂 cake!"])
    library.models.use("tiny")
    original = library.clip().text.encode(["a dog on a beach", "über 🎂 cake!"])
    np.testing.assert_allclose(imported, original, atol=1e-6)


def test_import_onnx_rejects_incomplete_folders(library, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaseekError, match="not a model export mediaseek knows"):
        library.models.import_onnx(tmp_path / "empty")
    (tmp_path / "half" / "textual").mkdir(parents=True)
    (tmp_path / "half" / "textual" / "model.onnx").write_bytes(b"x")
    with pytest.raises(MediaseekError, match="visual/model.onnx is missing"):
        library.models.import_onnx(tmp_path / "half")
    with pytest.raises(NotFoundError):
        library.models.import_onnx(tmp_path / "absent")
    assert "empty" not in library.models.names() and "half" not in library.models.names()
    assert not [p for p in library.paths.models.iterdir() if p.name.startswith(".")]


def test_list_use_remove_and_name_rules(library, tmp_path):
    source = immich_layout(library.models.dir_of("tiny"), tmp_path / "src")
    library.models.import_onnx(source, name="second")
    with pytest.raises(MediaseekError, match="already exists"):
        library.models.import_onnx(source, name="second")
    with pytest.raises(MediaseekError, match="invalid model name"):
        library.models.import_onnx(source, name="../escape")
    infos = {i.name: i for i in library.models.list(verify=True)}
    assert set(infos) == {"tiny", "second"} and infos["second"].active and not infos["tiny"].active
    assert infos["tiny"].problems == ()
    library.models.use("tiny")
    assert library.models.active_name == "tiny"
    library.models.remove("tiny")
    assert library.models.names() == ["second"] and library.models.active_name == "second"
    with pytest.raises(NotFoundError):
        library.models.use("tiny")


def test_corrupt_model_file_is_reported_not_crashing(home, tmp_path):
    visual = home / "models" / "tiny" / "visual.onnx"
    visual.write_bytes(b"garbage" * 100)
    listing = run_cli(home, "models", "list", check=True).stdout
    assert "PROBLEM" in listing and "visual.onnx" in listing
    (tmp_path / "photos").mkdir()
    from tests.media import save_jpeg, scene

    save_jpeg(tmp_path / "photos" / "a.jpg", scene("red"))
    result = run_cli(home, "index", tmp_path / "photos")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "tiny" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_import_bad_checkpoint_via_cli_is_one_line(home, tmp_path, tiny_checkpoint):
    config, _ = tiny_checkpoint
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    result = run_cli(home, "models", "import", "--arch", config, "--checkpoint", junk, "--name", "junk")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("mediaseek:")]
    assert errors == ["mediaseek: junk.pt is not a PyTorch checkpoint"] and "Traceback" not in result.stderr
    assert not (home / "models" / "junk").exists()


def test_old_vectors_keep_serving_until_the_new_model_catches_up(library, tmp_path):
    from tests.media import save_jpeg, scene

    for i in range(3):
        save_jpeg(tmp_path / "photos" / f"p{i}.jpg", scene("noise", seed=i))
    library.index([tmp_path / "photos"])
    library.models.import_onnx(immich_layout(library.models.dir_of("tiny"), tmp_path / "src"), name="second")
    assert library.models.active_name == "second"
    assert library.serving_model() == "tiny"
    assert len(library.search("anything")) == 3  # answered from tiny's vectors meanwhile
    report = library.index()
    assert report.embedded == 3
    assert library.serving_model() == "second"
    assert library.status().serving_model == "second"
