"""Published ONNX layouts imported through the real `mediaseek models import-onnx`, checked against open_clip +
PyTorch on the same weights (cosine >= 0.9999), then indexed and searched through the real CLI.

Exports are built here from tiny random open_clip models (tests/exports.py): Immich's fixed batch-1 graphs with
CLIP BPE vocab/merges or tokenizer.json only, an Immich SigLIP-style export (Gemma-like tokenizer.json,
canonicalised text, squash resize, logit scale and bias), and transformers.js exports (HF names, attention mask,
CLIPImageProcessor / SiglipImageProcessor configs).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.exports import (
    CLIP_PROCESSOR,
    OPEN_CLIP_PREPROCESS,
    SIGLIP_PROCESSOR,
    TEXTS,
    clip_hf_tokenizer,
    tiny_model,
    write_immich_export,
    write_transformers_js_export,
)
from tests.media import save_jpeg, scene

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
transformers = pytest.importorskip("transformers")

MIN_COSINE = 0.9999
SCENES = ["red", "blue", "stripes", "checker", "gradient", "noise"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    sizes = [(640, 480), (480, 640), (300, 300), (1000, 333), (224, 224), (150, 400)]
    return {kind: save_jpeg(folder / f"{kind}.jpg", scene(kind, size=sizes[i], seed=i))
            for i, kind in enumerate(SCENES)}


@pytest.fixture(scope="module")
def gemma_tokenizer_dir(tmp_path_factory) -> Path:
    """A SigLIP2-style Gemma tokenizer (trained tiny BPE), saved by transformers with right padding."""
    from tests.indexer.test_text_tokenizer import _build

    folder = tmp_path_factory.mktemp("gemma")
    _build("gemma-siglip2").save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def clip_tokenizer_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clip-tok")
    clip_hf_tokenizer().save_pretrained(str(folder))
    return folder


def _reference_text(model, ids) -> np.ndarray:
    with torch.no_grad():
        return model.encode_text(torch.as_tensor(np.asarray(ids)), normalize=True).numpy()


def _reference_images(model, paths: list[Path], resize_mode: str, interpolation: str, mean, std) -> np.ndarray:
    from PIL import Image

    transform = open_clip.image_transform(224, is_train=False, mean=mean, std=std, resize_mode=resize_mode,
                                          interpolation=interpolation)
    batch = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        return model.encode_image(batch, normalize=True).numpy()


def _ours(home: Path, name: str, paths: list[Path]):
    from PIL import Image

    from indexer.encoders import ClipModel
    from indexer.preprocess import preprocess_batch

    model = ClipModel(home / "models" / name, providers=["CPUExecutionProvider"])
    images = [Image.open(p).convert("RGB") for p in paths]
    return model, model.image.encode(preprocess_batch(images, model.preprocess)), model.text.encode(TEXTS)


def _assert_close(reference: np.ndarray, ours: np.ndarray) -> None:
    assert ours.shape == reference.shape
    cosines = (reference * ours).sum(axis=1) / np.linalg.norm(reference, axis=1) / np.linalg.norm(ours, axis=1)
    assert cosines.min() >= MIN_COSINE, cosines


def _import_index_search(home: Path, source: Path, name: str, photos: dict[str, Path]) -> dict:
    run_cli(home, "models", "import-onnx", source, "--name", name, check=True)
    folder = next(iter(photos.values())).parent
    out = run_cli(home, "index", folder, check=True)
    assert f"{len(photos)} indexed" in out.stdout, out.stdout + out.stderr
    for kind, path in list(photos.items())[:2]:
        probe = home / f"probe-{kind}.jpg"  # outside the library: similar() leaves a library file's own row out
        shutil.copy(path, probe)
        similar = json.loads(run_cli(home, "similar", probe, "--json", "--limit", "3", check=True).stdout)
        assert similar[0]["path"] == str(path) and similar[0]["score"] > 0.99, similar
    results = json.loads(run_cli(home, "search", "a red photo", "--json", check=True).stdout)
    assert sorted(r["path"] for r in results) == sorted(str(p) for p in photos.values())
    return json.loads((home / "models" / name / "manifest.json").read_text())


IMMICH_CASES = ["vocab-merges", "clip-json"]


@pytest.mark.parametrize("tokenizer", IMMICH_CASES)
def test_immich_fixed_batch_export_imports_matches_open_clip_and_indexes(tmp_path, photos, tokenizer):
    model = tiny_model(seed=3)
    source = write_immich_export(model, tmp_path / "immich", tokenizer=tokenizer)
    manifest = _import_index_search(tmp_path / "home", source, "immich", photos)
    assert manifest["visual_input"]["batch"] == 1 and manifest["textual_input"]["batch"] == 1
    assert manifest["textual_input"]["name"] == "text" and manifest["textual_input"]["dtype"] == "int32"
    assert manifest["tokenizer"]["kind"] == ("clip-bpe" if tokenizer == "vocab-merges" else "hf-tokenizers")
    assert manifest["scores"] is None
    clip, images, texts = _ours(tmp_path / "home", "immich", list(photos.values()))
    cfg = {**OPEN_CLIP_PREPROCESS, **open_clip.get_model_preprocess_cfg(model)}
    _assert_close(_reference_images(model, list(photos.values()), cfg["resize_mode"], cfg["interpolation"],
                                    cfg["mean"], cfg["std"]), images)
    _assert_close(_reference_text(model, open_clip.tokenize(TEXTS)), texts)
    assert clip.probability(0.3) is None


def test_immich_siglip_style_export(tmp_path, photos, gemma_tokenizer_dir):
    """Gemma tokenizer.json, open_clip's 'canonicalize' cleaning, squash resize, logit scale and bias."""
    from open_clip.tokenizer import HFTokenizer

    model = tiny_model(seed=5, logit_bias=-7.5)
    preprocess = {"size": [224, 224], "mode": "RGB", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                  "interpolation": "bicubic", "resize_mode": "squash", "fill_color": 0}
    source = write_immich_export(
        model, tmp_path / "siglip", tokenizer="copy", tokenizer_dir=gemma_tokenizer_dir, preprocess=preprocess,
        text_cfg={"hf_tokenizer_name": "timm/tiny-siglip", "tokenizer_kwargs": {"clean": "canonicalize"}})
    manifest = _import_index_search(tmp_path / "home", source, "siglip", photos)
    assert manifest["tokenizer"]["clean"] == "canonicalize" and manifest["tokenizer"]["pad_token"] == "<pad>"
    assert manifest["preprocess"]["resize_mode"] == "squash"
    clip, images, texts = _ours(tmp_path / "home", "siglip", list(photos.values()))
    _assert_close(_reference_images(model, list(photos.values()), "squash", "bicubic", (0.5,) * 3, (0.5,) * 3),
                  images)
    reference_ids = HFTokenizer(str(gemma_tokenizer_dir), context_length=77, clean="canonicalize")(TEXTS)
    _assert_close(_reference_text(model, reference_ids), texts)
    # Relevance as a probability, as open_clip's SigLIP loss defines it.
    score = float(images[0] @ texts[0])
    expected = torch.sigmoid(model.logit_scale.exp() * score + model.logit_bias).item()
    assert clip.probability(score) == pytest.approx(expected, rel=1e-5)
    assert manifest["scores"]["logit_scale"] == pytest.approx(37.5, rel=1e-5)


