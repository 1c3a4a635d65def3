"""File-manager integration: what install writes into a temporary home, that it is
valid, idempotent, follows a moved executable, merges into Thunar's uca.xml without
touching the user's actions, and that uninstall puts the home back exactly as it was.
How each entry's command line behaves when launched is in test_integration_exec.py."""
from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app import integration
from app.integration import IntegrationError
from app.integration.registry import MemoryRegistry
from tests.app.test_integration_exec import make_fake_mediaseek, parse_keyfile, received
from tests.conftest import run_cli

LINUX_TARGETS = ["desktop-entry", "nautilus", "nemo", "caja", "dolphin", "thunar"]

USER_UCA = """<?xml version="1.0" encoding="UTF-8"?>
<actions>
<!-- my own actions, hands off -->
<action>
\t<icon>utilities-terminal</icon>
\t<name>Open Terminal Here</name>
\t<submenu></submenu>
\t<unique-id>1521317528494802-1</unique-id>
\t<command>exo-open --working-directory %f --launch TerminalEmulator</command>
\t<description>Example for a custom action</description>
\t<range></range>
\t<patterns>*</patterns>
\t<startup-notify/>
\t<directories/>
</action>
<action>
\t<icon>edit-copy</icon>
\t<name>Copy path &amp; name</name>
\t<submenu>Tools</submenu>
\t<unique-id>1700000000000000-2</unique-id>
\t<command>echo -n %F | xclip</command>
\t<description></description>
\t<range>1-*</range>
\t<patterns>*</patterns>
\t<other-files/>
\t<text-files/>
</action>
</actions>
"""


def snapshot(root: Path) -> dict:
    """Every folder and file under ``root``: names, modes and file contents."""
    tree = {}
    for folder, _, files in os.walk(root):
        tree[os.path.relpath(folder, root)] = stat.S_IMODE(os.lstat(folder).st_mode)
        for name in files:
            path = os.path.join(folder, name)
            tree[os.path.relpath(path, root)] = (stat.S_IMODE(os.lstat(path).st_mode), Path(path).read_bytes())
    return tree


def files_mentioning(root: Path, needle: bytes) -> list[str]:
    return [os.path.join(folder, name) for folder, _, files in os.walk(root) for name in files
            if needle in Path(folder, name).read_bytes()]


@pytest.fixture
def home(tmp_path) -> Path:
    """A lived-in home: other apps' desktop files, the user's Nemo action and Thunar actions."""
    home = tmp_path / "home"
    (home / ".local" / "share" / "applications").mkdir(parents=True)
    (home / ".local" / "share" / "applications" / "other.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Other\nExec=other %U\n")
    (home / ".local" / "share" / "nemo" / "actions").mkdir(parents=True)
    (home / ".local" / "share" / "nemo" / "actions" / "mine.nemo_action").write_text("[Nemo Action]\nName=Mine\n")
    (home / ".config" / "Thunar").mkdir(parents=True)
    (home / ".config" / "Thunar" / "uca.xml").write_text(USER_UCA)
    (home / ".config" / "Thunar" / "uca.xml").chmod(0o600)
    (home / "Pictures").mkdir()
    return home


@pytest.fixture
def fake(tmp_path) -> Path:
    return make_fake_mediaseek(tmp_path / "venv one" / "bin", tmp_path / "argv.out")


def install(fake: Path, home: Path, **kwargs):
    return integration.install([str(fake)], home=home, platform="linux", **kwargs)


