"""What the window's parts share: the page numbers and the library snapshot read off the GUI thread."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.library import FailedFile, LibraryStatus, RootInfo

PAGE_NO_MODEL, PAGE_WELCOME, PAGE_HINT, PAGE_RESULTS, PAGE_EMPTY = range(5)
PAGE_NAMES = ("no-model", "welcome", "hint", "results", "no-results")


@dataclass
class LibrarySnapshot:
    """What the sidebar and status bar show, read off the GUI thread in one go."""
    status: LibraryStatus
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def roots(self) -> list[RootInfo]:
        return self.status.roots

    @property
    def failed(self) -> list[FailedFile]:
        return self.status.failed


def inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