def test_immich_mclip_style_export(tmp_path, photos):
    """M-CLIP: open_clip's CLIP config of the visual model, an XLM-R tokenizer.json, input_ids + attention_mask."""
    from indexer.tokenizer import clean_text
    from tests.indexer.test_text_tokenizer import _build

    tokenizer_dir = tmp_path / "xlmr"
    _build("xlm-roberta").save_pretrained(str(tokenizer_dir))
    model = tiny_model(seed=11)
    source = write_immich_export(model, tmp_path / "mclip", tokenizer="copy", tokenizer_dir=tokenizer_dir,
                                 with_mask=True)
    manifest = _import_index_search(tmp_path / "home", source, "mclip", photos)
    assert manifest["textual_input"]["mask"] == "attention_mask" and manifest["textual_input"]["batch"] == 1
    assert manifest["tokenizer"]["kind"] == "hf-tokenizers" and manifest["tokenizer"]["pad_token"] == "<pad>"
    _, _, texts = _ours(tmp_path / "home", "mclip", list(photos.values()))
    hf = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    cleaned = [clean_text(t, "whitespace") for t in TEXTS]
    ids = hf(cleaned, padding="max_length", truncation=True, max_length=77)["input_ids"]
    _assert_close(_reference_text(model, ids), texts)


