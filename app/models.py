"""Installed models: import, install, adopt an ONNX export, list, switch, remove.

Exports happen in a temporary folder beside ``models/`` and move into place only
once parity passed, so a failed or interrupted import never leaves a half model.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import Config
from app.errors import MediaseekError, NotFoundError
# adopt_immich_export moved to app.layouts; still importable from here.
from app.layouts import adopt_export, adopt_immich_export, detect_layout  # noqa: F401
from app.paths import AppPaths
from indexer.manifest import ManifestError, ModelManifest, verify_files

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    arch: str | None
    pretrained: str | None
    source: str
    embed_dim: int
    image_size: tuple[int, int]
    active: bool
    size_bytes: int
    problems: tuple[str, ...]


EXPORT_EXTRA_HINT = "pip install 'mediaseek[export]'"


def _export_module():
    """``indexer.export``, or one line saying how to install what it needs (torch, open_clip: the export extra)."""
    try:
        from indexer import export
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise MediaseekError(f"exporting a model needs PyTorch and open_clip, the export extra "
                             f"({missing} is not installed): run  {EXPORT_EXTRA_HINT}") from exc
    return export


def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise MediaseekError(
            f"invalid model name {name!r}: use letters, digits, '.', '_', '+' or '-' (max 100 characters)"
        )
    return name


class ModelRegistry:
    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths

    # -- queries ---------------------------------------------------------------------
    def _config(self) -> Config:
        return Config.load(self.paths.config)

    @property
    def active_name(self) -> str | None:
        name = self._config().active_model
        if name and (self.paths.models / name / "manifest.json").is_file():
            return name
        return None

    def names(self) -> list[str]:
        if not self.paths.models.is_dir():
            return []
        return sorted(p.name for p in self.paths.models.iterdir()
                      if p.is_dir() and (p / "manifest.json").is_file())

    def dir_of(self, name: str) -> Path:
        path = self.paths.models / name
        if not (path / "manifest.json").is_file():
            raise NotFoundError(f"no model named {name!r} (installed: {', '.join(self.names()) or 'none'})")
        return path

    def list(self, verify: bool = False) -> list[ModelInfo]:
        active = self.active_name
        infos = []
        for name in self.names():
            model_dir = self.paths.models / name
            try:
                manifest = ModelManifest.load(model_dir)
            except ManifestError as exc:
                infos.append(ModelInfo(name, None, None, "?", 0, (0, 0), name == active, 0, (str(exc),)))
                continue
            problems = tuple(verify_files(model_dir, manifest)) if verify else ()
            size = sum(p.stat().st_size for p in model_dir.iterdir() if p.is_file())
            image_size = tuple(manifest.preprocess.get("size", (0, 0)))
            infos.append(ModelInfo(name, manifest.arch, manifest.pretrained, manifest.source, manifest.embed_dim,
                                   image_size, name == active, size, problems))
        return infos

    # -- changes ---------------------------------------------------------------------
    def use(self, name: str) -> None:
        self.dir_of(name)
        config = self._config()
        config.active_model = name
        config.save(self.paths.config)

    def remove(self, name: str) -> None:
        model_dir = self.dir_of(name)
        shutil.rmtree(model_dir)
        shutil.rmtree(self.paths.models / f".download-{name}", ignore_errors=True)  # a resumable download
        config = self._config()
        if config.active_model == name:
            remaining = self.names()
            config.active_model = remaining[0] if remaining else None
            config.save(self.paths.config)

    def _target(self, name: str) -> Path:
        check_name(name)
        target = self.paths.models / name
        if target.exists():
            raise MediaseekError(f"a model named {name!r} already exists: choose another --name or remove it first")
        return target

    def _install(self, target: Path, build: Callable[[Path], ModelManifest]) -> ModelManifest:
        """Run ``build(tmp_dir)`` and move the result into ``target`` atomically."""
        self.paths.models.mkdir(parents=True, exist_ok=True)
        # the pid lets a later install sweep what a killed one left (app.model_install.sweep)
        tmp = self.paths.models / f".{target.name}.partial-{os.getpid()}-{int(time.time() * 1000)}"
        tmp.mkdir()
        try:
            manifest = build(tmp)
            tmp.rename(target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self.use(target.name)
        return manifest

    def import_checkpoint(self, arch: str | None, checkpoint: Path, name: str | None = None,
                          pretrained_tag: str | None = None,
                          progress: Callable[[str], None] | None = None) -> ModelManifest:
        """Export an open_clip checkpoint; ``arch`` None guesses it from the checkpoint's keys and shapes."""
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise NotFoundError(f"checkpoint not found: {checkpoint}")
        if arch is None:
            from app.checkpoint_guess import guess_checkpoint_arch

            arch = guess_checkpoint_arch(checkpoint)
            if progress is not None:
                progress(f"detected architecture {arch}")
        arch_path = Path(arch)
        default_name = arch_path.stem if arch.endswith(".json") else arch
        target = self._target(name or default_name)
        export = _export_module()  # torch is imported only here

        def build(tmp: Path) -> ModelManifest:
            return export.export_checkpoint(arch, checkpoint, tmp, name=target.name,
                                            pretrained_tag=pretrained_tag, progress=progress)

        try:
            return self._run_export(target, build)
        except MediaseekError as exc:
            if "does not fit architecture" not in str(exc):
                raise
            from app import checkpoint_guess

            raise MediaseekError(checkpoint_guess.misfit_line(checkpoint, arch, str(exc))) from exc

    def install(self, spec: str, name: str | None = None,
                progress: Callable[[str], None] | None = None, *, on_download=None, force: bool = False,
                cancel=None) -> ModelManifest:
        """Install a catalogue entry (NAME), a hub repo (hf:OWNER/REPO[@REV]) or open_clip weights
        (ARCH:PRETRAINED, exported locally); downloads go through ``app.hub``."""
        from app import model_install

        kwargs = {"force": force, "on_download": on_download, "cancel": cancel}
        if spec.startswith("hf:"):
            return model_install.install_hf(self, spec[3:], name, **kwargs)
        arch, sep, pretrained = spec.partition(":")
        if not sep:
            return model_install.install_catalogue(self, spec, name, **kwargs)
        if not arch or not pretrained:
            raise MediaseekError(f"expected NAME, hf:OWNER/REPO or ARCH:PRETRAINED (e.g. ViT-B-32:openai), got {spec!r}")
        target_name = check_name(name or f"{arch}_{pretrained}")
        from app import hub

        if hub.is_offline():  # before torch is imported: fail in a moment, not seconds
            raise hub.OfflineError(f"cannot download {spec}: no network connection (offline mode: "
                                   "HF_HUB_OFFLINE is set)")
        target = self.paths.models / target_name
        if not (force and target.exists()):
            self._target(target_name)  # refuses a taken name
        export = _export_module()

        try:
            source = export.pretrained_source(arch, pretrained)
        except export.ExportError as exc:
            raise MediaseekError(str(exc)) from exc
        staging, weights = model_install.download_pretrained_weights(self.paths.models, target.name, source,
                                                                     **kwargs)
        with staging:
            if force and target.exists():  # replaced only once the new weights are here
                self.remove(target_name)

            def build(tmp: Path) -> ModelManifest:
                return export.export_pretrained(arch, pretrained, tmp, name=target.name, progress=progress,
                                                weights=weights)

            return self._run_export(target, build)

    def _run_export(self, target: Path, build: Callable[[Path], ModelManifest]) -> ModelManifest:
        ExportError = _export_module().ExportError

        try:
            return self._install(target, build)
        except ExportError as exc:
            raise MediaseekError(str(exc)) from exc

    def import_onnx(self, source: Path, name: str | None = None) -> ModelManifest:
        """Adopt an ONNX export in any layout ``app.layouts`` knows (Immich, transformers.js, ours)."""
        source = Path(source)
        if not source.is_dir():
            raise NotFoundError(f"folder not found: {source}")
        detect_layout(source)  # refuse an unknown folder before taking its name
        target = self._target(name or source.name)
        return self._install(target, lambda tmp: adopt_export(source, tmp, target.name))
