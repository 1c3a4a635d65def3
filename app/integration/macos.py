"""macOS: a Finder Quick Action, ``~/Library/Services/Search with mediaseek.workflow``.

The bundle is what Automator saves for a Quick Action that receives folders in
Finder: ``Contents/Info.plist`` declares the service (NSServices) and
``Contents/document.wflow`` holds one "Run Shell Script" action whose input arrives
as arguments, so the script only ever sees the folder as ``"$1"``. Both plists are
generated with plistlib. Finder may need a moment (or a new login) to list it.
"""
from __future__ import annotations

import plistlib
import uuid
from pathlib import Path

from app.integration._fs import InstallRecord, RECORD_NAME, atomic_write, read_bytes, remove_file
from app.integration._types import LABEL, InstalledItem, is_utf8, shell_quote

WORKFLOW = f"{LABEL}.workflow"
MARKER_KEY = "MediaseekIntegration"
_UUIDS = uuid.UUID("6f1c1b0e-3c55-4c1e-9a57-6d6564696173")  # fixed, so a re-install writes the same bytes


def workflow_dir(home: Path | None) -> Path:
    return (home if home is not None else Path.home()) / "Library" / "Services" / WORKFLOW


def _data_dir(home: Path | None) -> Path:
    return (home if home is not None else Path.home()) / "Library" / "Application Support" / "mediaseek" / "integration"


def quick_action_script(command: list[str]) -> str:
    """The shell script the Quick Action runs with the selected folders as arguments.

    It starts mediaseek in the background and returns at once: Automator shows a
    spinning gear in the menu bar for as long as the script runs.
    """
    program = " ".join(shell_quote(part) for part in command)
    return (
        "# mediaseek-integration: written by 'mediaseek integrate install'\n"
        f"mediaseek=({program})\n"
        '[ "$#" -gt 0 ] || exit 0\n'
        '"${mediaseek[@]}" gui --folder "$1" </dev/null >/dev/null 2>&1 &\n'
    )


def info_plist() -> bytes:
    return plistlib.dumps({
        "NSServices": [{
            "NSMenuItem": {"default": LABEL},
            "NSMessage": "runWorkflowAsService",
            "NSRequiredContext": {"NSApplicationIdentifier": "com.apple.finder"},
            "NSSendFileTypes": ["public.folder"],
        }],
        MARKER_KEY: True,
    })


def document_wflow(command: list[str]) -> bytes:
    def stable_id(name: str) -> str:
        return str(uuid.uuid5(_UUIDS, name)).upper()

    run_shell_script = {
        "AMAccepts": {"Container": "List", "Optional": True, "Types": ["com.apple.cocoa.string"]},
        "AMActionVersion": "2.0.3",
        "AMApplication": ["Automator"],
        "AMParameterProperties": {"COMMAND_STRING": {}, "CheckedForUserDefaultShell": {},
                                  "inputMethod": {}, "shell": {}, "source": {}},
        "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
        "ActionBundlePath": "/System/Library/Automator/Run Shell Script.action",
        "ActionName": "Run Shell Script",
        "ActionParameters": {
            "COMMAND_STRING": quick_action_script(command),
            "CheckedForUserDefaultShell": True,
            "inputMethod": 1,  # pass input as arguments, not on stdin
            "shell": "/bin/bash",
            "source": "",
        },
        "BundleIdentifier": "com.apple.RunShellScript",
        "CFBundleVersion": "2.0.3",
        "CanShowSelectedItemsWhenRun": False,
        "CanShowWhenRun": True,
        "Category": ["AMCategoryUtilities"],
        "Class Name": "RunShellScriptAction",
        "InputUUID": stable_id("input"),
        "Keywords": ["Shell", "Script", "Command", "Run", "Unix"],
        "OutputUUID": stable_id("output"),
        "UUID": stable_id("action"),
        "UnlocalizedApplications": ["Automator"],
        "arguments": {},
        "isViewVisible": True,
    }
    return plistlib.dumps({
        "AMApplicationBuild": "521",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "actions": [{"action": run_shell_script, "isViewVisible": True}],
        "connectors": {},
        "workflowMetaData": {
            "applicationBundleIDsByPath": {},
            "applicationPaths": [],
            "inputTypeIdentifier": "com.apple.Automator.fileSystemObject.folder",
            "outputTypeIdentifier": "com.apple.Automator.nothing",
            "presentationMode": 15,
            "processesInput": False,
            "serviceApplicationBundleID": "com.apple.finder",
            "serviceApplicationPath": "/System/Library/CoreServices/Finder.app",
            "serviceInputTypeIdentifier": "com.apple.Automator.fileSystemObject.folder",
            "serviceOutputTypeIdentifier": "com.apple.Automator.nothing",
            "serviceProcessesInput": False,
            "systemImageName": "NSActionTemplate",
            "useAutomaticInputType": False,
            "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
        },
    })


def _files(home: Path | None) -> tuple[Path, Path]:
    contents = workflow_dir(home) / "Contents"
    return contents / "Info.plist", contents / "document.wflow"


def _is_ours(home: Path | None) -> bool:
    raw = read_bytes(_files(home)[0])
    if raw is None:
        return False
    try:
        return bool(plistlib.loads(raw).get(MARKER_KEY))
    except (plistlib.InvalidFileException, ValueError, AttributeError):
        return False


def install(command: list[str], home: Path | None) -> list[InstalledItem]:
    bundle = workflow_dir(home)
    if not all(is_utf8(part) for part in command):
        return [InstalledItem("macos-quick-action", str(bundle), False, "not written: the path to mediaseek is not valid UTF-8")]
    if bundle.exists() and not _is_ours(home):
        return [InstalledItem("macos-quick-action", str(bundle), False,
                              f"not written: {bundle} exists and was not written by mediaseek")]
    record = InstallRecord.load(_data_dir(home) / RECORD_NAME)
    info, document = _files(home)
    record.make_dirs(info.parent)
    for path, data in ((info, info_plist()), (document, document_wflow(command))):
        if read_bytes(path) != data:
            atomic_write(path, data)
    record.extra["command"] = command
    record.save()
    return [InstalledItem("macos-quick-action", str(bundle), True, "Finder: right-click a folder > Quick Actions")]


def uninstall(home: Path | None) -> list[InstalledItem]:
    bundle = workflow_dir(home)
    note = ""
    if _is_ours(home):
        for path in _files(home):
            remove_file(path)
        for folder in (bundle / "Contents", bundle):
            try:
                folder.rmdir()
            except OSError:
                pass  # something else lives there now; keep it
        note = "removed"
    elif bundle.exists():
        note = "left in place (not written by mediaseek)"
    InstallRecord.load(_data_dir(home) / RECORD_NAME).discard()
    return [InstalledItem("macos-quick-action", str(bundle), False, note)]


def status(home: Path | None, current_command: list[str]) -> list[InstalledItem]:
    bundle = workflow_dir(home)
    installed = _is_ours(home) and _files(home)[1].exists()
    note = ""
    if installed and read_bytes(_files(home)[1]) != document_wflow(current_command):
        note = "set up for another mediaseek; 'mediaseek integrate install' switches it to this one"
    return [InstalledItem("macos-quick-action", str(bundle), installed, note)]
