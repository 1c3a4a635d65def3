"""Install models from the hub: a catalogue entry, any repo in a supported layout, or open_clip weights.

Files are downloaded into ``models/.download-NAME/`` (resumable ``.part`` files, an ``owner.json`` naming the
process) and, once all are verified, handed to the registry's import, which moves the finished model into
``models/NAME/``; the staging folder is then deleted, so the weights are stored once. An interrupted install
(Ctrl-C, Stop) deletes its staging folder; one that was killed leaves it, and the next install of the same
name resumes it while any install sweeps what dead processes left under other names.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from app import catalogue, hub
from app.errors import MediaseekError

log = logging.getLogger(__name__)

DownloadCallback = Callable[[hub.DownloadProgress], None]
_PARTIAL = re.compile(r"^\..+\.partial-(\d+)-\d+$")


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        try:
            import psutil

            return psutil.pid_exists(pid)
        except ImportError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(folder: Path) -> int:
    try:
        return int(json.loads((folder / "owner.json").read_text(encoding="utf-8")).get("pid", 0))
    except (OSError, ValueError, AttributeError):
        return 0


def sweep(models_dir: Path, keep: str | None = None) -> list[Path]:
    """Delete what killed installs left: staging and partial folders whose owner process is gone.

    ``keep`` names a staging folder to leave for the caller to resume.
    """
    removed = []
    if not models_dir.is_dir():
        return removed
    for entry in models_dir.iterdir():
        if not entry.is_dir():
            continue
        if entry.name.startswith(".download-"):
            if entry.name == f".download-{keep}" or pid_alive(_owner(entry)):
                continue
        else:
            match = _PARTIAL.match(entry.name)
            if not match or pid_alive(int(match.group(1))):
                continue
        log.info("removing %s left by an interrupted install", entry)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


class Staging:
    """``models/.download-NAME``: claimed by this process, resumed if a dead one left it."""

    def __init__(self, models_dir: Path, name: str) -> None:
        self.path = models_dir / f".download-{name}"
        self.files = self.path / "files"

    def __enter__(self) -> "Staging":
        owner = _owner(self.path) if self.path.exists() else 0
        if owner and owner != os.getpid() and pid_alive(owner):
            raise MediaseekError(f"another install of this model is running (process {owner}); wait for it "
                                 "or stop it first")
        self.files.mkdir(parents=True, exist_ok=True)
        (self.path / "owner.json").write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
        return self

    def __exit__(self, kind, exc, tb) -> None:
        # Keep resumable .part files after a network failure; delete everything after Stop/Ctrl-C,
        # success, or a failure that a retry cannot fix.
        resumable = isinstance(exc, hub.HubError) and not isinstance(
            exc, (hub.DownloadCancelled, hub.HubNotFoundError))
        if not resumable:
            shutil.rmtree(self.path, ignore_errors=True)


def _check_target(registry, name: str, force: bool) -> None:
    from app.models import check_name

    check_name(name)
    if (registry.paths.models / name).exists() and not force:
        raise MediaseekError(f"a model named {name!r} already exists: choose another --name, remove it first, "
                             "or add --force to download it again")


def install_repo(registry, repo: str, revision: str, name: str, *, layout: str | None = None,
                 pins: dict[str, str] | None = None, force: bool = False,
                 on_download: DownloadCallback | None = None, cancel: threading.Event | None = None):
    """Download the files a supported layout needs from ``repo`` and import them as model ``name``."""
    _check_target(registry, name, force)
    models_dir = registry.paths.models
    models_dir.mkdir(parents=True, exist_ok=True)
    sweep(models_dir, keep=name)
    listing = hub.list_repo_files(repo, revision)
    found = catalogue.detect_layout([f.path for f in listing.files])
    if layout and found != layout:
        raise MediaseekError(f"{repo} is in the {found} layout, the catalogue expects {layout}")
    wanted = [f for f in listing.files if catalogue.needed(f.path, found)]
    log.info("installing %s@%s (%s layout): %s", repo, listing.revision, found, ", ".join(f.path for f in wanted))
    with Staging(models_dir, name) as staging:
        hub.download_files(listing, wanted, staging.files, pins=pins, force=force, on_progress=on_download,
                           cancel=cancel)
        if force and (models_dir / name).exists():
            shutil.rmtree(models_dir / name)
        return registry.import_onnx(staging.files, name=name)


def install_catalogue(registry, entry_name: str, name: str | None = None, **kwargs):
    entry = catalogue.find(entry_name)
    return install_repo(registry, entry.repo, entry.revision, name or entry.name, layout=entry.layout,
                        pins=entry.pins, **kwargs)


def install_hf(registry, spec: str, name: str | None = None, **kwargs):
    """``OWNER/REPO[@REVISION]`` (the ``hf:`` prefix already removed)."""
    repo, revision = hub.parse_repo_spec(spec)
    return install_repo(registry, repo, revision, name or repo.split("/")[1], **kwargs)


def download_pretrained_weights(models_dir: Path, name: str, source: dict, *, force: bool = False,
                                on_download: DownloadCallback | None = None,
                                cancel: threading.Event | None = None) -> tuple[Staging, Path]:
    """Fetch open_clip's published weights for an export; returns the claimed staging and the file.

    ``source`` is ``{"repo": ..., "candidates": [filenames, preferred first]}`` or ``{"url": ...}``.
    The repo's file list decides which candidate exists, so a network failure is reported as such
    and never hidden behind a later candidate's 404.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    sweep(models_dir, keep=name)
    staging = Staging(models_dir, name)
    listing = remote = None
    if "url" not in source:
        listing = hub.list_repo_files(source["repo"], source.get("revision", "main"))
        by_path = {f.path: f for f in listing.files}
        remote = next((by_path[c] for c in source["candidates"] if c in by_path), None)
        if remote is None:
            raise hub.HubNotFoundError(f"{source['repo']} has none of {', '.join(source['candidates'])}")
    staging.__enter__()
    try:
        if listing is None:
            target = staging.files / os.path.basename(source["url"].split("?")[0])
            if force:
                target.unlink(missing_ok=True)
            if not target.is_file():
                hub.download_url(source["url"], target, sha256=source.get("sha256"), on_progress=on_download,
                                 cancel=cancel)
            return staging, target
        path, = hub.download_files(listing, [remote], staging.files, force=force, on_progress=on_download,
                                   cancel=cancel)
        return staging, path
    except BaseException as exc:
        staging.__exit__(type(exc), exc, exc.__traceback__)
        raise
