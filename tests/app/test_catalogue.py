"""Catalogue data, layout detection/file selection, and the download progress bar (no network)."""
from __future__ import annotations

import io
import json

import pytest

from app import catalogue
from app.errors import MediaseekError
from app.hub import DownloadProgress, HubError, parse_repo_spec
from app.model_cli import DownloadBar

IMMICH_FILES = ["config.json", "README.md", ".gitattributes", "visual/model.onnx", "visual/preprocess_cfg.json",
                "visual/model.armnn", "visual/fp16/model.armnn", "textual/model.onnx", "textual/vocab.json",
                "textual/merges.txt", "textual/tokenizer.json", "textual/tokenizer_config.json",
                "textual/special_tokens_map.json", "textual/onnx__MatMul_2679", "textual/fp16/model.onnx",
                "textual/rknpu/rk3588/model.rknn"]
TJS_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
             "special_tokens_map.json", "README.md", "onnx/vision_model.onnx", "onnx/text_model.onnx",
             "onnx/vision_model_fp16.onnx", "onnx/text_model_quantized.onnx", "onnx/text_model_q4.onnx",
             "onnx/vision_model_bnb4.onnx"]


def test_immich_layout_needs_the_towers_config_and_tokenizer_only():
    assert catalogue.detect_layout(IMMICH_FILES) == catalogue.IMMICH
    assert [p for p in IMMICH_FILES if catalogue.needed(p, catalogue.IMMICH)] == [
        "config.json", "visual/model.onnx", "visual/preprocess_cfg.json", "textual/model.onnx",
        "textual/vocab.json", "textual/merges.txt", "textual/tokenizer.json", "textual/tokenizer_config.json",
        "textual/special_tokens_map.json", "textual/onnx__MatMul_2679"]


def test_transformers_js_layout_skips_precision_variants():
    assert catalogue.detect_layout(TJS_FILES) == catalogue.TRANSFORMERS_JS
    assert [p for p in TJS_FILES if catalogue.needed(p, catalogue.TRANSFORMERS_JS)] == [
        "config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
        "special_tokens_map.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"]


def test_unknown_layout_and_bad_specs_are_refused():
    with pytest.raises(MediaseekError, match="not in a supported layout"):
        catalogue.detect_layout(["model.safetensors", "config.json"])
    assert parse_repo_spec("immich-app/ViT-B-32__openai@abc123") == ("immich-app/ViT-B-32__openai", "abc123")
    assert parse_repo_spec("a/b") == ("a/b", "main")
    for bad in ("nope", "a/b/c", "../x", "/x"):
        with pytest.raises(HubError):
            parse_repo_spec(bad)


def test_builtin_catalogue_is_complete_and_honest(monkeypatch):
    monkeypatch.delenv("MEDIASEEK_CATALOGUE", raising=False)
    entries = catalogue.entries()
    assert len({e.name for e in entries}) == len(entries)
    assert [e.name for e in entries if e.recommended] == [catalogue.recommended().name]
    for e in entries:
        assert e.layout in (catalogue.IMMICH, catalogue.TRANSFORMERS_JS) and "/" in e.repo
        assert e.quality and e.licence and e.size_source
        assert (e.size_mb is None) == e.size_source.startswith("not verified")
    with pytest.raises(MediaseekError, match="no catalogue model named 'nope'"):
        catalogue.find("nope")


def test_catalogue_override_file(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"name": "x", "repo": "o/r", "layout": "immich", "arch": "a", "languages": "en",
                                 "licence": "MIT", "quality": "q", "size_mb": 1.0, "size_source": "s"}]))
    monkeypatch.setenv("MEDIASEEK_CATALOGUE", str(path))
    assert [e.name for e in catalogue.entries()] == ["x"] and catalogue.recommended().name == "x"
    path.write_text("[{")
    with pytest.raises(MediaseekError, match="cannot read the catalogue"):
        catalogue.entries()


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_download_bar_draws_bytes_rate_eta_and_json_lines():
    out = FakeTTY()
    DownloadBar(out)(DownloadProgress("download", "visual/model.onnx", 120_000_000, 400_000_000, 5_000_000, 56))
    text = out.getvalue()
    assert "120 MB/400 MB" in text and "5 MB/s" in text and "ETA 0:56" in text and "model.onnx" in text
    lines = io.StringIO()
    DownloadBar(lines, json_lines=True)(DownloadProgress("download", "a", 1, 2, 3.0, None))
    assert json.loads(lines.getvalue().removeprefix("progress ")) == {
        "phase": "download", "file": "a", "done": 1, "total": 2, "rate": 3.0, "eta": None}
    silent = io.StringIO()
    DownloadBar(silent)(DownloadProgress("download", "a", 1, 2, 3.0, None))
    assert silent.getvalue() == ""


def test_proxy_environment_decides_where_requests_go(monkeypatch):
    from app import hub

    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    assert hub._route_host("https://huggingface.co/api/models/a/b") == ("huggingface.co", 443)
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:8080")
    assert hub._route_host("https://huggingface.co/api/models/a/b") == ("proxy.example", 8080)
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy.example:3128")
    assert hub._route_host("https://huggingface.co/x") == ("tls-proxy.example", 3128)
    assert hub._route_host("http://mirror.example/x") == ("proxy.example", 8080)
    monkeypatch.setenv("NO_PROXY", "mirror.example,huggingface.co")
    assert hub._route_host("https://huggingface.co/x") == ("huggingface.co", 443)
    assert hub._route_host("http://mirror.example:8000/x") == ("mirror.example", 8000)
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(HubError, match="SOCKS proxies are not supported"):
        hub._route_host("https://example.org/x")


def test_endpoint_and_offline_come_from_the_environment(monkeypatch):
    from app import hub

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert hub.endpoint() == "http://127.0.0.1:9"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.OfflineError, match="HF_HUB_OFFLINE"):
        hub.list_repo_files("a/b")
