"""Launcher safety: each installed entry, started the way its file manager starts it,
hands the app exactly the chosen folder, whatever the folder is called.

Every launcher is replayed here from its own rules, written independently of
``app.integration`` (the expected values come from these rules, never from the code
under test):

- Desktop Entry spec ("The Exec key"): split the line, undo the quoting, expand the
  field codes, run without a shell (the app entry and Dolphin's service menu); the app
  entry is also started by real GLib through ``gio launch`` when gio is installed.
- Nautilus (nautilus-files-view.c, run_script): the script runs with the folder on
  screen as working directory, names relative to it as arguments, and the
  NAUTILUS_SCRIPT_* variables; the arguments reach it through
  g_app_info_create_from_commandline, replayed with ``gio launch``.
- Nemo (nemo-action.c): %U becomes the URIs as they are (the folder's URI for the
  empty area), %% a percent, then g_shell_parse_argv and a spawn without a shell.
- Caja (caja-actions na-tokens.c): %f becomes g_shell_quote(path), %% a percent,
  then g_shell_parse_argv and a spawn without a shell.
- Thunar (thunar-uca-model.c): %f becomes g_shell_quote(path), %% a percent, and the
  line runs with ``/bin/sh -c``.
- macOS Automator "Run Shell Script" with input as arguments; Windows Explorer's %V
  substitution followed by the C runtime's command-line splitting.

The installed command is a fake ``mediaseek``: a shell script in a folder with a
hostile name of its own that records its arguments, NUL-separated, byte for byte.
"""
from __future__ import annotations

import ctypes
import os
import plistlib
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote_from_bytes

import pytest

from app import integration

HOSTILE = [
    b"plain",
    b"with space",
    b"it's",
    b'say "hi"',
    b"$HOME and ${PATH}",
    b"`touch PWNED`",
    b"$(touch PWNED)",
    b"a;touch PWNED;b",
    b"a && touch PWNED || b",
    b"'; touch PWNED; '",
    b'"; touch PWNED; "',
    b"line1\nline2",
    b"trailing newline\n",
    b"-rf",
    b"--folder",
    b"50%f %U %F %% %",
    b"100%d sure %f",
    b"tab\there",
    b"back\\slash\\",
    b"*?[a]~#!",
    b" leading and trailing ",
    b"|pipe>redirect<",
    b"\xe9t\xe9 latin-1 bytes",
    "emoji \U0001F600 caf\u00e9".encode(),
]


# ---------------------------------------------------------------- key files (GLib semantics)

