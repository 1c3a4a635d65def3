"""Walk library roots and list the media files in them.

Uses ``os.scandir`` directly (the fastest portable walk): a no-op rescan of a large
library is dominated by this loop, so it avoids per-file work beyond one ``stat``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp",
     ".heic", ".heif", ".avif"}
)

# Kept in sync with indexer.video.VIDEO_EXTENSIONS by a test; not imported from there so
# that a rescan never pays for importing PyAV.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts"}
)

DEFAULT_EXTENSIONS = {**{ext: "photo" for ext in PHOTO_EXTENSIONS}, **{ext: "video" for ext in VIDEO_EXTENSIONS}}

# Folders that hold thumbnails, trash or OS bookkeeping rather than the user's media.
SKIPPED_DIR_NAMES = frozenset(
    {"@eaDir", "$RECYCLE.BIN", "System Volume Information", "__MACOSX", "lost+found",
     "node_modules", "#recycle", "#snapshot"}
)

FINGERPRINT_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int
    kind: str  # 'photo' | 'video'


def is_skipped_dir(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIR_NAMES or name.startswith(".Trash-")


class LibraryScanner:
    """Yields media files under the given roots.

    Hidden files and folders and well-known system folders are skipped. Symbolic links
    are followed, but every directory is entered at most once (keyed by device and
    inode), so a symlink loop ends the descent instead of recursing forever. Errors
    (unreadable folders, dangling links) go to ``on_error(path, reason)`` and the
    walk continues.
    """

    def __init__(
        self,
        extensions: dict[str, str] | None = None,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.extensions = extensions or DEFAULT_EXTENSIONS
        self.on_error = on_error or (lambda path, reason: None)

    def scan(self, roots: Iterable[str]) -> Iterator[ScannedFile]:
        seen_dirs: set[tuple[int, int]] = set()
        for root in roots:
            try:
                st = os.stat(root)
            except OSError as exc:
                self.on_error(root, _os_reason(exc))
                continue
            if not stat.S_ISDIR(st.st_mode):
                self.on_error(root, "not a folder")
                continue
            yield from self._walk(root, st, seen_dirs)

    def _walk(self, top: str, top_stat: os.stat_result, seen: set[tuple[int, int]]) -> Iterator[ScannedFile]:
        stack = [(top, top_stat)]
        extensions = self.extensions
        while stack:
            folder, folder_stat = stack.pop()
            key = (folder_stat.st_dev, folder_stat.st_ino)
            if key in seen:
                continue
            seen.add(key)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                self.on_error(folder, _os_reason(exc))
                continue
            subdirs = []
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir():  # follows symlinks
                        if not is_skipped_dir(name):
                            subdirs.append(entry)
                        continue
                except OSError as exc:
                    self.on_error(entry.path, _os_reason(exc))
                    continue
                if name.startswith("."):
                    continue
                dot = name.rfind(".")
                if dot <= 0:
                    continue
                kind = extensions.get(name[dot:].lower())
                if kind is None:
                    continue
                try:
                    st = entry.stat()
                except OSError as exc:
                    self.on_error(entry.path, _os_reason(exc))
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                yield ScannedFile(entry.path, st.st_size, st.st_mtime_ns, kind)
            for entry in sorted(subdirs, key=lambda e: e.name, reverse=True):
                try:
                    stack.append((entry.path, entry.stat()))
                except OSError as exc:
                    self.on_error(entry.path, _os_reason(exc))


def fingerprint(path: str, size: int | None = None) -> str:
    """A cheap content fingerprint: size plus the first and last 64 KiB.

    It lets a moved or renamed file keep its embedding without hashing whole files.
    """
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        if size is None:
            size = os.fstat(fh.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(fh.read(FINGERPRINT_CHUNK))
        if size > 2 * FINGERPRINT_CHUNK:
            fh.seek(-FINGERPRINT_CHUNK, os.SEEK_END)
            h.update(fh.read(FINGERPRINT_CHUNK))
    return h.hexdigest()


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if exc.errno == 40:  # ELOOP
        return "symbolic link loop"
    return exc.strerror or str(exc)
