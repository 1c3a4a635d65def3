"""Linux: a desktop entry plus the context-menu entries of Nautilus, Nemo, Caja, Dolphin and Thunar.

Each file manager reads a different format and expands the chosen folder into its
command line in its own way, so each entry is written for the way *its* launcher
quotes (checked against the launchers' sources; the tests replay each one):

- desktop entry and Dolphin service menu: Desktop Entry ``Exec`` quoting, the folder
  arrives through the ``%f`` field code, which the launcher passes as one argument;
- Caja actions and Thunar custom actions: the launcher substitutes ``%f`` with a
  shell-quoted path (``g_shell_quote``) and parses the line like a shell (Thunar even
  runs it with ``/bin/sh -c``), so the program is single-quoted the same way;
- Nautilus scripts and Nemo actions: their paths reach a command line unreliably
  (Nemo's escaping differs between versions, GLib expands ``%`` inside Nautilus's
  arguments), so both go through a small bash script that takes the folder from a
  ``file://`` URI, whose percent-encoding carries every byte unambiguously.

Files are found through ``XDG_DATA_HOME`` / ``XDG_CONFIG_HOME`` (defaults
``~/.local/share`` and ``~/.config``). Nothing outside the user's home is touched.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.integration import thunar
from app.integration._fs import InstallRecord, RECORD_NAME, atomic_write, read_bytes, remove_file
from app.integration._types import ICON_NAME, LABEL, TOOLTIP, InstalledItem, is_utf8, shell_quote

log = logging.getLogger(__name__)

MARKER_LINE = "X-Mediaseek-Integration=true"
SCRIPT_MARKER = b"# mediaseek-integration: written by 'mediaseek integrate install'"
UI_ICON = Path(__file__).resolve().parents[2] / "ui" / "resources" / "mediaseek.svg"


class _Skip(Exception):
    """This target cannot be written for this command; the message is the note."""


@dataclass(frozen=True)
class Dirs:
    home: Path
    data: Path
    config: Path

    @classmethod
    def resolve(cls, home: Path | None) -> "Dirs":
        base = home if home is not None else Path.home()
        return cls(base, _xdg("XDG_DATA_HOME", base, ".local/share", home is not None),
                   _xdg("XDG_CONFIG_HOME", base, ".config", home is not None))

    @property
    def record(self) -> Path:
        return self.data / "mediaseek" / "integration" / RECORD_NAME


def _xdg(variable: str, base: Path, default: str, explicit_home: bool) -> Path:
    """An XDG base folder; with an explicit home only one that lies inside it is used."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        folder = Path(value)
        if not explicit_home or _is_within(folder, base):
            return folder
    return base / default


def _is_within(folder: Path, base: Path) -> bool:
    try:
        folder.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- quoting

_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


def exec_arg(arg: str) -> str:
    """One argument of a Desktop Entry ``Exec`` line (before the key-file escaping).

    Per the spec an argument with a reserved character is enclosed in double quotes,
    inside which ``"``, backtick, ``$`` and ``\\`` take a backslash; a literal ``%``
    is written ``%%`` anywhere, because launchers expand field codes before unquoting.
    """
    doubled = arg.replace("%", "%%")
    if arg and not _EXEC_RESERVED.intersection(arg):
        return doubled
    return '"' + re.sub(r'(["`$\\])', r"\\\1", doubled) + '"'