def keyfile_unescape(value: str) -> str:
    """GLib's string unescaping for key files: \\s \\n \\t \\r \\\\; any other escape is an error."""
    table = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 >= len(value) or value[i + 1] not in table:
                raise ValueError(f"invalid escape in {value!r}")
            out.append(table[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_keyfile(data: bytes) -> dict[str, dict[str, str]]:
    """Groups of unescaped values; key files are UTF-8, duplicates are errors."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for line in data.decode("utf-8").split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("["):
            assert line.endswith("]"), line
            current = line[1:-1]
            assert current not in groups, f"duplicate group {current}"
            groups[current] = {}
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, line
        key = key.strip()
        assert key not in groups[current], f"duplicate key {key}"
        groups[current][key] = keyfile_unescape(value.lstrip(" "))
    return groups


# ---------------------------------------------------------------- Desktop Entry "Exec"

EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def spec_exec_argv(exec_value: str, files: list[bytes]) -> list[bytes]:
    """The spec's Exec rules, strictly: anything the spec calls invalid raises."""
    words: list[tuple[str, bool]] = []
    i, n = 0, len(exec_value)
    while i < n:
        if exec_value[i] == " ":
            i += 1
        elif exec_value[i] == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quote in {exec_value!r}")
                ch = exec_value[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\":
                    if i + 1 >= n or exec_value[i + 1] not in '"`$\\':
                        raise ValueError(f"invalid backslash in a quoted argument: {exec_value!r}")
                    buf.append(exec_value[i + 1])
                    i += 2
                    continue
                if ch in "`$":
                    raise ValueError(f"unescaped {ch!r} in a quoted argument: {exec_value!r}")
                buf.append(ch)
                i += 1
            if i < n and exec_value[i] != " ":
                raise ValueError(f"text right after a closing quote: {exec_value!r}")
            words.append(("".join(buf), True))
        else:
            j = exec_value.find(" ", i)
            j = n if j < 0 else j
            word = exec_value[i:j]
            if EXEC_RESERVED.intersection(word):
                raise ValueError(f"unquoted reserved character in {word!r}")
            words.append((word, False))
            i = j
    argv: list[bytes] = []
    for word, quoted in words:
        argv.extend(_expand_field_codes(word, quoted, files))
    return argv


def _expand_field_codes(word: str, quoted: bool, files: list[bytes]) -> list[bytes]:
    if not quoted and word in ("%f", "%F"):
        return files[:1] if word == "%f" else list(files)  # each file is exactly one argument
    out, i = b"", 0
    while i < len(word):
        if word[i] != "%":
            out += word[i].encode()
            i += 1
            continue
        code = word[i + 1] if i + 1 < len(word) else ""
        if code == "%":
            out += b"%"
        elif code == "f" and not quoted:
            out += files[0] if files else b""
        else:
            raise ValueError(f"field code %{code} not allowed here: {word!r}")
        i += 2
    return [out]


# ---------------------------------------------------------------- GLib shell rules

def g_shell_quote(text: bytes) -> bytes:
    return b"'" + text.replace(b"'", b"'\\''") + b"'"


def g_shell_parse_argv(line: bytes) -> list[bytes]:
    """gshell.c: blanks and newlines split words; '...' is literal; in "..." a backslash
    escapes only $ ` " \\ and newline; an unquoted backslash escapes the next byte; a #
    at the start of a word starts a comment. Nothing is expanded."""
    argv: list[bytes] = []
    word: bytes | None = None
    i, n = 0, len(line)
    while i < n:
        ch = line[i:i + 1]
        if ch in (b" ", b"\t", b"\n"):
            if word is not None:
                argv.append(word)
                word = None
            i += 1
        elif ch == b"#" and word is None:
            while i < n and line[i:i + 1] != b"\n":
                i += 1
        elif ch == b"'":
            end = line.find(b"'", i + 1)
            if end < 0:
                raise ValueError(f"unmatched ' in {line!r}")
            word = (word or b"") + line[i + 1:end]
            i = end + 1
        elif ch == b'"':
            i += 1
            buf = b""
            while True:
                if i >= n:
                    raise ValueError(f'unmatched " in {line!r}')
                cur = line[i:i + 1]
                if cur == b'"':
                    i += 1
                    break
                if cur == b"\\" and i + 1 < n and line[i + 1] in b'$`"\\\n':
                    if line[i + 1:i + 2] != b"\n":
                        buf += line[i + 1:i + 2]
                    i += 2
                    continue
                buf += cur
                i += 1
            word = (word or b"") + buf
        elif ch == b"\\":
            if i + 1 >= n:
                raise ValueError(f"trailing backslash in {line!r}")
            if line[i + 1:i + 2] != b"\n":
                word = (word or b"") + line[i + 1:i + 2]
            i += 2
        else:
            word = (word or b"") + ch
            i += 1
    if word is not None:
        argv.append(word)
    if not argv:
        raise ValueError("empty command line")
    return argv


def real_glib():
    """libglib through ctypes, to check the replayed rules against the real thing."""
    try:
        lib = ctypes.CDLL("libglib-2.0.so.0")
    except OSError:
        return None
    lib.g_shell_parse_argv.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                       ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)), ctypes.POINTER(ctypes.c_void_p)]
    lib.g_shell_parse_argv.restype = ctypes.c_int
    lib.g_strfreev.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.g_shell_quote.argtypes = [ctypes.c_char_p]
    lib.g_shell_quote.restype = ctypes.c_void_p
    lib.g_free.argtypes = [ctypes.c_void_p]
    lib.g_error_free.argtypes = [ctypes.c_void_p]
    return lib


