"""Guess which open_clip architecture a checkpoint belongs to, from its parameter names and shapes.

Each candidate's expected key -> shape map is built on PyTorch's ``meta`` device (no weights are
allocated) and cached per process. Candidates are prefiltered cheaply: a config's ``embed_dim`` must
occur among the checkpoint's tensor dimensions. Architectures that differ only in activation (the
``-quickgelu`` variants) or preprocessing have identical shapes and cannot be told apart this way;
they are all returned as exact matches, ordered so that a name found in the file name comes first.

torch and open_clip (the export extra) are imported lazily; callers map ImportError to one line.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_shape_cache: dict[tuple[str, str], dict[str, tuple[int, ...]] | None] = {}


@dataclass
class ArchGuess:
    """The outcome of matching one checkpoint against the known architectures."""

    exact: list[str] = field(default_factory=list)  # architectures whose keys and shapes all match, best first
    closest: str | None = None  # best partial match when nothing fits exactly
    closest_score: float = 0.0  # fraction of matching key/shape pairs of the closest
    is_clip: bool = False  # False: the state dict looks nothing like an open_clip CLIP model

    @property
    def best(self) -> str | None:
        return self.exact[0] if self.exact else None


def _expected_shapes(arch: str) -> dict[str, tuple[int, ...]] | None:
    """Key -> shape of ``arch`` built on the meta device; None if open_clip cannot build it offline."""
    import open_clip
    import torch

    key = (open_clip.__version__, arch)
    if key not in _shape_cache:
        from indexer.export_sources import _create_model

        try:
            with torch.device("meta"):
                model = _create_model(arch, pretrained=None, device="meta")
            _shape_cache[key] = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        except Exception as exc:  # a config needing an absent package or a download
            log.debug("cannot build %s on the meta device: %s", arch, exc)
            _shape_cache[key] = None
    return _shape_cache[key]


def _signature_ok(cfg: dict, state: dict[str, tuple[int, ...]]) -> bool:
    """Cheap checks from the config alone: ViT patch embedding and text token embedding widths."""
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    has_trunk = any(k.startswith("visual.trunk.") for k in state)  # timm image towers live under visual.trunk
    if ("timm_model_name" in vision) != has_trunk:
        return False
    conv = state.get("visual.conv1.weight")
    if conv is not None and "timm_model_name" not in vision and len(conv) == 4 and isinstance(vision.get("width"), int):
        if conv[0] != vision["width"] or conv[2] != vision.get("patch_size", conv[2]):
            return False
    tok = state.get("token_embedding.weight")
    if tok is not None and "hf_model_name" not in text and isinstance(text.get("width"), int):
        if tok[1] != text["width"]:
            return False
    return True


def _candidates(state_dims: set[int], extra: list[str], state: dict[str, tuple[int, ...]]) -> list[str]:
    from open_clip.factory import get_model_config

    import open_clip

    names = []
    for name in list(dict.fromkeys(extra + open_clip.list_models())):
        cfg = get_model_config(name) or {}
        if cfg.get("text_cfg", {}).get("hf_model_name") and name not in extra:
            continue  # Hugging Face text towers need a download to build; the exporter refuses them anyway
        if name in extra or (cfg.get("embed_dim") in state_dims and _signature_ok(cfg, state)):
            names.append(name)
    return names


def _fit(state: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> tuple[float, bool]:
    """(fraction of key/shape pairs shared, exact) — ``logit_scale`` rank differences are tolerated."""
    same = sum(1 for k, s in expected.items() if k in state and
               (state[k] == s or (k == "logit_scale" and _numel(state[k]) == _numel(s))))
    total = len(set(expected) | set(state))
    return same / total if total else 0.0, same == len(expected) == len(state)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _name_rank(arch: str, hint: str) -> tuple[int, int]:
    """Prefer an architecture named in the file name (longest name first), then shorter names."""
    found = re.search(r"(?<![A-Za-z0-9])" + re.escape(arch.lower()) + r"(?![A-Za-z0-9-])", hint.lower()) is not None
    return (0 if found else 1, -len(arch) if found else len(arch))


def guess_from_state(state_shapes: dict[str, tuple[int, ...]], *, hint: str = "",
                     extra: list[str] | None = None) -> ArchGuess:
    """Match a key -> shape map against the open_clip architectures (plus ``extra`` registered names)."""
    from open_clip.model import convert_to_custom_text_state_dict

    extra = list(extra or [])
    shapes_custom = None
    if "positional_embedding" in state_shapes:  # plain CLIP layout -> CustomTextCLIP layout, as the importer does
        shapes_custom = convert_to_custom_text_state_dict(dict(state_shapes))
    dims = {d for s in state_shapes.values() for d in s}
    guess = ArchGuess(is_clip=any(k.startswith("visual.") for k in state_shapes))
    scored: list[tuple[float, str]] = []
    for arch in _candidates(dims, extra, state_shapes):
        expected = _expected_shapes(arch)
        if expected is None:
            continue
        score, exact = _fit(state_shapes, expected)
        if shapes_custom is not None and not exact:
            score2, exact = _fit(shapes_custom, expected)
            score = max(score, score2)
        if exact:
            guess.exact.append(arch)
        scored.append((score, arch))
    guess.exact.sort(key=lambda a: (0 if a in extra else 1, *_name_rank(a, hint)))
    if scored:
        score, arch = max(scored, key=lambda t: (t[0], -_name_rank(t[1], hint)[0]))
        if score > 0:
            guess.closest, guess.closest_score = arch, score
    return guess


def guess_architecture(checkpoint: Path, config: Path | None = None) -> ArchGuess:
    """Read ``checkpoint`` the way the importer does and match it; ``config`` is a custom model .json.

    Raises ``ExportError`` (one line) for an unreadable file; ImportError without the export extra.
    """
    from indexer.export_sources import _read_checkpoint, register_arch_config

    checkpoint = Path(checkpoint)
    extra = [register_arch_config(Path(config))] if config is not None else []
    state = _read_checkpoint(checkpoint)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    del state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return guess_from_state(shapes, hint=checkpoint.name, extra=extra)


def describe_misfit(checkpoint: Path, arch: str, detail: str, guess: ArchGuess) -> str:
    """One line for a checkpoint that does not fit ``arch``, naming what it does fit."""
    line = f"{Path(checkpoint).name} does not fit {arch} ({detail})"
    if guess.exact:
        others = f" (same shapes: {', '.join(guess.exact[1:4])})" if len(guess.exact) > 1 else ""
        return f"{line}; it fits {guess.exact[0]}{others}; use --arch {guess.exact[0]}"
    if not guess.is_clip:
        return f"{line}; it is not an open_clip CLIP checkpoint"
    if guess.closest:
        return (f"{line}; no open_clip architecture fits it exactly (closest: {guess.closest}, "
                f"{guess.closest_score:.0%} of parameters match)")
    return f"{line}; no open_clip architecture fits it"
