"""File helpers shared by the integration targets: atomic writes and the install record.

The install record (``installed.json``) remembers which folders ``install`` had to
create, so that ``uninstall`` can take them away again and leave the home folder as
it found it. It never lists a folder that existed before; a folder is only removed
when it is empty, so anything the user put there since keeps it alive.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

RECORD_NAME = "installed.json"


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def remove_file(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


@dataclass
class InstallRecord:
    """What an install created, kept next to the integration's own files."""

    path: Path
    created_dirs: set[str] = field(default_factory=set)
    created_files: set[str] = field(default_factory=set)
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "InstallRecord":
        raw = read_bytes(path)
        record = cls(path)
        if raw is None:
            return record
        try:
            data = json.loads(raw.decode("utf-8", "surrogateescape"))
            record.created_dirs = set(data.get("created_dirs", []))
            record.created_files = set(data.get("created_files", []))
            record.extra = dict(data.get("extra", {}))
        except (ValueError, AttributeError, TypeError):
            log.warning("ignoring unreadable install record %s", path)
        return record

    def make_dirs(self, folder: Path) -> None:
        """``mkdir -p`` that remembers every folder it had to create."""
        missing = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        for item in reversed(missing):
            item.mkdir(exist_ok=True)
            self.created_dirs.add(os.fsdecode(item))

    def save(self) -> None:
        self.make_dirs(self.path.parent)
        data = {"version": 1, "created_dirs": sorted(self.created_dirs),
                "created_files": sorted(self.created_files), "extra": self.extra}
        text = json.dumps(data, indent=2, ensure_ascii=True)
        atomic_write(self.path, text.encode("ascii"))

    def remove_created_dirs(self) -> None:
        """Remove the folders install created, deepest first, as long as they are empty."""
        for name in sorted(self.created_dirs, key=lambda n: n.count(os.sep), reverse=True):
            try:
                os.rmdir(name)
            except FileNotFoundError:
                pass
            except OSError:
                continue  # not empty: the user keeps something there
            self.created_dirs.discard(name)

    def discard(self) -> None:
        """Delete the record itself and then the folders that are left empty."""
        remove_file(self.path)
        self.remove_created_dirs()
