"""User-facing errors: ``str(error)`` is the one line the CLI prints."""
from __future__ import annotations


class MediaseekError(Exception):
    """A failure the user can act on; the CLI prints it and exits 1."""


class NoModelError(MediaseekError):
    def __init__(self) -> None:
        super().__init__(
            "no model installed: run 'mediaseek models import --arch ARCH --checkpoint FILE' "
            "(offline) or 'mediaseek models install ARCH:PRETRAINED' (online)"
        )


class NotFoundError(MediaseekError):
    pass
