"""A tiny open_clip architecture for tests that need a real, exportable CLIP model.

The config keeps open_clip's real shapes where the runtime depends on them (224 px images,
77-token context, the 49,408-entry CLIP BPE vocabulary) and shrinks everything else, so
building, saving and exporting the model takes a second or two on a laptop CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_ARCH = "mediaseek-tiny"
TINY_EMBED_DIM = 32
TINY_IMAGE_SIZE = 224
TINY_CONTEXT_LENGTH = 77

_TINY_CONFIG = {
    "embed_dim": TINY_EMBED_DIM,
    "vision_cfg": {
        "image_size": TINY_IMAGE_SIZE,
        "patch_size": 32,
        "width": 64,
        "layers": 2,
        "head_width": 32,
    },
    "text_cfg": {
        "context_length": TINY_CONTEXT_LENGTH,
        "vocab_size": 49408,
        "width": 64,
        "heads": 2,
        "layers": 2,
    },
}


def write_tiny_config(directory: Path) -> Path:
    """Write the tiny model config as `<directory>/mediaseek-tiny.json` and return its path.

    The file stem is the architecture name open_clip registers it under.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{TINY_ARCH}.json"
    path.write_text(json.dumps(_TINY_CONFIG, indent=2), encoding="utf-8")
    return path


def make_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """Save the state_dict of a randomly initialised tiny model (deterministic per seed) to `path`."""
    import open_clip
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    # Built from the config dict directly so no architecture has to be registered first.
    model = open_clip.CLIP(**json.loads(json.dumps(_TINY_CONFIG)))
    torch.save(model.state_dict(), path)
    return path