def keyfile_value(value: str) -> str:
    """Escape a string for a key file (desktop entries, Nemo and Caja actions)."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return "\\s" + out[1:] if out.startswith(" ") else out


def _shell_quote_bytes(arg: bytes) -> bytes:
    return b"'" + arg.replace(b"'", b"'\\''") + b"'"


def _require_utf8(command: list[str]) -> None:
    for part in command:
        if not is_utf8(part):
            raise _Skip(f"not written: the path {part!r} is not valid UTF-8, which this file format cannot hold")


# ---------------------------------------------------------------- file contents

@dataclass(frozen=True)
class Planned:
    path: Path
    data: bytes
    mode: int = 0o644


def _desktop_file(groups: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    lines = []
    for index, (group, entries) in enumerate(groups):
        if index:
            lines.append("")
        lines.append(f"[{group}]")
        lines.extend(f"{key}={value}" for key, value in entries)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _app_entry(command: list[str]) -> bytes:
    _require_utf8(command)
    if "%" in command[0]:
        # GLib checks that the program exists before expanding %% in it, so it rejects the entry.
        raise _Skip(f"not written: GLib cannot start a program whose path contains '%' ({command[0]})")
    # ``--folder=%f``, not ``--folder %f``: started from the menu there is no file and
    # %f expands to nothing, which must not leave a dangling ``--folder``.
    exec_line = " ".join(exec_arg(part) for part in command) + " gui --folder=%f"
    entries = [
        ("Type", "Application"), ("Version", "1.4"), ("Name", "mediaseek"),
        ("GenericName", "Photo and video search"),
        ("Comment", "Search your own photos and videos by describing them"),
        ("Exec", keyfile_value(exec_line)),
    ]
    if os.path.isabs(command[0]):
        entries.append(("TryExec", keyfile_value(command[0])))
    entries += [
        ("Icon", ICON_NAME), ("Terminal", "false"), ("StartupNotify", "true"), ("StartupWMClass", "mediaseek"),
        ("Categories", "Graphics;Photography;"), ("MimeType", "inode/directory;"),
        ("Keywords", "search;photos;videos;pictures;"), tuple(MARKER_LINE.split("=", 1)),
    ]
    return _desktop_file([("Desktop Entry", entries)])


def _dolphin_menu(command: list[str]) -> bytes:
    _require_utf8(command)
    exec_line = " ".join(exec_arg(part) for part in command) + " gui --folder %f"
    return _desktop_file([
        ("Desktop Entry", [
            ("Type", "Service"), ("Name", "mediaseek"), ("MimeType", "inode/directory;"),
            ("Actions", "searchWithMediaseek;"),
            # KF5 needs the service type; KF6 ignores it. TopLevel keeps the entry out of the "Actions" submenu.
            ("X-KDE-ServiceTypes", "KonqPopupMenu/Plugin"), ("X-KDE-Priority", "TopLevel"),
            tuple(MARKER_LINE.split("=", 1)),
        ]),
        ("Desktop Action searchWithMediaseek", [
            ("Name", LABEL), ("Icon", ICON_NAME), ("Exec", keyfile_value(exec_line)),
        ]),
    ])


def _caja_action(command: list[str]) -> bytes:
    _require_utf8(command)
    # caja-actions replaces %f with g_shell_quote(path), reads %% as %, then splits the
    # line with g_shell_parse_argv and spawns it without a shell.
    exec_line = " ".join(shell_quote(part).replace("%", "%%") for part in command) + " gui --folder %f"
    return _desktop_file([
        ("Desktop Entry", [
            ("Type", "Action"), ("Name", LABEL), ("Tooltip", TOOLTIP), ("Icon", ICON_NAME),
            ("ToolbarLabel", LABEL), ("Profiles", "folder;"),
            # TargetLocation: also on the empty area inside a folder, where %f is that folder.
            ("TargetContext", "true"), ("TargetLocation", "true"), ("TargetToolbar", "false"),
            tuple(MARKER_LINE.split("=", 1)),
        ]),
        ("X-Action-Profile folder", [
            ("Name", "Folder"), ("Exec", keyfile_value(exec_line)), ("MimeTypes", "inode/directory;"),
            ("Schemes", "file;"), ("SelectionCount", "=1"),
        ]),
    ])


def _nemo_actions(helper: Path) -> tuple[bytes, bytes]:
    helper_text = os.fsdecode(helper)
    if not is_utf8(helper_text):
        raise _Skip(f"not written: the path {helper_text!r} is not valid UTF-8, which this file format cannot hold")
    # Nemo substitutes %U with the selection's URIs as they are (no escaping; the empty
    # area gives the folder's URI), reads %% as %, then splits with g_shell_parse_argv.
    # Inside double quotes a URI is safe: it cannot contain '"', '\\' or a backtick.
    exec_line = keyfile_value(shell_quote(helper_text).replace("%", "%%") + ' "%U"')
    common = [("Comment", TOOLTIP), ("Exec", exec_line), ("Icon-Name", ICON_NAME)]
    folder = _desktop_file([("Nemo Action", [
        ("Active", "true"), ("Name", LABEL), *common, ("Selection", "s"), ("Extensions", "dir;"),
        tuple(MARKER_LINE.split("=", 1)),
    ])])
    background = _desktop_file([("Nemo Action", [
        ("Active", "true"), ("Name", "Search this folder with mediaseek"), *common,
        ("Selection", "none"), ("Extensions", "any;"), tuple(MARKER_LINE.split("=", 1)),
    ])])
    return folder, background


_OPEN_FOLDER_SCRIPT = rb"""#!/bin/bash
# Search with mediaseek: open mediaseek scoped to the folder chosen in the file manager.
@MARKER@; 'mediaseek integrate uninstall' removes it.
#
# Runs as a Nautilus script (the selection arrives in NAUTILUS_SCRIPT_SELECTED_URIS, the
# folder on screen in NAUTILUS_SCRIPT_CURRENT_URI) and for the Nemo actions (a file://
# URI, or a plain path from older Nemo versions, as the first argument). Folder names
# are data: decoded byte by byte and handed on as one argument, never evaluated.
mediaseek=(@COMMAND@)

