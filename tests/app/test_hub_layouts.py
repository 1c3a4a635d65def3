"""Every supported layout installed from the fake hub with ``models install hf:OWNER/REPO``, then indexed and
searched: Immich with tokenizer.json only (fixed batch 1) and transformers.js (with fp16/quantized variants the
install must not fetch). Needs the layout adapters (app/layouts.py) and their test exports (tests/exports.py)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.fakehub import FakeHub, leftovers

pytest.importorskip("app.layouts")
exports = pytest.importorskip("tests.exports")
pytest.importorskip("transformers")


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def hub(monkeypatch):
    hub = FakeHub()
    for key, value in {"HF_ENDPOINT": hub.url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
                       "MEDIASEEK_HUB_STALL_S": "5", "MEDIASEEK_HUB_RETRY_S": "0.05"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield hub
    hub.close()


def _install_index_search(home, spec, name, tmp_path):
    from tests.media import save_jpeg, scene

    run_cli(home, "models", "install", spec, "--name", name, check=True)
    photos = tmp_path / "photos"
    for i, kind in enumerate(("red", "blue", "checker")):
        save_jpeg(photos / f"{kind}.jpg", scene(kind, seed=i))
    run_cli(home, "index", photos, check=True)
    assert len(json.loads(run_cli(home, "search", "a red thing", "--json", check=True).stdout)) == 3
    assert leftovers(home) == []


def test_transformers_js_repo_installs_without_variants(hub, tmp_path):
    tokenizer_dir = tmp_path / "tok"
    exports.clip_hf_tokenizer().save_pretrained(str(tokenizer_dir))
    source = exports.write_transformers_js_export(exports.tiny_model(seed=7), tmp_path / "tjs", tokenizer_dir,
                                                  exports.CLIP_PROCESSOR)
    files = _files(source)
    files["onnx/vision_model_fp16.onnx"] = b"variant" * 100
    files["onnx/text_model_quantized.onnx"] = b"variant" * 100
    hub.add_repo("Xenova/tiny-clip", files)
    _install_index_search(tmp_path / "home", "hf:Xenova/tiny-clip", "tjs", tmp_path)
    fetched = " ".join(path for _, path, _ in hub.log)
    assert "vision_model.onnx" in fetched and "_fp16" not in fetched and "_quantized" not in fetched


def test_immich_repo_with_tokenizer_json_only_installs(hub, tmp_path):
    source = exports.write_immich_export(exports.tiny_model(seed=5), tmp_path / "immich", tokenizer="clip-json")
    hub.add_repo("immich-app/tiny-json", _files(source))
    _install_index_search(tmp_path / "home", "hf:immich-app/tiny-json", "immich-json", tmp_path)
