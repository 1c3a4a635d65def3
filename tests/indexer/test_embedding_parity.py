"""Our whole image path (draft JPEG decode + numpy preprocessing + ONNX) against open_clip's
own (full decode + torchvision transform + PyTorch) on real photos.

Random ViT-B-32 weights: its embeddings of different photos differ a lot (mean cosine ~0.56),
so a preprocessing mistake shows up; the tiny test model and random MobileCLIP do not
discriminate enough for this check."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REAL_PHOTOS = sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
ARCH = "ViT-B-32"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import open_clip
    import torch

    from indexer.export import export_checkpoint

    folder = tmp_path_factory.mktemp("parity")
    torch.manual_seed(1)
    model = open_clip.create_model(ARCH, pretrained=None)
    torch.save(model.state_dict(), folder / "random.pt")
    manifest = export_checkpoint(ARCH, folder / "random.pt", folder / "model", name="parity",
                                 pretrained_tag="laion2b_s34b_b79k")
    model.eval()
    return folder / "model", model, manifest


@pytest.mark.slow
@pytest.mark.skipif(not REAL_PHOTOS, reason="real photos come from Debian's mate-backgrounds (install.sh)")
def test_embeddings_match_open_clip_on_real_photos(exported):
    import open_clip
    import torch
    from PIL import Image

    from indexer.decode import read_image
    from indexer.encoders import ClipModel
    from indexer.preprocess import draft_target, preprocess

    model_dir, model, manifest = exported
    clip = ClipModel(model_dir, providers=["CPUExecutionProvider"])
    pp = manifest.preprocess
    transform = open_clip.image_transform(tuple(pp["size"]), is_train=False, mean=pp["mean"], std=pp["std"],
                                          resize_mode=pp["resize_mode"], interpolation=pp["interpolation"])
    ours, reference, reduced = [], [], 0
    for path in REAL_PHOTOS:
        image, meta = read_image(path, draft=draft_target(clip.preprocess))
        reduced += meta.reduced is not None
        ours.append(clip.image.encode(preprocess(image, clip.preprocess, meta.reduced)[None])[0])
        with torch.no_grad(), Image.open(path) as full:
            tensor = transform(full.convert("RGB"))[None]
            reference.append(model.encode_image(tensor, normalize=True)[0].numpy())
    ours, reference = np.array(ours), np.array(reference)
    per_image = (ours * reference).sum(axis=1)
    assert reduced == len(REAL_PHOTOS), "every camera-sized JPEG should decode at reduced DCT scale"
    assert per_image.min() >= 0.995, per_image
    # the check can fail: different photos are far apart in this model
    between = reference @ reference.T
    assert between[~np.eye(len(between), dtype=bool)].mean() < 0.9