# A file:// URI -> the exact path bytes, in REPLY. Percent-encoding carries any byte
# (newlines and invalid UTF-8 included) without ambiguity, unlike the newline-separated
# NAUTILUS_SCRIPT_SELECTED_FILE_PATHS, and unlike Nautilus's positional arguments, in
# which GLib has already expanded '%' sequences as launcher field codes.
uri_to_path() {
    local LC_ALL=C rest out='' hex byte
    case $1 in
        file:///*) rest=${1#file://} ;;
        file://localhost/*) rest=${1#file://localhost} ;;
        *) return 1 ;;
    esac
    while [[ $rest == *%* ]]; do
        out+=${rest%%\%*}
        rest=${rest#*\%}
        hex=${rest:0:2}
        [[ $hex == [0-9A-Fa-f][0-9A-Fa-f] && $hex != 00 ]] || return 1
        printf -v byte '%b' "\\x$hex"
        out+=$byte
        rest=${rest:2}
    done
    REPLY=$out$rest
}

folder=
if [[ -n ${NAUTILUS_SCRIPT_SELECTED_URIS-} ]]; then
    uri_to_path "${NAUTILUS_SCRIPT_SELECTED_URIS%%$'\n'*}" && folder=$REPLY
elif [[ -n ${NAUTILUS_SCRIPT_CURRENT_URI-} ]]; then
    uri_to_path "$NAUTILUS_SCRIPT_CURRENT_URI" && folder=$REPLY
