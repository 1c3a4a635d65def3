"""Hand files to the rest of the desktop: open with the default app, show in the file manager,
copy the path. Paths go to other programs as argument lists, never through a shell.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

from PySide6.QtCore import QMimeData, QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)

# Default video players that can start at a given second: (desktop file prefix, program, option).
_SEEKING_PLAYERS = (
    ("vlc", "vlc", "--start-time={t:.1f}"),
    ("org.videolan.vlc", "vlc", "--start-time={t:.1f}"),
    ("mpv", "mpv", "--start={t:.1f}"),
    ("io.mpv.mpv", "mpv", "--start={t:.1f}"),
)


def open_file(path: str, timestamp: float | None = None) -> bool:
    """Open with the default application; a video at ``timestamp`` when that player allows it."""
    if timestamp and timestamp > 0:
        command = _seeking_player_command(path, timestamp)
        if command is not None:
            log.info("opening %s at %.1fs with %s", path, timestamp, command[0])
            if QProcess.startDetached(command[0], command[1:]):
                return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def _seeking_player_command(path: str, timestamp: float) -> list[str] | None:
    if not sys.platform.startswith("linux") or shutil.which("xdg-mime") is None:
        return None
    try:
        mime = subprocess.run(["xdg-mime", "query", "filetype", path], capture_output=True, text=True,
                              timeout=2).stdout.strip() or "video/mp4"
        default = subprocess.run(["xdg-mime", "query", "default", mime], capture_output=True, text=True,
                                 timeout=2).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    for prefix, program, option in _SEEKING_PLAYERS:
        if default.startswith(prefix) and shutil.which(program):
            return [program, option.format(t=timestamp), "--", path] if program == "mpv" else \
                [program, option.format(t=timestamp), path]
    return None


def reveal_in_file_manager(path: str) -> bool:
    """Show the file selected in its folder; falls back to opening the folder."""
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)])
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            iface = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                                   "org.freedesktop.FileManager1", bus)
            if iface.isValid():
                iface.asyncCall("ShowItems", [QUrl.fromLocalFile(path).toString()], "")
                return True
    except ImportError:
        pass
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def copy_path(path: str) -> None:
    """Put the path on the clipboard as text and as a file URL (file managers paste the file)."""
    mime = QMimeData()
    mime.setText(path)
    mime.setUrls([QUrl.fromLocalFile(path)])
    QGuiApplication.clipboard().setMimeData(mime)


def copy_paths(paths: list[str]) -> None:
    """Several paths: one per line as text, and as file URLs (file managers paste the files)."""
    mime = QMimeData()
    mime.setText("\n".join(paths))
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    QGuiApplication.clipboard().setMimeData(mime)
