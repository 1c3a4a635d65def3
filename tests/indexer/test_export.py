"""Export of open_clip models to ONNX: files, manifest, parity check, refusals.

Fast tests use the tiny architecture from tests/tinyclip.py. Tests marked `slow` export real-size
random-weight architectures (minutes on two cores); deselect them with `-m "not slow"`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import open_clip
import pytest
import torch

from indexer import export
from indexer.export import ExportError, ParityError, export_checkpoint, export_model, export_pretrained
from indexer.manifest import MANIFEST_FORMAT, ManifestError, ModelManifest, sha256_file, verify_files
from tests.tinyclip import TINY_ARCH, TINY_EMBED_DIM, make_tiny_checkpoint, write_tiny_config

@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    config = write_tiny_config(root / "configs")
    checkpoint = make_tiny_checkpoint(root / "tiny.pt", seed=0)
    export.register_arch_config(config)
    return {"config": config, "checkpoint": checkpoint}


@pytest.fixture(scope="module")
def tiny_export(tiny: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("exported") / "tiny"
    seen: list[str] = []
    manifest = export_checkpoint(str(tiny["config"]), tiny["checkpoint"], out, name="tiny", progress=seen.append)
    assert any("parity" in m or "checking" in m for m in seen), seen
    return out, manifest


def _tiny_torch_model(checkpoint: Path) -> torch.nn.Module:
    model = open_clip.create_model(TINY_ARCH, pretrained=None)
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    return model.eval()


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".export-" in p.name)


# --------------------------------------------------------------------------- tiny end to end


def test_tiny_export_writes_model_directory(tiny_export: tuple[Path, ModelManifest]) -> None:
    out, manifest = tiny_export
    assert sorted(p.name for p in out.iterdir()) == [
        "bpe_simple_vocab_16e6.txt.gz",
        "manifest.json",
        "textual.onnx",
        "visual.onnx",
    ]
    assert _leftovers(out.parent) == []
    loaded = ModelManifest.load(out)
    assert loaded == manifest
    assert loaded.name == "tiny"
    assert loaded.arch == TINY_ARCH
    assert loaded.pretrained is None
    assert loaded.source == "open_clip-checkpoint"
    assert loaded.embed_dim == TINY_EMBED_DIM
    assert loaded.preprocess["size"] == [224, 224]
    assert loaded.preprocess["mean"] == pytest.approx(list(open_clip.OPENAI_DATASET_MEAN))
    assert loaded.preprocess["interpolation"] == "bicubic"
    assert loaded.preprocess["resize_mode"] == "shortest"
    assert loaded.tokenizer == {
        "kind": "clip-bpe",
        "files": {"bpe": "bpe_simple_vocab_16e6.txt.gz"},
        "context_length": 77,
        "clean": "lower",
    }
    assert loaded.visual_input == {"name": "image", "dtype": "float32"}
    # causal CLIP text tower: the graph accepts any length and runtime stops at end-of-text
    assert loaded.textual_input == {"name": "text", "dtype": "int64", "trim": "eot"}
    assert set(loaded.files) == {"visual.onnx", "textual.onnx", "bpe_simple_vocab_16e6.txt.gz"}
    assert verify_files(out, loaded) == []
    assert json.loads((out / "manifest.json").read_text())["format"] == MANIFEST_FORMAT


def test_tiny_export_records_parity_figures(tiny_export: tuple[Path, ModelManifest]) -> None:
    _, manifest = tiny_export
    parity = manifest.parity
    assert parity is not None
    assert export.PARITY_MIN_COSINE <= parity["visual_min_cosine"] <= 1.0 + 1e-9
    assert export.PARITY_MIN_COSINE <= parity["textual_min_cosine"] <= 1.0 + 1e-9
    assert parity["visual_samples"] >= 4
    assert parity["textual_samples"] >= 8
    assert parity["samples"] == parity["visual_samples"] + parity["textual_samples"]
    assert {1, 3} <= set(parity["batch_sizes"])


def test_tiny_export_matches_torch_for_any_batch_size(
    tiny: dict[str, Path], tiny_export: tuple[Path, ModelManifest]
) -> None:
    out, manifest = tiny_export
    model = _tiny_torch_model(tiny["checkpoint"])
    visual = _session(out / "visual.onnx")
    textual = _session(out / "textual.onnx")
    assert [i.name for i in visual.get_inputs()] == [manifest.visual_input["name"]]
    assert [i.name for i in textual.get_inputs()] == [manifest.textual_input["name"]]

    rng = np.random.default_rng(7)
    tokenizer = open_clip.get_tokenizer(TINY_ARCH)
    for batch in (1, 5):
        images = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
        texts = tokenizer([f"photo number {i} of a red bicycle" for i in range(batch)]).numpy()
        onnx_image = visual.run(None, {"image": images})[0]
        onnx_text = textual.run(None, {"text": texts})[0]
        with torch.no_grad():
            torch_image = model.encode_image(torch.from_numpy(images)).numpy()
            torch_text = model.encode_text(torch.from_numpy(texts)).numpy()
        assert onnx_image.shape == (batch, TINY_EMBED_DIM)
        assert onnx_text.shape == (batch, TINY_EMBED_DIM)
        np.testing.assert_allclose(onnx_image, torch_image, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(onnx_text, torch_text, rtol=1e-4, atol=1e-5)


def test_export_onnx_files_use_dynamic_batch_and_recent_opset(tiny_export: tuple[Path, ModelManifest]) -> None:
    out, _ = tiny_export
    for filename, input_name in (("visual.onnx", "image"), ("textual.onnx", "text")):
        graph = onnx.load(str(out / filename), load_external_data=False)
        assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
        (model_input,) = graph.graph.input
        assert model_input.name == input_name
        assert model_input.type.tensor_type.shape.dim[0].dim_param  # symbolic, not a fixed size
        (model_output,) = graph.graph.output
        assert model_output.name == "embedding"


def test_export_accepts_registered_name_and_wrapped_checkpoints(tiny: dict[str, Path], tmp_path: Path) -> None:
    state = torch.load(tiny["checkpoint"], weights_only=True)
    wrapped = tmp_path / "ddp.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, wrapped)
    manifest = export_checkpoint(TINY_ARCH, wrapped, tmp_path / "out", name="wrapped")
    assert verify_files(tmp_path / "out", manifest) == []


def test_export_refuses_existing_output_directory(tiny: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(ExportError, match="already exists"):
        export_checkpoint(TINY_ARCH, tiny["checkpoint"], out, name="x")
    assert (out / "keep.txt").read_text() == "user data"


# --------------------------------------------------------------------------- bad checkpoints


def test_missing_checkpoint_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="checkpoint not found") as info:
        export_checkpoint(TINY_ARCH, tmp_path / "nope.pt", tmp_path / "out", name="x")
    assert "nope.pt" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_garbage_checkpoint_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ExportError, match="garbage.pt is not a PyTorch checkpoint"):
        export_checkpoint(TINY_ARCH, garbage, tmp_path / "out", name="x")
    assert not (tmp_path / "out").exists()


def test_checkpoint_with_python_objects_is_refused(tiny: dict[str, Path], tmp_path: Path) -> None:
    pickled = tmp_path / "pickled.pt"
    torch.save({"state_dict": torch.load(tiny["checkpoint"]), "args": _ArbitraryObject()}, pickled)
    with pytest.raises(ExportError, match="weights-only"):
        export_checkpoint(TINY_ARCH, pickled, tmp_path / "out", name="x")


class _ArbitraryObject:
    pass


def test_checkpoint_of_another_architecture_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ExportError) as info:
        export_checkpoint("ViT-B-32", tiny["checkpoint"], tmp_path / "out", name="x")
    reason = str(info.value)
    assert "does not fit architecture ViT-B-32" in reason
    assert "shape mismatches" in reason
    assert "visual." in reason or "text_projection" in reason  # names actual keys
    assert "\n" not in reason
    assert not (tmp_path / "out").exists()


def test_non_model_file_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    tensor_file = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor_file)
    with pytest.raises(ExportError, match="does not contain a model state_dict"):
        export_checkpoint(TINY_ARCH, tensor_file, tmp_path / "out", name="x")


def test_unknown_architecture_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown architecture 'ViT-Q-99'.*list_pretrained"):
        export_checkpoint("ViT-Q-99", tiny["checkpoint"], tmp_path / "out", name="x")


def test_invalid_model_config_is_reported(tiny: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"embed_dim": 32}')
    with pytest.raises(ExportError, match="not an open_clip config"):
        export_checkpoint(str(bad), tiny["checkpoint"], tmp_path / "out", name="x")


def test_non_clip_bpe_tokenizers_are_refused(tiny: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="only CLIP BPE"):
        export_checkpoint("ViT-B-16-SigLIP", tiny["checkpoint"], tmp_path / "out", name="x")
    with pytest.raises(ExportError, match="only CLIP BPE"):
        export_checkpoint("roberta-ViT-B-32", tiny["checkpoint"], tmp_path / "out", name="x")


# --------------------------------------------------------------------------- parity failures


def test_parity_failure_leaves_nothing_behind(
    tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No export can reach cosine 1.5, so this exercises the refusal path on a correct export.
    monkeypatch.setattr(export, "PARITY_MIN_COSINE", 1.5)
    out = tmp_path / "models" / "tiny"
    with pytest.raises(ParityError) as info:
        export_checkpoint(TINY_ARCH, tiny["checkpoint"], out, name="tiny")
    assert "cosine" in str(info.value)
    assert info.value.figures["visual_min_cosine"] > 0.9999
    assert f"{info.value.figures['visual_min_cosine']:.6f}" in str(info.value)
    assert not out.exists()
    assert _leftovers(out.parent) == []


class _BatchSizeDependentVisual(torch.nn.Module):
    """A tower whose Python control flow depends on the batch size.

    The tracer records only the branch taken for the example input, so the ONNX file silently
    behaves differently for a batch of one: exactly the kind of bug the parity check must catch.
    """

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.inner(image)
        if image.shape[0] == 1:
            return -features
        return features


def test_parity_check_catches_a_mistraced_model(tiny: dict[str, Path], tmp_path: Path) -> None:
    model = _tiny_torch_model(tiny["checkpoint"])
    model.visual = _BatchSizeDependentVisual(model.visual)
    out = tmp_path / "broken"
    with pytest.raises(ParityError, match="image encoder disagrees") as info:
        export_model(
            model,
            arch=TINY_ARCH,
            pretrained=None,
            source="open_clip-checkpoint",
            preprocess_cfg={
                "size": [224, 224],
                "mean": [0.5] * 3,
                "std": [0.5] * 3,
                "interpolation": "bicubic",
                "resize_mode": "shortest",
                "fill_color": 0,
            },
            tokenizer_context_length=77,
            out_dir=out,
            name="broken",
        )
    assert info.value.figures["visual_min_cosine"] < 0  # the batch of one comes out negated
    assert info.value.figures["textual_min_cosine"] >= export.PARITY_MIN_COSINE
    assert not out.exists()
    assert _leftovers(tmp_path) == []


# --------------------------------------------------------------------------- online install


def test_export_pretrained_never_downloads(tmp_path: Path) -> None:
    """Downloading is the app's job (app/hub.py, tested against a fake hub in tests/app/test_hub_install.py);
    without a weights file or a cached copy the export says how to get one, at once."""
    with pytest.raises(ExportError) as info:
        export_pretrained("ViT-B-32", "laion2b_s34b_b79k", tmp_path / "out", name="b32", cache_dir=tmp_path / "cache")
    assert str(info.value) == ("the weights of ViT-B-32:laion2b_s34b_b79k are not on this machine: "
                               "'mediaseek models install ViT-B-32:laion2b_s34b_b79k' downloads them")
    assert not (tmp_path / "out").exists()


def test_pretrained_source_names_the_hub_file_safetensors_first() -> None:
    from indexer.export import pretrained_source

    source = pretrained_source("ViT-B-32", "laion2b_s34b_b79k")
    assert source["repo"].startswith("laion/") and source["candidates"][0].endswith(".safetensors")
    with pytest.raises(ExportError, match="SigLIP.*only CLIP BPE"):
        pretrained_source("ViT-B-16-SigLIP", "webli")


def test_install_of_unknown_names_says_how_to_find_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown architecture 'ViT-Z-1'.*list_pretrained"):
        export_pretrained("ViT-Z-1", "openai", tmp_path / "out", name="x")
    with pytest.raises(ExportError, match="unknown pretrained tag 'nope' for ViT-B-32; valid tags: .*openai"):
        export_pretrained("ViT-B-32", "nope", tmp_path / "out", name="x")


def test_install_refuses_siglip_before_downloading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ExportError, match="SigLIP.*only CLIP BPE"):
        export_pretrained("ViT-B-16-SigLIP", "webli", tmp_path / "out", name="x", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


# --------------------------------------------------------------------------- manifest


def test_manifest_verification_reports_damaged_and_missing_files(
    tiny_export: tuple[Path, ModelManifest], tmp_path: Path
) -> None:
    out, manifest = tiny_export
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in manifest.files:
        (copy / name).write_bytes((out / name).read_bytes())
    assert verify_files(copy, manifest) == []
    data = bytearray((copy / "visual.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "visual.onnx").write_bytes(bytes(data))
    (copy / "textual.onnx").unlink()
    assert sorted(verify_files(copy, manifest)) == ["textual.onnx: missing", "visual.onnx: checksum mismatch"]


def test_manifest_round_trip_and_sha256(tmp_path: Path) -> None:
    payload = tmp_path / "visual.onnx"
    payload.write_bytes(b"abc")
    assert sha256_file(payload) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    manifest = _sample_manifest({"visual.onnx": sha256_file(payload)})
    manifest.save(tmp_path)
    assert ModelManifest.load(tmp_path) == manifest
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    manifest.files["../escape.onnx"] = "0" * 64
    assert verify_files(tmp_path, manifest) == ["../escape.onnx: invalid path"]


def test_manifest_load_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest.json"):
        ModelManifest.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        ModelManifest.load(tmp_path)
    data = _sample_manifest({}).to_dict()
    del data["embed_dim"]
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="no 'embed_dim' field"):
        ModelManifest.load(tmp_path)
    data = _sample_manifest({}).to_dict() | {"format": MANIFEST_FORMAT + 1}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="newer"):
        ModelManifest.load(tmp_path)
    data = _sample_manifest({}).to_dict()
    data["preprocess"]["size"] = 224
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="size"):
        ModelManifest.load(tmp_path)


def _sample_manifest(files: dict[str, str]) -> ModelManifest:
    return ModelManifest(
        name="sample",
        arch="ViT-B-32",
        pretrained="openai",
        source="open_clip-pretrained",
        embed_dim=512,
        preprocess={
            "size": [224, 224],
            "mean": [0.1, 0.2, 0.3],
            "std": [0.3, 0.2, 0.1],
            "interpolation": "bicubic",
            "resize_mode": "shortest",
            "fill_color": 0,
        },
        tokenizer={"kind": "clip-bpe", "files": {"bpe": "bpe_simple_vocab_16e6.txt.gz"}, "context_length": 77, "clean": "lower"},
        files=files,
        parity={"visual_min_cosine": 0.99999, "textual_min_cosine": 0.99998, "samples": 16},
        created_at="2024-01-01T00:00:00+00:00",
        visual_input={"name": "image", "dtype": "float32"},
        textual_input={"name": "text", "dtype": "int64"},
    )


# --------------------------------------------------------------------------- real architectures (slow)

_EXPECTED_PREPROCESS = {
    # arch: (size, mean, interpolation)
    "ViT-B-32": ([224, 224], list(open_clip.OPENAI_DATASET_MEAN), "bicubic"),
    "ViT-B-32-256": ([256, 256], list(open_clip.OPENAI_DATASET_MEAN), "bicubic"),
    "ViT-B-16": ([224, 224], list(open_clip.OPENAI_DATASET_MEAN), "bicubic"),
    "MobileCLIP-S1": ([256, 256], [0.0, 0.0, 0.0], "bilinear"),
    "MobileCLIP2-S0": ([256, 256], [0.0, 0.0, 0.0], "bilinear"),
}


def _random_checkpoint(arch: str, path: Path) -> Path:
    torch.manual_seed(0)
    model = open_clip.create_model(arch, pretrained=None)
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("arch", list(_EXPECTED_PREPROCESS))
def test_real_architecture_exports_with_parity(arch: str, tmp_path: Path) -> None:
    checkpoint = _random_checkpoint(arch, tmp_path / f"{arch}.pt")
    started = time.monotonic()
    manifest = export_checkpoint(arch, checkpoint, tmp_path / "out", name=arch.lower())
    elapsed = time.monotonic() - started
    print(f"\n{arch}: export {elapsed:.1f} s, parity {json.dumps(manifest.parity)}")
    size, mean, interpolation = _EXPECTED_PREPROCESS[arch]
    assert manifest.parity["visual_min_cosine"] >= export.PARITY_MIN_COSINE
    assert manifest.parity["textual_min_cosine"] >= export.PARITY_MIN_COSINE
    assert manifest.embed_dim == 512
    assert manifest.preprocess["size"] == size
    assert manifest.preprocess["mean"] == pytest.approx(mean)
    assert manifest.preprocess["interpolation"] == interpolation
    assert verify_files(tmp_path / "out", manifest) == []
    # MobileCLIP's text tower attends both ways (padding included): it must keep all 77 tokens
    assert ("trim" in manifest.textual_input) == (not arch.startswith("MobileCLIP"))


def _conv_count(path: Path) -> int:
    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(node.op_type == "Conv" for node in graph.node)


@pytest.mark.slow
def test_mobileclip_is_reparameterised_before_export(tmp_path: Path) -> None:
    arch = "MobileCLIP2-S0"
    checkpoint = _random_checkpoint(arch, tmp_path / "s0.pt")
    fused = export_checkpoint(arch, checkpoint, tmp_path / "fused", name="fused")

    model = open_clip.create_model(arch, pretrained=None)
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    unfused = export_model(
        model,
        arch=arch,
        pretrained=None,
        source="open_clip-checkpoint",
        preprocess_cfg=fused.preprocess,
        tokenizer_context_length=77,
        out_dir=tmp_path / "unfused",
        name="unfused",
        reparameterize=False,
    )
    fused_convs = _conv_count(tmp_path / "fused" / "visual.onnx")
    unfused_convs = _conv_count(tmp_path / "unfused" / "visual.onnx")
    print(f"\n{arch}: Conv nodes fused {fused_convs} vs unfused {unfused_convs}; parity unfused {json.dumps(unfused.parity)}")
    assert fused_convs < unfused_convs
    assert fused.parity["visual_min_cosine"] >= export.PARITY_MIN_COSINE


@pytest.mark.slow
def test_install_uses_cached_weights_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tag whose weights are already in the Hugging Face cache installs without a network."""
    arch, tag = "MobileCLIP2-S0", "dfndr2b"
    repo = open_clip.get_pretrained_cfg(arch, tag)["hf_hub"].rstrip("/")
    cache = tmp_path / "hf"
    snapshot = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (cache / f"models--{repo.replace('/', '--')}" / "refs").mkdir()
    (cache / f"models--{repo.replace('/', '--')}" / "refs" / "main").write_text("0123abcd")
    _random_checkpoint(arch, snapshot / "open_clip_pytorch_model.bin")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manifest = export_pretrained(arch, tag, tmp_path / "out", name="s0", cache_dir=cache)
    assert manifest.source == "open_clip-pretrained"
    assert manifest.pretrained == tag
    assert manifest.preprocess["mean"] == [0.0, 0.0, 0.0]
    assert manifest.preprocess["std"] == [1.0, 1.0, 1.0]
    assert manifest.parity["visual_min_cosine"] >= export.PARITY_MIN_COSINE


def test_trimmed_text_graph_equals_the_full_context(tiny_export: tuple[Path, ModelManifest]) -> None:
    """Running only up to the last end-of-text token gives the 77-token embedding (causal mask)."""
    import onnxruntime as ort

    from indexer.tokenizer import ClipTokenizer, default_bpe_path

    out, _ = tiny_export
    session = ort.InferenceSession(str(out / "textual.onnx"), providers=["CPUExecutionProvider"])
    tokens = ClipTokenizer.from_bpe_file(default_bpe_path())(["a dog", "a much longer sentence about a red car", ""])
    full = session.run(None, {"text": tokens})[0]
    cut = int(tokens.argmax(axis=1).max()) + 1
    assert cut < 20
    trimmed = session.run(None, {"text": tokens[:, :cut]})[0]
    np.testing.assert_allclose(trimmed, full, atol=1e-4)