def test_install_writes_every_entry(home, fake):
    items = install(fake, home)
    assert [item.target for item in items] == LINUX_TARGETS
    assert all(item.installed for item in items), items
    data, config = home / ".local" / "share", home / ".config"
    expected = {
        "desktop-entry": data / "applications" / "mediaseek.desktop",
        "nautilus": data / "nautilus" / "scripts" / "Search with mediaseek",
        "nemo": data / "nemo" / "actions" / "mediaseek.nemo_action",
        "caja": data / "file-manager" / "actions" / "mediaseek.desktop",
        "dolphin": data / "kio" / "servicemenus" / "mediaseek.desktop",
        "thunar": config / "Thunar" / "uca.xml",
    }
    assert {item.target: Path(item.path) for item in items} == expected

    entry = parse_keyfile(expected["desktop-entry"].read_bytes())["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["MimeType"] == "inode/directory;"
    assert entry["Exec"].endswith(" gui --folder=%f") and entry["TryExec"] == str(fake)
    assert entry["Icon"] == "mediaseek"
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / "mediaseek.svg"
    assert ET.fromstring(icon.read_bytes()).tag.endswith("svg")
    ui_icon = Path(__file__).resolve().parents[2] / "ui" / "resources" / "mediaseek.svg"
    if ui_icon.exists():
        assert icon.read_bytes() == ui_icon.read_bytes()

    for executable in (expected["nautilus"], expected["dolphin"], data / "nemo" / "actions" / "mediaseek-open-folder.sh"):
        assert os.stat(executable).st_mode & 0o111, f"{executable} must be executable"

    background = parse_keyfile((data / "nemo" / "actions" / "mediaseek-background.nemo_action").read_bytes())
    assert background["Nemo Action"]["Selection"] == "none"
    menu = parse_keyfile(expected["dolphin"].read_bytes())
    assert menu["Desktop Entry"]["MimeType"] == "inode/directory;"
    assert menu["Desktop Entry"]["X-KDE-ServiceTypes"] == "KonqPopupMenu/Plugin"
    assert menu["Desktop Action searchWithMediaseek"]["Name"] == "Search with mediaseek"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed")
def test_desktop_files_validate(home, fake):
    install(fake, home)
    data = home / ".local" / "share"
    result = subprocess.run(["desktop-file-validate", str(data / "applications" / "mediaseek.desktop")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    # A KDE service menu is Type=Service, which the validator only knows as non-standard:
    # it must complain about nothing but that.
    result = subprocess.run(["desktop-file-validate", str(data / "kio" / "servicemenus" / "mediaseek.desktop")],
                            capture_output=True, text=True)
    complaints = [line for line in result.stdout.splitlines() if line.strip()]
    allowed = ('key "MimeType" is present in group "Desktop Entry", but the type is "Service"',
               'key "Actions" is present in group "Desktop Entry", but the type is "Service"')
    assert all(any(reason in line for reason in allowed) for line in complaints), complaints


def test_uninstall_leaves_home_exactly_as_before(home, fake):
    before = snapshot(home)
    install(fake, home)
    assert snapshot(home) != before
    items = integration.uninstall(home=home, platform="linux")
    assert [item.target for item in items] == LINUX_TARGETS and not any(item.installed for item in items)
    assert snapshot(home) == before


def test_uninstall_of_an_empty_home_removes_the_folders_it_made(tmp_path, fake):
    home = tmp_path / "empty home"
    home.mkdir()
    install(fake, home)
    integration.uninstall(home=home, platform="linux")
    assert list(home.iterdir()) == []


def test_install_is_idempotent(home, fake):
    install(fake, home)
    first = snapshot(home)
    assert all(item.installed for item in install(fake, home))
    assert snapshot(home) == first
    root = ET.parse(home / ".config" / "Thunar" / "uca.xml").getroot()
    assert len(root.findall("action")) == 3


def test_moved_executable_updates_every_entry(home, tmp_path):
    old = make_fake_mediaseek(tmp_path / "old-venv" / "bin", tmp_path / "argv.out")
    new = make_fake_mediaseek(tmp_path / "new-venv" / "bin", tmp_path / "argv.out")
    install(old, home)
    assert files_mentioning(home, b"old-venv")
    shutil.rmtree(tmp_path / "old-venv")
    stale = integration.status(home=home, platform="linux")
    assert all(item.installed and "gone" in item.note for item in stale), stale
    assert all(item.installed for item in install(new, home))
    assert files_mentioning(home, b"old-venv") == []
    assert len(files_mentioning(home, b"new-venv")) >= 7
    root = ET.parse(home / ".config" / "Thunar" / "uca.xml").getroot()
    assert len(root.findall("action")) == 3


def test_thunar_merge_keeps_the_users_actions_and_uninstall_restores_the_file(home, fake):
    uca = home / ".config" / "Thunar" / "uca.xml"
    mine = [ET.tostring(a) for a in ET.fromstring(USER_UCA).findall("action")]
    install(fake, home)
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(uca.read_text(), parser=parser)
    actions = root.findall("action")
    assert [ET.tostring(a) for a in actions[:2]] == mine
    assert actions[2].findtext("name") == "Search with mediaseek"
    assert any(child.tag is ET.Comment for child in root), "the user's comment is kept"
    assert stat.S_IMODE(uca.stat().st_mode) == 0o600
    integration.uninstall(home=home, platform="linux")
    assert uca.read_text() == USER_UCA


def test_thunar_rewrote_the_file_then_uninstall_still_removes_only_ours(home, fake):
    uca = home / ".config" / "Thunar" / "uca.xml"
    install(fake, home)
    # Thunar's own editor saves the whole file in its own layout.
    root = ET.parse(uca).getroot()
    ET.indent(root, space="  ")
    uca.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    integration.uninstall(home=home, platform="linux")
    names = [a.findtext("name") for a in ET.parse(uca).getroot().findall("action")]
    assert names == ["Open Terminal Here", "Copy path & name"]


def test_thunar_file_we_created_goes_only_when_nothing_else_is_in_it(tmp_path, fake):
    home = tmp_path / "home"
    uca = home / ".config" / "Thunar" / "uca.xml"
    install(fake, home)
    integration.uninstall(home=home, platform="linux")
    assert not uca.exists()

    install(fake, home)
    text = uca.read_text().replace("</actions>", "<action><name>Later</name><unique-id>9</unique-id>"
                                                 "<command>true</command><patterns>*</patterns></action>\n</actions>")
    uca.write_text(text)
    integration.uninstall(home=home, platform="linux")
    assert [a.findtext("name") for a in ET.parse(uca).getroot().findall("action")] == ["Later"]


def test_a_broken_uca_xml_is_left_alone(home, fake):
    uca = home / ".config" / "Thunar" / "uca.xml"
    uca.write_text("<actions><action>")
    items = {item.target: item for item in install(fake, home)}
    assert not items["thunar"].installed and "left it untouched" in items["thunar"].note
    assert all(items[t].installed for t in LINUX_TARGETS if t != "thunar")
    assert uca.read_text() == "<actions><action>"


def test_files_that_are_not_ours_are_neither_replaced_nor_removed(home, fake):
    theirs = home / ".local" / "share" / "applications" / "mediaseek.desktop"
    theirs.write_text("[Desktop Entry]\nType=Application\nName=mediaseek (distro package)\nExec=/usr/bin/mediaseek\n")
    before = theirs.read_bytes()
    items = {item.target: item for item in install(fake, home)}
    assert not items["desktop-entry"].installed and "not written by mediaseek" in items["desktop-entry"].note
    assert theirs.read_bytes() == before
    integration.uninstall(home=home, platform="linux")
    assert theirs.read_bytes() == before


def test_status_follows_install_and_uninstall(home, fake):
    assert [(i.target, i.installed) for i in integration.status(home=home, platform="linux")] == \
        [(t, False) for t in LINUX_TARGETS]
    install(fake, home)
    assert all(item.installed for item in integration.status(home=home, platform="linux"))
    (home / ".local" / "share" / "nemo" / "actions" / "mediaseek-open-folder.sh").unlink()
    nemo = [i for i in integration.status(home=home, platform="linux") if i.target == "nemo"][0]
    assert not nemo.installed and "mediaseek-open-folder.sh" in nemo.note
    integration.uninstall(home=home, platform="linux")
    assert not any(item.installed for item in integration.status(home=home, platform="linux"))


def test_xdg_base_folders_are_respected(tmp_path, fake, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg config"))
    items = {item.target: Path(item.path) for item in integration.install([str(fake)], platform="linux")}
    assert items["desktop-entry"] == home / "xdg data" / "applications" / "mediaseek.desktop"
    assert items["thunar"] == home / "xdg config" / "Thunar" / "uca.xml"
    assert not (home / ".local").exists() and not (home / ".config").exists()
    integration.uninstall(platform="linux")
    assert list(home.iterdir()) == []


def test_an_explicit_home_ignores_xdg_folders_outside_it(tmp_path, fake, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_DATA_HOME", str(elsewhere / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere / "config"))
    home = tmp_path / "home"
    install(fake, home)
    assert not elsewhere.exists()
    assert (home / ".local" / "share" / "applications" / "mediaseek.desktop").exists()


def test_a_program_path_that_is_not_utf8(tmp_path):
    """Key files hold UTF-8 only, so those entries are refused; the scripts carry the bytes."""
    out = tmp_path / "argv.out"
    fake = make_fake_mediaseek(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bin-\xff\xfe"))), out)
    home = tmp_path / "home"
    items = {item.target: item for item in integration.install([str(fake)], home=home, platform="linux")}
    for target in ("desktop-entry", "caja", "dolphin", "thunar"):
        assert not items[target].installed and "UTF-8" in items[target].note
    assert items["nautilus"].installed and items["nemo"].installed
    folder = os.fsencode(tmp_path / "Pictures")
    os.mkdir(folder)
    subprocess.run([os.fsencode(home / ".local" / "share" / "nemo" / "actions" / "mediaseek-open-folder.sh"),
                    b"file://" + folder], check=True, timeout=60)
    assert received(out) == [b"gui", b"--folder", folder]


def test_bad_commands_are_refused(tmp_path):
    for command in ([], ["/opt/mediaseek\nrm -rf ~"], [""]):
        with pytest.raises(IntegrationError):
            integration.install(command, home=tmp_path, platform="linux")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IntegrationError):
        integration.install(["x"], home=tmp_path, platform="plan9")


def test_default_command_starts_this_installation(monkeypatch, tmp_path):
    command = integration.default_command("linux")
    script = Path(sys.executable).absolute().with_name("mediaseek")
    assert command == ([str(script)] if script.exists() else [str(Path(sys.executable).absolute()), "-m", "app"])
    lonely = tmp_path / "python3"
    monkeypatch.setattr(sys, "executable", str(lonely))
    assert integration.default_command("linux") == [str(lonely), "-m", "app"]
    (tmp_path / "pythonw.exe").touch()
    assert integration.default_command("win32") == [str(tmp_path / "pythonw.exe"), "-m", "app"]


def test_cli_integrate_round_trip(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
           "XDG_CONFIG_HOME": str(home / ".config")}
    result = run_cli(tmp_path / "data", "integrate", "install", env=env, check=True)
    assert "thunar" in result.stdout and "installed" in result.stdout
    assert (home / ".local" / "share" / "applications" / "mediaseek.desktop").exists()
    result = run_cli(tmp_path / "data", "integrate", "status", env=env, check=True)
    assert result.stdout.count(" installed ") >= len(LINUX_TARGETS) - 1
    run_cli(tmp_path / "data", "integrate", "uninstall", env=env, check=True)
    assert list(home.iterdir()) == []


# ---------------------------------------------------------------- Windows

SHELL_KEY = r"Software\Classes\Directory\shell\mediaseek"
BACKGROUND_KEY = r"Software\Classes\Directory\Background\shell\mediaseek"
EXE = r"C:\Users\me\venv\Scripts\mediaseek.exe"


def test_windows_install_writes_both_keys_and_a_reg_file(tmp_path):
    registry = MemoryRegistry()
    (item,) = integration.install([EXE], home=tmp_path, platform="win32", registry=registry)
    assert item.installed and item.target == "windows-registry"
    for key in (SHELL_KEY, BACKGROUND_KEY):
        assert registry.get_value(key, "") == "Search with mediaseek"
        assert registry.get_value(key + r"\command", "") == f'"{EXE}" gui --folder "%V"'
    reg = tmp_path / "AppData" / "Local" / "mediaseek" / "integration" / "mediaseek-explorer-menu.reg"
    assert str(reg) in item.note
    raw = reg.read_bytes()
    assert raw.startswith(b"\xff\xfe")  # UTF-16 LE with a byte order mark, as regedit writes
    text = raw[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    assert "[HKEY_CURRENT_USER\\Software\\Classes\\Directory\\Background\\shell\\mediaseek\\command]\r\n" in text
    assert '@="\\"C:\\\\Users\\\\me\\\\venv\\\\Scripts\\\\mediaseek.exe\\" gui --folder \\"%V\\""\r\n' in text


def test_windows_uninstall_restores_registry_and_files(tmp_path):
    registry = MemoryRegistry()
    registry.set_value(r"Software\Classes\Directory\shell\git_shell", "", "Git Bash Here")
    keys_before, files_before = registry.keys(), snapshot(tmp_path)
    integration.install([EXE], home=tmp_path, platform="win32", registry=registry)
    integration.install([r"D:\new venv\Scripts\mediaseek.exe"], home=tmp_path, platform="win32", registry=registry)
    assert registry.get_value(SHELL_KEY + r"\command", "").startswith('"D:\\new venv\\')
    (status,) = integration.status(home=tmp_path, platform="win32", registry=registry)
    assert status.installed
    integration.uninstall(home=tmp_path, platform="win32", registry=registry)
    assert registry.keys() == keys_before and snapshot(tmp_path) == files_before
    (status,) = integration.status(home=tmp_path, platform="win32", registry=registry)
    assert not status.installed


def test_windows_does_not_take_over_someone_elses_key(tmp_path):
    registry = MemoryRegistry()
    registry.set_value(SHELL_KEY + r"\command", "", "other.exe %1")
    (item,) = integration.install([EXE], home=tmp_path, platform="win32", registry=registry)
    assert not item.installed and "not written by mediaseek" in item.note
    integration.uninstall(home=tmp_path, platform="win32", registry=registry)
    assert registry.get_value(SHELL_KEY + r"\command", "") == "other.exe %1"


def test_windows_without_a_registry_is_a_clear_error(tmp_path):
    if sys.platform.startswith("win"):
        pytest.skip("this machine has a registry")
    with pytest.raises(IntegrationError, match="only available on Windows"):
        integration.install([EXE], home=tmp_path, platform="win32")


# ---------------------------------------------------------------- macOS

def test_macos_quick_action_bundle(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = snapshot(home)
    (item,) = integration.install(["/Applications/media seek/mediaseek"], home=home, platform="darwin")
    bundle = home / "Library" / "Services" / "Search with mediaseek.workflow"
    assert item.installed and Path(item.path) == bundle
    info = plistlib.loads((bundle / "Contents" / "Info.plist").read_bytes())
    (service,) = info["NSServices"]
    assert service["NSMenuItem"]["default"] == "Search with mediaseek"
    assert service["NSMessage"] == "runWorkflowAsService" and service["NSSendFileTypes"] == ["public.folder"]
    workflow = plistlib.loads((bundle / "Contents" / "document.wflow").read_bytes())
    assert workflow["workflowMetaData"]["workflowTypeIdentifier"] == "com.apple.Automator.servicesMenu"
    assert workflow["workflowMetaData"]["serviceInputTypeIdentifier"] == "com.apple.Automator.fileSystemObject.folder"
    once = snapshot(home)
    integration.install(["/Applications/media seek/mediaseek"], home=home, platform="darwin")
    assert snapshot(home) == once
    assert integration.status(home=home, platform="darwin")[0].installed
    integration.uninstall(home=home, platform="darwin")
    assert snapshot(home) == before
