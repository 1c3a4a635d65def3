"""File-manager integration: "Search with mediaseek" on a folder's context menu.

``install`` writes, for the current user only, the entries each file manager reads
(Linux: a desktop entry plus Nautilus, Nemo, Caja, Dolphin and Thunar; Windows: per-user
registry keys; macOS: a Finder Quick Action). Every entry ends up running
``<command> gui --folder <the folder>`` with the folder as one argument that no shell
ever interprets. ``uninstall`` removes exactly what ``install`` wrote and ``status``
reports each entry.

    from app import integration
    for item in integration.install():
        print(item.target, item.installed, item.path, item.note)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.integration._types import InstalledItem, IntegrationError, check_command

if TYPE_CHECKING:
    from app.integration.registry import RegistryBackend

__all__ = ["InstalledItem", "IntegrationError", "default_command", "install", "uninstall", "status"]


def default_command(platform: str | None = None) -> list[str]:
    """The absolute argv that starts this installation of mediaseek.

    The ``mediaseek`` console script next to the running interpreter when there is one
    (a virtualenv or a pip install), otherwise ``python -m app``. On Windows a console
    script would flash a console window when started from Explorer, so the windowless
    ``pythonw.exe -m app`` is preferred there when it exists.
    """
    platform = _platform(platform)
    python = Path(sys.executable).absolute()
    if platform == "win32":
        pythonw = python.with_name("pythonw.exe")
        if pythonw.exists():
            return [str(pythonw), "-m", "app"]
        script = python.with_name("mediaseek.exe")
    else:
        script = python.with_name("mediaseek")
    if script.exists():
        return [str(script)]
    return [str(python), "-m", "app"]


def install(command: list[str] | None = None, home: Path | None = None, platform: str | None = None,
            *, registry: "RegistryBackend | None" = None) -> list[InstalledItem]:
    """Add "Search with mediaseek" for the current user; running it again updates the entries.

    ``registry`` replaces the Windows registry (tests use the in-memory one).
    """
    platform = _platform(platform)
    command = check_command(command if command is not None else default_command(platform))
    return _module(platform).install(command, _home(home), **_extra(platform, registry))


def uninstall(home: Path | None = None, platform: str | None = None,
              *, registry: "RegistryBackend | None" = None) -> list[InstalledItem]:
    """Remove what ``install`` wrote, and nothing else."""
    platform = _platform(platform)
    return _module(platform).uninstall(_home(home), **_extra(platform, registry))


def status(home: Path | None = None, platform: str | None = None,
           *, registry: "RegistryBackend | None" = None) -> list[InstalledItem]:
    """Where each entry lives and whether it is installed."""
    platform = _platform(platform)
    return _module(platform).status(_home(home), default_command(platform), **_extra(platform, registry))


def _platform(platform: str | None) -> str:
    name = platform or sys.platform
    if name.startswith("win"):
        return "win32"
    if name == "darwin":
        return "darwin"
    if name.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        return "linux"  # the freedesktop file managers run on all of these
    raise IntegrationError(f"file-manager integration is not available on {name}")


def _home(home: Path | None) -> Path | None:
    """An explicit home (tests, tools) or None for the current user's; targets resolve the rest."""
    return None if home is None else Path(os.fsdecode(home)).absolute()


def _module(platform: str):
    if platform == "win32":
        from app.integration import windows
        return windows
    if platform == "darwin":
        from app.integration import macos
        return macos
    from app.integration import linux
    return linux


def _extra(platform: str, registry: "RegistryBackend | None") -> dict:
    return {"registry": registry} if platform == "win32" else {}
