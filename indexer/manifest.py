"""The manifest that describes an exported model directory (`<home>/models/<name>/manifest.json`).

It records everything the runtime needs to use the ONNX files without torch or open_clip:
how to preprocess images, how to tokenize text, the tensor names, and checksums of every file,
plus the parity figures the export was accepted with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
MANIFEST_FILENAME = "manifest.json"

SOURCES = ("open_clip-checkpoint", "open_clip-pretrained", "onnx-import")


class ManifestError(Exception):
    """A manifest is missing, unreadable or does not describe a usable model."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ModelManifest:
    name: str
    arch: str | None
    pretrained: str | None
    source: str
    embed_dim: int
    preprocess: dict
    tokenizer: dict
    files: dict[str, str]
    parity: dict | None
    created_at: str
    visual_input: dict
    textual_input: dict
    # SigLIP-style models: {"logit_scale": multiplier (already exp'd), "logit_bias": float}, so a cosine score maps
    # to a probability sigmoid(scale * score + bias). None when the export does not provide them.
    scores: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> "ModelManifest":
        if not isinstance(data, dict):
            raise ManifestError("manifest is not a JSON object")
        fmt = data.get("format")
        if not isinstance(fmt, int):
            raise ManifestError("manifest has no format number")
        if fmt > MANIFEST_FORMAT:
            raise ManifestError(
                f"manifest format {fmt} is newer than this version of mediaseek understands ({MANIFEST_FORMAT})"
            )
        values = {}
        for field in fields(cls):
            if field.name not in data and field.default is not MISSING:
                continue
            if field.name not in data:
                raise ManifestError(f"manifest has no '{field.name}' field")
            values[field.name] = data[field.name]
        manifest = cls(**values)
        manifest._check_types()
        return manifest

    def _check_types(self) -> None:
        """Reject manifests whose fields would make the runtime fail later in a confusing place."""
        if not isinstance(self.name, str) or not self.name:
            raise ManifestError("manifest 'name' must be a non-empty string")
        if self.source not in SOURCES:
            raise ManifestError(f"manifest 'source' is {self.source!r}, expected one of {', '.join(SOURCES)}")
        if not isinstance(self.embed_dim, int) or isinstance(self.embed_dim, bool) or self.embed_dim <= 0:
            raise ManifestError("manifest 'embed_dim' must be a positive integer")
        for key in ("preprocess", "tokenizer", "visual_input", "textual_input"):
            if not isinstance(getattr(self, key), dict):
                raise ManifestError(f"manifest '{key}' must be an object")
        if not isinstance(self.files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.files.items()
        ):
            raise ManifestError("manifest 'files' must map file names to sha256 strings")
        if self.parity is not None and not isinstance(self.parity, dict):
            raise ManifestError("manifest 'parity' must be an object or null")
        size = self.preprocess.get("size")
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size)):
            raise ManifestError("manifest 'preprocess.size' must be [height, width]")
        for key in ("mean", "std"):
            value = self.preprocess.get(key)
            if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)):
                raise ManifestError(f"manifest 'preprocess.{key}' must be three numbers")
        for key in ("visual_input", "textual_input"):
            io = getattr(self, key)
            if not isinstance(io.get("name"), str):
                raise ManifestError(f"manifest '{key}.name' must be a string")
            for optional in ("output", "mask"):
                if io.get(optional) is not None and not isinstance(io[optional], str):
                    raise ManifestError(f"manifest '{key}.{optional}' must be a string")
            batch = io.get("batch")
            if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
                raise ManifestError(f"manifest '{key}.batch' must be a positive integer or null")
        if self.scores is not None:
            if not isinstance(self.scores, dict) or not all(
                isinstance(self.scores.get(k), (int, float)) and not isinstance(self.scores.get(k), bool)
                for k in ("logit_scale", "logit_bias")
            ):
                raise ManifestError("manifest 'scores' must hold numbers 'logit_scale' and 'logit_bias', or be null")

    def save(self, model_dir: Path) -> None:
        """Write `model_dir/manifest.json` atomically: readers see the old file or the new one, never half."""
        model_dir = Path(model_dir)
        text = json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"
        tmp_name = model_dir / f".{MANIFEST_FILENAME}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            with open(tmp_name, "x", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, model_dir / MANIFEST_FILENAME)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, model_dir: Path) -> "ModelManifest":
        path = Path(model_dir) / MANIFEST_FILENAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ManifestError(f"no {MANIFEST_FILENAME} in {model_dir}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError(f"cannot read {path}: {exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        return cls.from_dict(data)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(model_dir: Path, manifest: ModelManifest) -> list[str]:
    """Check every file the manifest lists; return one problem per bad file (empty when all is well)."""
    model_dir = Path(model_dir)
    problems: list[str] = []
    for name, expected in manifest.files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            problems.append(f"{name}: invalid path")
            continue
        path = model_dir.joinpath(*relative.parts)
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        try:
            actual = sha256_file(path)
        except OSError as exc:
            problems.append(f"{name}: unreadable ({exc.strerror or exc})")
            continue
        if actual != expected.lower():
            problems.append(f"{name}: checksum mismatch")
    return problems