elif (( $# > 0 )); then
    case $1 in
        *://*) uri_to_path "$1" && folder=$REPLY ;;
        /*) folder=$1 ;;
        *) folder=$PWD/$1 ;;  # a name relative to the folder on screen
    esac
fi
if [[ -z $folder ]]; then
    echo "Search with mediaseek: only folders on this computer can be searched" >&2
    exit 1
fi
if [[ -e $folder && ! -d $folder ]]; then
    folder=${folder%/*}  # a selected file stands for the folder it is in
    [[ -n $folder ]] || folder=/
fi
exec "${mediaseek[@]}" gui --folder "$folder"
"""


def open_folder_script(command: list[str]) -> bytes:
    """The bash script behind the Nautilus entry and the Nemo actions.

    The command is embedded as bytes, so even a program path that is not valid UTF-8 works.
    """
    quoted = b" ".join(_shell_quote_bytes(os.fsencode(part)) for part in command)
    return _OPEN_FOLDER_SCRIPT.replace(b"@MARKER@", SCRIPT_MARKER).replace(b"@COMMAND@", quoted)


_FALLBACK_ICON = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect x="6" y="10" width="40" height="32" rx="4" fill="#3d7bd9"/>
  <path d="M10 38 L22 24 L30 32 L36 26 L42 38 Z" fill="#ffffff" opacity="0.85"/>
  <circle cx="40" cy="38" r="12" fill="none" stroke="#1f2937" stroke-width="5"/>
  <line x1="49" y1="47" x2="58" y2="56" stroke="#1f2937" stroke-width="6" stroke-linecap="round"/>
</svg>
"""


def _icon_data() -> bytes:
    """The app's own icon when the desktop app ships one, else a small generated one."""
    return read_bytes(UI_ICON) or _FALLBACK_ICON


# ---------------------------------------------------------------- targets

def _paths(dirs: Dirs) -> dict[str, list[Path]]:
    nemo = dirs.data / "nemo" / "actions"
    return {
        "desktop-entry": [dirs.data / "applications" / "mediaseek.desktop"],
        "nautilus": [dirs.data / "nautilus" / "scripts" / LABEL],
        "nemo": [nemo / "mediaseek.nemo_action", nemo / "mediaseek-background.nemo_action",
                 nemo / "mediaseek-open-folder.sh"],
        "caja": [dirs.data / "file-manager" / "actions" / "mediaseek.desktop"],
        "dolphin": [dirs.data / "kio" / "servicemenus" / "mediaseek.desktop"],
    }


def _icon_path(dirs: Dirs) -> Path:
    return dirs.data / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"


def _thunar_path(dirs: Dirs) -> Path:
    return dirs.config / "Thunar" / "uca.xml"


def _plan(target: str, command: list[str], dirs: Dirs) -> list[Planned]:
    paths = _paths(dirs)[target]
    if target == "desktop-entry":
        return [Planned(paths[0], _app_entry(command))]
    if target == "nautilus":
        return [Planned(paths[0], open_folder_script(command), 0o755)]
    if target == "nemo":
        folder, background = _nemo_actions(paths[2])
        return [Planned(paths[0], folder), Planned(paths[1], background),
                Planned(paths[2], open_folder_script(command), 0o755)]
    if target == "caja":
        return [Planned(paths[0], _caja_action(command))]
    if target == "dolphin":
        return [Planned(paths[0], _dolphin_menu(command), 0o755)]  # KF6 only reads executable service menus
    raise ValueError(target)


_NOTES = {
    "nemo": "with an entry for the empty area inside a folder and its helper script",
    "caja": "needs the caja-actions extension",
    "dolphin": "KDE service menu (read by KF6 and by KF5 5.85 or later)",
}


def _is_ours(path: Path) -> bool:
    data = read_bytes(path)
    if data is None:
        return False
    return SCRIPT_MARKER in data or ("\n" + MARKER_LINE + "\n").encode() in data


def install(command: list[str], home: Path | None) -> list[InstalledItem]:
    dirs = Dirs.resolve(home)
    record = InstallRecord.load(dirs.record)
    items = []
    for target in _paths(dirs):
        items.append(_install_target(target, command, dirs, record))
    icon_note = _install_icon(dirs, record)  # named by every entry, not only the desktop entry
    if items[0].installed:
        items[0] = InstalledItem(items[0].target, items[0].path, True, icon_note)
    items.append(thunar.install(command, _thunar_path(dirs), record))
    record.extra["command"] = command
    record.save()
    log.info("file-manager integration installed for %s", command)
    return items


def _install_target(target: str, command: list[str], dirs: Dirs, record: InstallRecord) -> InstalledItem:
    main = _paths(dirs)[target][0]
    try:
        planned = _plan(target, command, dirs)
    except _Skip as skip:
        return InstalledItem(target, str(main), False, str(skip))
    for item in planned:
        if item.path.exists() and not _is_ours(item.path):
            return InstalledItem(target, str(main), False,
                                 f"not written: {item.path} exists and was not written by mediaseek")
    for item in planned:
        record.make_dirs(item.path.parent)
        _write_if_changed(item)
    return InstalledItem(target, str(main), True, _NOTES.get(target, ""))


def _write_if_changed(item: Planned) -> None:
    if read_bytes(item.path) == item.data and (item.path.stat().st_mode & 0o777) == item.mode:
        return
    atomic_write(item.path, item.data, item.mode)


def _install_icon(dirs: Dirs, record: InstallRecord) -> str:
    """Install the icon the entries name; returns the note for the desktop entry."""
    path = _icon_path(dirs)
    data = _icon_data()
    current = read_bytes(path)
    if current is not None and not _icon_is_ours(current, record):
        return f"kept the icon already at {path}"  # not ours to replace, nor later to remove
    record.make_dirs(path.parent)
    _write_if_changed(Planned(path, data))
    record.extra["icon_sha256"] = hashlib.sha256(data).hexdigest()
    return f"icon: {path}"


def _icon_is_ours(data: bytes, record: InstallRecord) -> bool:
    return hashlib.sha256(data).hexdigest() == record.extra.get("icon_sha256")


def uninstall(home: Path | None) -> list[InstalledItem]:
    dirs = Dirs.resolve(home)
    record = InstallRecord.load(dirs.record)
    items = []
    for target, paths in _paths(dirs).items():
        removed = [remove_file(path) for path in paths if _is_ours(path)]
        note = "removed" if any(removed) else ""
        left = [path for path in paths if path.exists()]
        if left:
            note = f"left in place (not written by mediaseek): {', '.join(map(str, left))}"
        items.append(InstalledItem(target, str(paths[0]), False, note))
    icon = _icon_path(dirs)
    current = read_bytes(icon)
    if current is not None and _icon_is_ours(current, record):
        remove_file(icon)
    items.append(thunar.uninstall(_thunar_path(dirs), record))
    record.discard()
    return items


def status(home: Path | None, current_command: list[str]) -> list[InstalledItem]:
    dirs = Dirs.resolve(home)
    record = InstallRecord.load(dirs.record)
    note = _staleness(record, current_command)
    items = []
    for target, paths in _paths(dirs).items():
        ours = [_is_ours(path) for path in paths]
        if all(ours):
            items.append(InstalledItem(target, str(paths[0]), True, note))
        elif any(ours):
            missing = ", ".join(str(p) for p, mine in zip(paths, ours) if not mine)
            items.append(InstalledItem(target, str(paths[0]), False, f"incomplete, missing {missing}"))
        else:
            items.append(InstalledItem(target, str(paths[0]), False))
    items.append(thunar.status(_thunar_path(dirs), note))
    return items


def _staleness(record: InstallRecord, current_command: list[str]) -> str:
    recorded = record.extra.get("command")
    if not recorded:
        return ""
    if os.path.isabs(recorded[0]) and not os.path.exists(recorded[0]):
        return f"runs {recorded[0]}, which is gone: run 'mediaseek integrate install' again"
    if recorded != current_command:
        return f"runs {' '.join(recorded)}; 'mediaseek integrate install' switches it to this mediaseek"
    return ""