@pytest.mark.parametrize("processor", ["clip", "siglip"])
def test_transformers_js_export(tmp_path, photos, clip_tokenizer_dir, processor):
    model = tiny_model(seed=7, logit_bias=-3.0 if processor == "siglip" else None)
    config = CLIP_PROCESSOR if processor == "clip" else SIGLIP_PROCESSOR
    source = write_transformers_js_export(model, tmp_path / "tjs", clip_tokenizer_dir, config)
    manifest = _import_index_search(tmp_path / "home", source, "tjs", photos)
    assert manifest["visual_input"] == {"name": "pixel_values", "dtype": "float", "output": "image_embeds",
                                        "batch": None, "layout": "transformers.js"}
    assert manifest["textual_input"]["mask"] == "attention_mask"
    assert manifest["textual_input"]["output"] == "text_embeds"
    assert manifest["tokenizer"]["pad_token"] == "<|endoftext|>"  # EOS-padded, as transformers pads CLIP
    clip, images, texts = _ours(tmp_path / "home", "tjs", list(photos.values()))
    if processor == "clip":
        reference = _reference_images(model, list(photos.values()), "shortest", "bicubic",
                                      CLIP_PROCESSOR["image_mean"], CLIP_PROCESSOR["image_std"])
    else:
        reference = _reference_images(model, list(photos.values()), "squash", "bilinear", (0.5,) * 3, (0.5,) * 3)
    _assert_close(reference, images)
    # transformers.js exports are tokenized as transformers does (no open_clip cleaning, EOS padding).
    hf = transformers.AutoTokenizer.from_pretrained(str(clip_tokenizer_dir))
    ids = hf(TEXTS, padding="max_length", truncation=True, max_length=77)["input_ids"]
    _assert_close(_reference_text(model, ids), texts)
    assert (clip.probability(0.2) is None) == (processor == "clip")


def test_transformers_js_without_fp32_or_with_unsupported_preprocessing(tmp_path, clip_tokenizer_dir):
    from app.errors import MediaseekError
    from app.layouts import adopt_export

    model = tiny_model(seed=7)
    source = write_transformers_js_export(model, tmp_path / "tjs", clip_tokenizer_dir, CLIP_PROCESSOR)
    out = tmp_path / "out"
    out.mkdir()
    (source / "onnx" / "vision_model.onnx").rename(source / "onnx" / "vision_model_fp16.onnx")
    home = tmp_path / "home"
    result = run_cli(home, "models", "import-onnx", source)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "onnx/vision_model.onnx (fp32) is missing" in result.stderr.strip().splitlines()[-1]
    assert not (home / "models").exists() or not any((home / "models").iterdir())
    (source / "onnx" / "vision_model_fp16.onnx").rename(source / "onnx" / "vision_model.onnx")
    bad = {**CLIP_PROCESSOR, "size": {"shortest_edge": 256}}
    (source / "preprocessor_config.json").write_text(json.dumps(bad))
    with pytest.raises(MediaseekError, match="resizes to 256 then crops 224x224"):
        adopt_export(source, out, "x")


def test_fixed_batch_model_encodes_any_number_of_rows(tmp_path, photos):
    """Regression: `index` died with 'Got invalid dimensions for input: image ... Got: 6 Expected: 1'."""
    from app.layouts import adopt_export
    from indexer.encoders import ClipModel

    model = tiny_model(seed=3)
    source = write_immich_export(model, tmp_path / "immich")
    out = tmp_path / "model"
    out.mkdir()
    adopt_export(source, out, "m")
    clip = ClipModel(out, providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).standard_normal((7, 3, 224, 224)).astype(np.float32)
    together = clip.image.encode(batch)
    one_by_one = np.concatenate([clip.image.encode(batch[i:i + 1]) for i in range(7)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert clip.image.batch == 1 and together.shape == (7, 32)


def test_onnxruntime_failures_are_one_line(tmp_path, photos):
    """A model whose graph fails at run time, or cannot load, ends `index`/`search` with one line, exit 1."""
    model = tiny_model(seed=3)
    source = write_immich_export(model, tmp_path / "immich")
    home = tmp_path / "home"
    run_cli(home, "models", "import-onnx", source, "--name", "broken", check=True)
    model_dir = home / "models" / "broken"
    manifest = json.loads((model_dir / "manifest.json").read_text())
    # A wrong but existing input type: onnxruntime refuses the feed at run time.
    manifest["visual_input"]["dtype"] = "float"
    shutil.copy(model_dir / "textual.onnx", model_dir / "visual.onnx")
    from indexer.manifest import sha256_file

    manifest["files"]["visual.onnx"] = sha256_file(model_dir / "visual.onnx")
    manifest["visual_input"]["name"] = "text"
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    folder = next(iter(photos.values())).parent
    result = run_cli(home, "index", folder)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "'broken'" in lines[-1] and "onnxruntime" in lines[-1] and "mediaseek models" in lines[-1]
    (model_dir / "textual.onnx").write_bytes(b"garbage")
    result = run_cli(home, "search", "a dog")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "broken" in result.stderr and len(result.stderr.strip().splitlines()) == 1