def glib_parse(lib, line: bytes) -> list[bytes]:
    argc = ctypes.c_int()
    argv = ctypes.POINTER(ctypes.c_char_p)()
    error = ctypes.c_void_p()
    if not lib.g_shell_parse_argv(line, ctypes.byref(argc), ctypes.byref(argv), ctypes.byref(error)):
        lib.g_error_free(error)
        raise ValueError("GLib refused it")
    out = [argv[i] for i in range(argc.value)]
    lib.g_strfreev(argv)
    return out


def glib_quote(lib, text: bytes) -> bytes:
    pointer = lib.g_shell_quote(text)
    out = ctypes.string_at(pointer)
    lib.g_free(pointer)
    return out


def file_uri(path: bytes) -> bytes:
    """A local path as GLib writes it as a URI (g_filename_to_uri's escaping)."""
    return b"file://" + quote_from_bytes(path, safe="!$&'()*+,-./:=@_~").encode("ascii")


# ---------------------------------------------------------------- the launchers

def nemo_expand(exec_line: bytes, selection: list[bytes], location: bytes) -> bytes:
    """nemo-action.c expand_action_string for the tokens our actions use."""
    out, pos = exec_line, 0
    while True:
        at = out.find(b"%", pos)
        if at < 0:
            return out
        token = out[at:at + 2]
        if token == b"%U":
            insertion = b" ".join(file_uri(p) for p in selection) if selection else file_uri(location)
        elif token == b"%%":
            insertion = b"%"
        elif token in (b"%F", b"%P", b"%R", b"%f", b"%p", b"%D", b"%e", b"%N", b"%X"):
            raise AssertionError(f"token {token!r} is not replayed here")
        else:
            return out  # Nemo stops at the first '%' that is not a token
        out = out[:at] + insertion + out[at + 2:]
        pos = at + len(insertion)


def percent_expand(template: bytes, path: bytes, drop_unknown: bool) -> bytes:
    """%f -> g_shell_quote(path) and %% -> % (Caja's parse_singular, Thunar's parse_argv)."""
    out, i = b"", 0
    while i < len(template):
        ch = template[i:i + 1]
        if ch == b"%" and i + 1 < len(template):
            code = template[i + 1:i + 2]
            if code == b"f":
                out += g_shell_quote(path)
            elif code == b"%":
                out += b"%"
            elif not drop_unknown:
                raise AssertionError(f"code %{code!r} is not replayed here")
            i += 2
        else:
            out += ch
            i += 1
    return out


