"""QMediaPlayer's control calls with the GIL released.

PySide keeps the GIL through a C++ call. ``QMediaPlayer.stop()``, ``play()``, ``pause()``,
``setPosition()`` and ``setSource()`` rebuild the FFmpeg backend's pipeline and wait, under Qt's
connection lock, for its threads. Those threads can need the GIL at that moment: destroying the audio
renderer disconnects it from our ``QAudioOutput``, whose Python wrapper is asked for a
``disconnectNotify`` override; a Qt warning goes through a Python message handler when one is
installed. Either way the window froze for good (py-spy and gdb on hung runs: the GUI thread in
``QObject::disconnect`` or ``QLatch::wait`` inside ``QMediaPlayer::stop``, the ``QFFmpeg::AudioRenderer``
thread waiting for the GIL).

So these calls go through ctypes, which releases the GIL for the length of a foreign call: the
backend's threads can take it, and the player's signals, emitted synchronously on this thread, still
reach their Python slots (PySide takes the GIL back for them). This needs the library's exported
Itanium-ABI symbols (Linux, macOS); where they cannot be found (Windows' MSVC names, an unusual
build) the plain PySide calls are used, as before.
"""
from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import shiboken6

log = logging.getLogger(__name__)

_SYMBOLS = {
    "play": ("_ZN12QMediaPlayer4playEv", []),
    "pause": ("_ZN12QMediaPlayer5pauseEv", []),
    "stop": ("_ZN12QMediaPlayer4stopEv", []),
    "setPosition": ("_ZN12QMediaPlayer11setPositionEx", [ctypes.c_longlong]),
    "setSource": ("_ZN12QMediaPlayer9setSourceERK4QUrl", [ctypes.c_void_p]),
}
_functions: dict[str, Callable] | None = None


def _library() -> ctypes.CDLL | None:
    """Qt Multimedia as PySide loaded it (already in the process: dlopen returns that copy)."""
    import PySide6

    bundled = Path(PySide6.__file__).parent / "Qt" / "lib"
    if sys.platform == "darwin":
        names = [str(bundled / "QtMultimedia.framework" / "Versions" / "A" / "QtMultimedia")]
    else:
        names = [str(bundled / "libQt6Multimedia.so.6"), "libQt6Multimedia.so.6"]  # the wheel's, or a system Qt
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _resolve() -> dict[str, Callable]:
    global _functions
    if _functions is None:
        found: dict[str, Callable] = {}
        library = _library() if sys.platform != "win32" else None
        if library is not None:
            try:
                for name, (symbol, args) in _SYMBOLS.items():
                    function = getattr(library, symbol)
                    function.argtypes = [ctypes.c_void_p, *args]
                    function.restype = None
                    found[name] = function
            except AttributeError as exc:
                log.info("Qt Multimedia calls keep the GIL (%s)", exc)
                found = {}
        _functions = found
    return _functions


def releases_gil() -> bool:
    """Whether the calls below run without the GIL on this platform."""
    return len(_resolve()) == len(_SYMBOLS)


def _pointer(obj) -> int:
    return shiboken6.getCppPointer(obj)[0]


def call(player, name: str, *args) -> None:
    """``player.<name>(*args)``, with the GIL released when possible (see the module docstring)."""
    function = _resolve().get(name)
    if function is None or not shiboken6.isValid(player):  # a deleted player raises as PySide does
        getattr(player, name)(*args)
        return
    if name == "setSource":
        url = args[0]
        function(_pointer(player), _pointer(url))  # ``url`` stays referenced until the call returns
    elif name == "setPosition":
        function(_pointer(player), int(args[0]))
    else:
        function(_pointer(player))

