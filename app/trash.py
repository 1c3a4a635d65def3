"""The desktop trash (freedesktop.org Trash specification 1.0), with restore for Undo.

mediaseek never deletes a user's file: it moves it to the trash the file manager shows, where the
user can restore it. On Linux (and other freedesktop systems) we implement the specification
ourselves so that a trashed file can be put back exactly where it was (the app's Undo):

* a file on the home trash's device goes to ``$XDG_DATA_HOME/Trash`` (``~/.local/share/Trash``);
* a file on another device goes to ``$topdir/.Trash/$uid`` when the administrator created a
  sticky, non-symlink ``.Trash`` there, else to ``$topdir/.Trash-$uid`` (created on demand);
* the ``.trashinfo`` file is created first with O_EXCL (that reserves the name), then the file is
  renamed into ``files/``; a failed rename removes the info file, so nothing is left half-done.

Elsewhere (Windows, macOS) the platform's trash is reached through ``send2trash`` when installed;
restore is then left to the user's file manager (``TrashedFile.restorable`` is False).
"""
from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

from app.errors import MediaseekError


class TrashError(MediaseekError):
    """A file could not be moved to (or back from) the trash; the text names the file and why."""


@dataclass(frozen=True)
class TrashedFile:
    original: str  # where the file was
    trashed: str | None  # where it is now (None when the platform's trash does not tell)
    info: str | None  # its .trashinfo file (freedesktop only)

    @property
    def restorable(self) -> bool:
        return self.trashed is not None and self.info is not None


def _uses_freedesktop() -> bool:
    return os.name == "posix" and sys.platform != "darwin"


def home_trash() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "Trash"


def _mount_point(path: str) -> str:
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _device(path: str) -> int:
    return os.lstat(path).st_dev


def _trash_dir_for(path: str) -> tuple[Path, str | None]:
    """The trash folder for ``path`` and, for a top-directory trash, the top directory."""
    home = home_trash()
    home_anchor = home
    while not home_anchor.exists() and home_anchor != home_anchor.parent:
        home_anchor = home_anchor.parent
    if _device(str(home_anchor)) == _device(path):
        return home, None
    top = _mount_point(os.path.dirname(path))
    uid = os.getuid()
    admin = os.path.join(top, ".Trash")
    try:
        st = os.lstat(admin)
        if stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode) and st.st_mode & stat.S_ISVTX:
            return Path(admin) / str(uid), top
    except OSError:
        pass
    return Path(top) / f".Trash-{uid}", top


def _reserve_info(trash: Path, name: str, location: str) -> tuple[Path, Path]:
    """Create ``info/<unique>.trashinfo`` atomically; returns (info file, target in files/)."""
    (trash / "files").mkdir(parents=True, exist_ok=True, mode=0o700)
    (trash / "info").mkdir(parents=True, exist_ok=True, mode=0o700)
    stem, ext = os.path.splitext(name)
    body = (
        "[Trash Info]\n"
        f"Path={quote(os.fsencode(location), safe=b'/')}\n"
        f"DeletionDate={datetime.now().strftime('%Y-%m-%dT%H:%M:%S')}\n"
    ).encode()
    for n in range(1, 10_000):
        candidate = name if n == 1 else f"{stem}.{n}{ext}"
        info = trash / "info" / f"{candidate}.trashinfo"
        target = trash / "files" / candidate
        if os.path.lexists(target):
            continue
        try:
            fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        return info, target
    raise TrashError(f"cannot move {name} to the trash: too many files of that name there")


def move_to_trash(path: str | os.PathLike[str]) -> TrashedFile:
    """Move one file to the desktop trash. Raises ``TrashError`` with a one-line reason."""
    original = os.path.abspath(os.fspath(path))
    if not os.path.lexists(original):
        raise TrashError(f"cannot move {original} to the trash: it no longer exists")
    if not _uses_freedesktop():
        return _platform_trash(original)
    try:
        trash, top = _trash_dir_for(original)
        location = os.path.relpath(original, top) if top else original
        info, target = _reserve_info(trash, os.path.basename(original), location)
    except TrashError:
        raise
    except OSError as exc:
        raise TrashError(f"cannot move {original} to the trash: {exc.strerror or exc}") from exc
    try:
        os.rename(original, target)
    except OSError as exc:
        info.unlink(missing_ok=True)
        reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
        raise TrashError(f"cannot move {original} to the trash: {reason}") from exc
    return TrashedFile(original, str(target), str(info))


def restore(item: TrashedFile) -> str:
    """Put a trashed file back where it was; returns its path. Never overwrites a file."""
    if not item.restorable:
        raise TrashError(f"{item.original} can only be restored from your file manager's trash")
    assert item.trashed is not None and item.info is not None
    if os.path.lexists(item.original):
        raise TrashError(f"cannot restore {item.original}: a file of that name exists again")
    if not os.path.lexists(item.trashed):
        raise TrashError(f"cannot restore {item.original}: it is no longer in the trash")
    try:
        os.makedirs(os.path.dirname(item.original), exist_ok=True)
        os.rename(item.trashed, item.original)
    except OSError as exc:
        raise TrashError(f"cannot restore {item.original}: {exc.strerror or exc}") from exc
    Path(item.info).unlink(missing_ok=True)
    return item.original


def read_info_path(info: str | os.PathLike[str]) -> str:
    """The original location a ``.trashinfo`` file records (absolute)."""
    for line in Path(info).read_text().splitlines():
        if line.startswith("Path="):
            value = os.fsdecode(unquote(line[5:], errors="surrogateescape").encode("utf-8", "surrogateescape"))
            if os.path.isabs(value):
                return value
            trash_dir = Path(info).resolve().parent.parent
            top = trash_dir.parent.parent if trash_dir.parent.name == ".Trash" else trash_dir.parent
            return str(top / value)
    raise TrashError(f"{info} is not a trash info file")


def _platform_trash(original: str) -> TrashedFile:
    try:
        from send2trash import send2trash  # optional: Windows / macOS
    except ImportError as exc:
        raise TrashError("moving files to the trash needs the send2trash package on this system "
                         "(pip install send2trash)") from exc
    try:
        send2trash(original)
    except OSError as exc:
        raise TrashError(f"cannot move {original} to the trash: {exc}") from exc
    return TrashedFile(original, None, None)
