"""Thunar: our custom action, merged into the user's ``uca.xml`` next to their own.

Thunar keeps every custom action in one file, so ours is added without disturbing
anything else: the file is parsed (xml.etree) to find actions by their unique-id, and
our ``<action>`` block is inserted as text just before ``</actions>``. As long as
Thunar has not rewritten the file, uninstall cuts out exactly that block and the file
is byte for byte what it was; after Thunar has rewritten it, our action is removed
from the parsed tree and the rest is written back (comments included).

Thunar replaces ``%f`` with ``g_shell_quote(path)``, reads ``%%`` as ``%`` and runs
the line with ``/bin/sh -c``, so the program is single-quoted for the shell.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from app.integration._fs import InstallRecord, atomic_write, read_bytes, remove_file
from app.integration._types import ICON_NAME, LABEL, TOOLTIP, InstalledItem, is_utf8, shell_quote

THUNAR_ID = "mediaseek-search-folder"


def thunar_action(command: list[str]) -> str:
    """Our ``<action>`` element, formatted the way Thunar writes its own."""
    line = " ".join(shell_quote(part).replace("%", "%%") for part in command) + " gui --folder %f"
    return ("<action>\n"
            f"\t<icon>{ICON_NAME}</icon>\n"
            f"\t<name>{xml_escape(LABEL)}</name>\n"
            "\t<submenu></submenu>\n"
            f"\t<unique-id>{THUNAR_ID}</unique-id>\n"
            f"\t<command>{xml_escape(line)}</command>\n"
            f"\t<description>{xml_escape(TOOLTIP)}</description>\n"
            "\t<range></range>\n"
            "\t<patterns>*</patterns>\n"
            "\t<directories/>\n"
            "</action>\n")


_UCA_SKELETON = '<?xml version="1.0" encoding="UTF-8"?>\n<actions>\n</actions>\n'


def _parse_uca(text: str) -> ET.Element:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    parser.feed(text)
    return parser.close()


def _ours(root: ET.Element) -> list[ET.Element]:
    return [action for action in root.findall("action") if (action.findtext("unique-id") or "").strip() == THUNAR_ID]


def _serialize_uca(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _without_ours(text: str, previous_block: str | None) -> str:
    """``text`` minus our action(s); byte for byte what was there before when Thunar has not rewritten it."""
    root = _parse_uca(text)
    ours = _ours(root)
    if not ours:
        return text
    if previous_block and len(ours) == 1 and text.count(previous_block) == 1:
        candidate = text.replace(previous_block, "", 1)
        try:
            if not _ours(_parse_uca(candidate)):
                return candidate
        except ET.ParseError:
            pass
    for action in ours:
        root.remove(action)
    return _serialize_uca(root)


def _with_ours(text: str, block: str) -> str:
    closing = text.rfind("</actions>")
    if closing >= 0:
        candidate = text[:closing] + block + text[closing:]
        try:
            if len(_ours(_parse_uca(candidate))) == 1:
                return candidate
        except ET.ParseError:
            pass
    root = _parse_uca(text)
    root.append(_parse_uca(block))
    return _serialize_uca(root)


def _read_uca(path: Path) -> tuple[str | None, str]:
    """(text, problem): the file's text if it is a readable uca.xml, else why not."""
    raw = read_bytes(path)
    if raw is None:
        return None, ""
    try:
        text = raw.decode("utf-8")
        root = _parse_uca(text)
    except (UnicodeDecodeError, ET.ParseError) as exc:
        return None, f"{path} is not a valid uca.xml ({exc}); left it untouched"
    if root.tag != "actions":
        return None, f"{path} does not hold Thunar actions; left it untouched"
    return text, ""


def install(command: list[str], path: Path, record: InstallRecord) -> InstalledItem:
    if not all(is_utf8(part) for part in command):
        return InstalledItem("thunar", str(path), False, "not written: the path to mediaseek is not valid UTF-8")
    block = thunar_action(command)
    text, problem = _read_uca(path)
    if problem:
        return InstalledItem("thunar", str(path), False, problem)
    mode = 0o644
    if text is None:
        text = _UCA_SKELETON
        record.created_files.add(os.fsdecode(path))
    else:
        mode = path.stat().st_mode & 0o777
    updated = _with_ours(_without_ours(text, record.extra.get("thunar_block")), block)
    record.make_dirs(path.parent)
    if updated.encode("utf-8") != read_bytes(path):
        atomic_write(path, updated.encode("utf-8"), mode)
    record.extra["thunar_block"] = block
    return InstalledItem("thunar", str(path), True, "merged into Thunar's custom actions")


def uninstall(path: Path, record: InstallRecord) -> InstalledItem:
    text, problem = _read_uca(path)
    if problem:
        return InstalledItem("thunar", str(path), False, problem)
    if text is None or not _ours(_parse_uca(text)):
        return InstalledItem("thunar", str(path), False)
    remaining = _without_ours(text, record.extra.get("thunar_block"))
    created = os.fsdecode(path) in record.created_files
    if created and len(_parse_uca(remaining)) == 0:
        remove_file(path)  # we made the file and nothing else lives in it
    else:
        atomic_write(path, remaining.encode("utf-8"), path.stat().st_mode & 0o777)
    return InstalledItem("thunar", str(path), False, "removed our action; other actions kept" if path.exists() else "removed")


def status(path: Path, note: str) -> InstalledItem:
    text, problem = _read_uca(path)
    if problem:
        return InstalledItem("thunar", str(path), False, problem)
    installed = text is not None and bool(_ours(_parse_uca(text)))
    return InstalledItem("thunar", str(path), installed, note if installed else "")