def ms_argv(command_line: str) -> list[str]:
    """How the Microsoft C runtime splits a command line (argv[0] has no escapes)."""
    i, n = 0, len(command_line)
    if command_line.startswith('"'):
        end = command_line.index('"', 1)
        argv, i = [command_line[1:end]], end + 1
    else:
        end = command_line.find(" ")
        end = n if end < 0 else end
        argv, i = [command_line[:end]], end
    while True:
        while i < n and command_line[i] in " \t":
            i += 1
        if i >= n:
            return argv
        arg, quoted = "", False
        while i < n and (quoted or command_line[i] not in " \t"):
            slashes = 0
            while i < n and command_line[i] == "\\":
                slashes += 1
                i += 1
            if i < n and command_line[i] == '"':
                arg += "\\" * (slashes // 2)
                if slashes % 2:
                    arg += '"'
                elif quoted and i + 1 < n and command_line[i + 1] == '"':
                    arg += '"'
                    i += 1
                else:
                    quoted = not quoted
                i += 1
            else:
                arg += "\\" * slashes
                if i < n and (quoted or command_line[i] not in " \t"):
                    arg += command_line[i]
                    i += 1
        argv.append(arg)


# ---------------------------------------------------------------- fixtures

def make_fake_mediaseek(folder: Path, out: Path) -> Path:
    """A stand-in for the app that writes its arguments NUL-separated to ``out``."""
    folder.mkdir(parents=True)
    fake = folder / "fake mediaseek"
    fake.write_bytes(b"#!/bin/sh\nout=" + g_shell_quote(os.fsencode(out)) + b"\n"
                     b': > "$out.tmp"\n'
                     b'for a in "$@"; do printf \'%s\\0\' "$a" >> "$out.tmp"; done\n'
                     b'mv "$out.tmp" "$out"\n')
    fake.chmod(0o755)
    return fake


@pytest.fixture
def setup(tmp_path):
    home = tmp_path / "home 'q' $x `y`"
    home.mkdir()
    out = tmp_path / "argv.out"
    fake = make_fake_mediaseek(tmp_path / "bin 'dir' \"dq\" $HOME `x` ;", out)
    items = integration.install([str(fake)], home=home, platform="linux")
    assert all(item.installed for item in items), items
    media = os.fsencode(tmp_path / "media")
    os.mkdir(media)
    folders = []
    for name in HOSTILE:
        folders.append(os.path.join(media, name))
        os.mkdir(folders[-1])
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    yield SimpleNamespace(home=home, data=home / ".local" / "share", config=home / ".config", out=out,
                          fake=fake, media=media, folders=folders, cwd=cwd, tmp=tmp_path)
    pwned = [os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files if f == "PWNED"]
    assert not pwned, f"a folder name ran as code: {pwned}"


def received(out: Path, wait: bool = False) -> list[bytes]:
    deadline = time.monotonic() + 20
    while wait and not out.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    data = out.read_bytes()
    out.unlink()
    return data.split(b"\0")[:-1]


def run(argv, **kwargs) -> None:
    subprocess.run(argv, check=True, timeout=60, **kwargs)


def check_all(setup, launch, expected) -> None:
    """Launch for every hostile folder; collect every mismatch before failing."""
    wrong = []
    for folder in setup.folders:
        got = launch(folder)
        if got != expected(folder):
            wrong.append(f"{folder!r}: got {got!r}")
    assert not wrong, "\n".join(wrong)


def folder_args(folder: bytes) -> list[bytes]:
    return [b"gui", b"--folder", folder]


# ---------------------------------------------------------------- tests

def test_replayed_glib_rules_match_real_glib(setup):
    """The Python replay of g_shell_parse_argv / g_shell_quote agrees with libglib itself."""
    lib = real_glib()
    if lib is None:
        pytest.skip("libglib-2.0 is not installed")
    for folder in setup.folders:
        quoted = g_shell_quote(folder)
        assert glib_quote(lib, folder) == quoted
        for line in (b"prog " + quoted, b'x "' + file_uri(folder) + b'" y', b"a\\ b '" + folder.replace(b"'", b"") + b"'"):
            assert g_shell_parse_argv(line) == glib_parse(lib, line), line


def test_app_desktop_entry_per_spec(setup):
    entry = parse_keyfile((setup.data / "applications" / "mediaseek.desktop").read_bytes())["Desktop Entry"]

    def launch(folder):
        run(spec_exec_argv(entry["Exec"], [folder]), cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, launch, lambda folder: [b"gui", b"--folder=" + folder])
    run(spec_exec_argv(entry["Exec"], []), cwd=setup.cwd)  # from the menu: no folder at all
    assert received(setup.out) == [b"gui", b"--folder="]


@pytest.mark.skipif(shutil.which("gio") is None, reason="gio (libglib2.0-bin) is not installed")
def test_app_desktop_entry_through_real_glib(setup):
    """``gio launch`` loads the entry and expands %f exactly as GNOME, Cinnamon, MATE and Xfce do."""
    desktop = setup.data / "applications" / "mediaseek.desktop"

    def launch(folder):
        run([b"gio", b"launch", os.fsencode(desktop), folder], cwd=setup.cwd)
        return received(setup.out, wait=True)

    check_all(setup, launch, lambda folder: [b"gui", b"--folder=" + folder])


def test_dolphin_service_menu_per_spec(setup):
    menu = parse_keyfile((setup.data / "kio" / "servicemenus" / "mediaseek.desktop").read_bytes())
    (action,) = menu["Desktop Entry"]["Actions"].rstrip(";").split(";")
    exec_line = menu[f"Desktop Action {action}"]["Exec"]

    def launch(folder):
        run(spec_exec_argv(exec_line, [folder]), cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, launch, folder_args)


def nautilus_env(selection: list[bytes], location: bytes) -> dict:
    env = {k: v for k, v in os.environb.items() if not k.startswith(b"NAUTILUS_SCRIPT_")}
    env[b"NAUTILUS_SCRIPT_SELECTED_FILE_PATHS"] = b"".join(p + b"\n" for p in selection)
    env[b"NAUTILUS_SCRIPT_SELECTED_URIS"] = b"".join(file_uri(p) + b"\n" for p in selection)
    env[b"NAUTILUS_SCRIPT_CURRENT_URI"] = file_uri(location)
    return env


def test_nautilus_script_on_a_selected_folder(setup):
    script = setup.data / "nautilus" / "scripts" / "Search with mediaseek"
    assert os.access(script, os.X_OK)

    def launch(folder):
        name = os.path.basename(folder)  # Nautilus passes names relative to the folder on screen
        run([b"bash", os.fsencode(script), name], cwd=setup.media, env=nautilus_env([folder], setup.media))
        return received(setup.out)

    check_all(setup, launch, folder_args)


def test_nautilus_script_on_the_empty_area_inside_a_folder(setup):
    script = setup.data / "nautilus" / "scripts" / "Search with mediaseek"

    def launch(folder):
        run([b"bash", os.fsencode(script)], cwd=folder, env=nautilus_env([], folder))
        return received(setup.out)

    check_all(setup, launch, folder_args)


def test_nautilus_script_with_only_positional_names(setup):
    """Without Nautilus's variables the names relative to the working folder still work."""
    script = setup.data / "nautilus" / "scripts" / "Search with mediaseek"
    env = {k: v for k, v in os.environb.items() if not k.startswith(b"NAUTILUS_SCRIPT_")}

    def launch(folder):
        run([b"bash", os.fsencode(script), os.path.basename(folder)], cwd=setup.media, env=env)
        return received(setup.out)

    check_all(setup, launch, folder_args)


@pytest.mark.skipif(shutil.which("gio") is None, reason="gio (libglib2.0-bin) is not installed")
def test_nautilus_script_through_glib_like_nautilus(setup):
    """Nautilus builds "script 'name'" and starts it with g_app_info_create_from_commandline,
    which appends %f and expands field codes, '%' sequences inside the names included;
    replayed with a desktop entry holding exactly that line."""
    script = os.fsencode(setup.data / "nautilus" / "scripts" / "Search with mediaseek")
    wrong, refused = [], []
    for folder in setup.folders:
        name = os.path.basename(folder)
        line = g_shell_quote(script) + b" " + g_shell_quote(name) + b" %f"
        try:
            value = line.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a key file cannot hold these bytes; the direct test above covers them
        value = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        entry = setup.tmp / "nautilus-replay.desktop"
        entry.write_text(f"[Desktop Entry]\nType=Application\nName=replay\nExec={value}\n", encoding="utf-8")
        launched = subprocess.run(["gio", "launch", str(entry)], cwd=setup.media, timeout=60,
                                  env=nautilus_env([folder], setup.media), capture_output=True)
        if launched.returncode:
            # GLib itself cannot parse this line (a '%' ate a quote): Nautilus runs nothing.
            assert b"quote" in launched.stderr, launched.stderr
            refused.append(folder)
            continue
        got = received(setup.out, wait=True)
        if got != folder_args(folder):
            wrong.append(f"{folder!r}: got {got!r}")
    assert not wrong, "\n".join(wrong)
    assert refused == [os.path.join(setup.media, b"50%f %U %F %% %")]


def test_nemo_actions(setup):
    actions = setup.data / "nemo" / "actions"
    folder_action = parse_keyfile((actions / "mediaseek.nemo_action").read_bytes())["Nemo Action"]
    background = parse_keyfile((actions / "mediaseek-background.nemo_action").read_bytes())["Nemo Action"]
    assert (folder_action["Selection"], folder_action["Extensions"]) == ("s", "dir;")
    assert background["Selection"] == "none"

    def launch(action, selection, location):
        exec_line = action["Exec"]
        assert not exec_line.startswith("<")
        run(g_shell_parse_argv(nemo_expand(exec_line.encode(), selection, location)), cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, lambda folder: launch(folder_action, [folder], setup.media), folder_args)
    check_all(setup, lambda folder: launch(background, [], folder), folder_args)


def test_nemo_helper_accepts_a_plain_path_from_older_nemo(setup):
    helper = setup.data / "nemo" / "actions" / "mediaseek-open-folder.sh"

    def launch(folder):
        run([os.fsencode(helper), folder], cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, launch, folder_args)


def test_caja_action(setup):
    action = parse_keyfile((setup.data / "file-manager" / "actions" / "mediaseek.desktop").read_bytes())
    entry = action["Desktop Entry"]
    assert entry["Type"] == "Action" and entry["TargetLocation"] == "true" and entry["TargetContext"] == "true"
    (profile,) = entry["Profiles"].rstrip(";").split(";")
    exec_line = action[f"X-Action-Profile {profile}"]["Exec"]
    assert action[f"X-Action-Profile {profile}"]["MimeTypes"] == "inode/directory;"
    path, _, parameters = exec_line.partition(" ")  # caja-actions keeps path and parameters apart
    template = f"{path} {parameters}".encode()

    def launch(folder):
        run(g_shell_parse_argv(percent_expand(template, folder, drop_unknown=True)), cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, launch, folder_args)


def test_thunar_custom_action(setup):
    root = ET.parse(setup.config / "Thunar" / "uca.xml").getroot()
    (action,) = [a for a in root.findall("action") if a.findtext("name") == "Search with mediaseek"]
    assert action.find("directories") is not None and action.findtext("patterns") == "*"
    template = action.findtext("command").encode()

    def launch(folder):
        run(["/bin/sh", "-c", percent_expand(template, folder, drop_unknown=True)], cwd=setup.cwd)
        return received(setup.out)

    check_all(setup, launch, folder_args)


def test_program_path_with_a_percent_sign(tmp_path):
    """'%' is a field code in every format; the program path must survive it everywhere
    except the GLib desktop entry, which cannot start such a program and is not written."""
    out = tmp_path / "argv.out"
    fake = make_fake_mediaseek(tmp_path / "100% sure %f %%", out)
    home = tmp_path / "home"
    items = {item.target: item for item in integration.install([str(fake)], home=home, platform="linux")}
    assert not items["desktop-entry"].installed and "%" in items["desktop-entry"].note
    data = home / ".local" / "share"
    folder = os.fsencode(tmp_path / "50% it's")
    os.mkdir(folder)

    menu = parse_keyfile((data / "kio" / "servicemenus" / "mediaseek.desktop").read_bytes())
    run(spec_exec_argv(menu["Desktop Action searchWithMediaseek"]["Exec"], [folder]))
    assert received(out) == folder_args(folder)
    caja = parse_keyfile((data / "file-manager" / "actions" / "mediaseek.desktop").read_bytes())
    run(g_shell_parse_argv(percent_expand(caja["X-Action-Profile folder"]["Exec"].encode(), folder, True)))
    assert received(out) == folder_args(folder)
    thunar = ET.parse(home / ".config" / "Thunar" / "uca.xml").getroot().find("action").findtext("command")
    run(["/bin/sh", "-c", percent_expand(thunar.encode(), folder, True)])
    assert received(out) == folder_args(folder)
    nemo = parse_keyfile((data / "nemo" / "actions" / "mediaseek.nemo_action").read_bytes())["Nemo Action"]
    run(g_shell_parse_argv(nemo_expand(nemo["Exec"].encode(), [folder], b"/")))
    assert received(out) == folder_args(folder)


def test_macos_quick_action_script(tmp_path):
    out = tmp_path / "argv.out"
    fake = make_fake_mediaseek(tmp_path / "Apps 'x' $y", out)
    home = tmp_path / "home"
    integration.install([str(fake)], home=home, platform="darwin")
    document = home / "Library" / "Services" / "Search with mediaseek.workflow" / "Contents" / "document.wflow"
    action = plistlib.loads(document.read_bytes())["actions"][0]["action"]
    assert action["ActionParameters"]["inputMethod"] == 1  # folders arrive as arguments
    script = action["ActionParameters"]["COMMAND_STRING"]
    shell = action["ActionParameters"]["shell"]
    wrong = []
    for name in HOSTILE:
        folder = os.path.join(os.fsencode(tmp_path), name)
        os.mkdir(folder)
        run([shell if os.path.exists(shell) else "bash", "-c", script, "automator", folder], cwd=tmp_path)
        got = received(out, wait=True)
        if got != folder_args(folder):
            wrong.append(f"{folder!r}: got {got!r}")
    assert not wrong, "\n".join(wrong)


def test_windows_command_line_splits_back_into_the_folder(tmp_path):
    from app.integration.registry import MemoryRegistry

    registry = MemoryRegistry()
    exe = r"C:\Users\Zoë O'Neil\My Apps; $x\mediaseek.exe"
    integration.install([exe], home=tmp_path, platform="win32", registry=registry)
    folders = [r"C:\Users\me\Pictures", r"C:\Users\me\My Photos", r"D:\it's; $x `y` & z",
               r"C:\a\-rf", r"C:\a\50% %V %1 done", r"\\server\share\Holiday 2024", "C:\\a\\caf\u00e9 \U0001F600",
               r"C:\a\back\\slashes\b"]
    for key in (r"Software\Classes\Directory\shell\mediaseek", r"Software\Classes\Directory\Background\shell\mediaseek"):
        template = registry.get_value(key + r"\command", "")
        for folder in folders:
            # Explorer replaces %V with the folder as text, then the program's C runtime splits the line.
            assert ms_argv(template.replace("%V", folder)) == [exe, "gui", "--folder", folder]


def test_nautilus_script_on_a_selected_file_uses_its_folder(setup):
    script = setup.data / "nautilus" / "scripts" / "Search with mediaseek"
    folder = setup.folders[HOSTILE.index(b"line1\nline2")]
    photo = os.path.join(folder, b"IMG 0001 'x'.jpg")
    Path(os.fsdecode(photo)).write_bytes(b"\xff\xd8")
    run([b"bash", os.fsencode(script), os.path.basename(photo)], cwd=folder, env=nautilus_env([photo], folder))
    assert received(setup.out) == folder_args(folder)


def test_nautilus_script_refuses_a_remote_location(setup):
    script = setup.data / "nautilus" / "scripts" / "Search with mediaseek"
    env = nautilus_env([], setup.media)
    env[b"NAUTILUS_SCRIPT_CURRENT_URI"] = b"sftp://example.org/home/me/$(touch PWNED)"
    result = subprocess.run([b"bash", os.fsencode(script)], cwd=setup.cwd, env=env, capture_output=True, timeout=60)
    assert result.returncode == 1 and b"only folders on this computer" in result.stderr
    assert not setup.out.exists()
