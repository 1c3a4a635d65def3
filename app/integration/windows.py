"""Windows: per-user Explorer context-menu entries for a folder and for a folder's background.

Written under HKEY_CURRENT_USER\\Software\\Classes, so no administrator rights are
needed. Explorer substitutes ``%V`` with the folder and starts the command line
itself (no shell); the program's own C runtime splits it into argv, so ``"%V"`` in
double quotes arrives as one argument. Windows folder names cannot contain ``"``.
One limit of those splitting rules: a drive root makes ``"C:\\"``, whose ``\\"`` reads
as an escaped quote, so the app receives ``C:"`` for the root of a drive.

A copy of the keys is exported as a ``.reg`` file (in the app's data folder, see
``reg_file``) that the user can read, or import by hand.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from app.integration._fs import InstallRecord, RECORD_NAME, atomic_write, remove_file
from app.integration._types import LABEL, InstalledItem, IntegrationError
from app.integration.registry import RegistryBackend, WinregRegistry

SHELL_KEYS = (
    r"Software\Classes\Directory\shell\mediaseek",             # right-click a folder
    r"Software\Classes\Directory\Background\shell\mediaseek",  # right-click inside a folder
)
MARKER_VALUE = "MediaseekIntegration"
HIVE = "HKEY_CURRENT_USER"


def command_line(command: list[str]) -> str:
    """The ``command`` value: the program in quotes, its arguments, then ``gui --folder "%V"``."""
    if '"' in command[0]:
        raise IntegrationError(f'the program path {command[0]!r} contains a double quote')
    parts = [f'"{command[0]}"']
    if len(command) > 1:
        parts.append(subprocess.list2cmdline(command[1:]))
    parts.append('gui --folder "%V"')
    return " ".join(parts)


def data_dir(home: Path | None) -> Path:
    """Where the .reg copy and the install record live: mediaseek's folder under Local AppData."""
    local = os.environ.get("LOCALAPPDATA") if home is None else None
    base = Path(local) if local else (home if home is not None else Path.home()) / "AppData" / "Local"
    return base / "mediaseek" / "integration"


def reg_file(home: Path | None) -> Path:
    return data_dir(home) / "mediaseek-explorer-menu.reg"


def _values(command: list[str]) -> list[tuple[str, str, str]]:
    """(key, value name, value) for everything install writes."""
    out = []
    for key in SHELL_KEYS:
        out += [(key, "", LABEL), (key, "Icon", command[0]), (key, MARKER_VALUE, "1"),
                (key + r"\command", "", command_line(command))]
    return out


def export_reg(command: list[str]) -> str:
    """The keys in ``regedit`` export format (version 5.00)."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["Windows Registry Editor Version 5.00", ""]
    current = None
    for key, name, value in _values(command):
        if key != current:
            if current is not None:
                lines.append("")
            lines.append(f"[{HIVE}\\{key}]")
            current = key
        lines.append(f"{'@' if name == '' else quoted(name)}={quoted(value)}")
    return "\r\n".join(lines) + "\r\n"


def _backend(registry: RegistryBackend | None) -> RegistryBackend:
    return registry if registry is not None else WinregRegistry()


def _key_label() -> str:
    return f"{HIVE}\\{SHELL_KEYS[0]}"


def _parents(key: str) -> list[str]:
    """The keys above ``key`` below HKCU\\Software\\Classes, outermost first."""
    parts = key.split("\\")
    return ["\\".join(parts[:depth]) for depth in range(3, len(parts))]


def install(command: list[str], home: Path | None, registry: RegistryBackend | None = None) -> list[InstalledItem]:
    reg = _backend(registry)
    values = _values(command)  # validates the command before anything is written
    for key in SHELL_KEYS:
        if reg.key_exists(key) and reg.get_value(key, MARKER_VALUE) is None:
            return [InstalledItem("windows-registry", _key_label(), False,
                                  f"not written: {HIVE}\\{key} exists and was not written by mediaseek")]
    record = InstallRecord.load(data_dir(home) / RECORD_NAME)
    created = set(record.extra.get("created_keys", []))
    for key in SHELL_KEYS:
        created.update(parent for parent in _parents(key) if not reg.key_exists(parent))
        reg.delete_tree(key + r"\command")  # an older install's command goes entirely
    for key, name, value in values:
        reg.set_value(key, name, value)
    target = reg_file(home)
    record.make_dirs(target.parent)
    atomic_write(target, ("\ufeff" + export_reg(command)).encode("utf-16-le"))
    record.extra.update(command=command, created_keys=sorted(created))
    record.save()
    return [InstalledItem("windows-registry", _key_label(), True,
                          f"also inside a folder's background; a copy of the keys: {target}")]


def uninstall(home: Path | None, registry: RegistryBackend | None = None) -> list[InstalledItem]:
    reg = _backend(registry)
    record = InstallRecord.load(data_dir(home) / RECORD_NAME)
    kept = []
    for key in SHELL_KEYS:
        if reg.get_value(key, MARKER_VALUE) is not None:
            reg.delete_tree(key)
        elif reg.key_exists(key):
            kept.append(f"{HIVE}\\{key}")
    for key in sorted(record.extra.get("created_keys", []), key=lambda k: k.count("\\"), reverse=True):
        reg.delete_if_empty(key)  # the parents install had to create, unless something else uses them now
    remove_file(reg_file(home))
    record.discard()
    note = f"left in place (not written by mediaseek): {', '.join(kept)}" if kept else "removed"
    return [InstalledItem("windows-registry", _key_label(), False, note)]


def status(home: Path | None, current_command: list[str], registry: RegistryBackend | None = None) -> list[InstalledItem]:
    reg = _backend(registry)
    present = [reg.get_value(key, MARKER_VALUE) is not None and reg.get_value(key + r"\command", "") is not None
               for key in SHELL_KEYS]
    if not any(present):
        return [InstalledItem("windows-registry", _key_label(), False)]
    if not all(present):
        return [InstalledItem("windows-registry", _key_label(), False, "incomplete: run 'mediaseek integrate install'")]
    note = ""
    if reg.get_value(SHELL_KEYS[0] + r"\command", "") != command_line(current_command):
        note = "set up for another mediaseek; 'mediaseek integrate install' switches it to this one"
    return [InstalledItem("windows-registry", _key_label(), True, note)]
