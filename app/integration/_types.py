"""Plain data shared by the integration targets."""
from __future__ import annotations

from dataclasses import dataclass

LABEL = "Search with mediaseek"
TOOLTIP = "Search the photos and videos in this folder by describing them"
ICON_NAME = "mediaseek"


class IntegrationError(Exception):
    """A failure the user can act on; ``str(error)`` is one line."""


@dataclass(frozen=True)
class InstalledItem:
    """One file-manager entry: where it lives and whether it is in place.

    ``target`` names the entry ("desktop-entry", "nautilus", "nemo", "caja", "dolphin",
    "thunar", "windows-registry", "macos-quick-action"); ``note`` is a short remark for
    the user (what else was written, why it is not installed, ...).
    """

    target: str
    path: str
    installed: bool
    note: str = ""


def check_command(command: list[str]) -> list[str]:
    """The command that starts mediaseek, checked once for every target.

    Control characters are refused: no launcher format can carry them sensibly, and a
    newline in a program path is far more likely a mistake than a real folder name.
    """
    if not command or not all(isinstance(part, str) for part in command):
        raise IntegrationError("the command that starts mediaseek must be a non-empty list of strings")
    for part in command:
        if not part:
            raise IntegrationError("the command that starts mediaseek contains an empty argument")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in part):
            raise IntegrationError(f"the command that starts mediaseek contains a control character: {part!r}")
    return list(command)


def shell_quote(arg: str) -> str:
    """Single-quote for ``/bin/sh``, bash and GLib's ``g_shell_parse_argv`` alike."""
    return "'" + arg.replace("'", "'\\''") + "'"


def is_utf8(text: str) -> bool:
    """False for strings carrying undecodable file-name bytes (surrogate escapes)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
