"""Entry point of the desktop app: ``run(folder)`` (``mediaseek`` / ``mediaseek gui --folder DIR``).

Importing this module is cheap (no Qt): the command line imports it for every ``gui`` call. A
launch first tries to hand its folder to a window that is already running; only when none is does
it pay for building one.

Environment (for tests and debugging): ``MEDIASEEK_GUI_STATUS=FILE`` makes the window mirror its
visible state (page, query, scope, result count) into a JSON file.
"""
from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def run(folder: str | None = None, argv: list[str] | None = None) -> int:
    """Open the window (or hand ``folder`` to the one already open). Returns the exit code."""
    from app.logs import setup_logging
    from app.paths import AppPaths

    paths = AppPaths.from_env()
    setup_logging(paths.logs)
    # Qt Multimedia's FFmpeg backend writes to stderr each optional library it does not find
    # (PipeWire, VA-API) and every stream of each video played: noise in the user's terminal.
    # A user's own QT_LOGGING_RULES wins.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    folder = os.path.abspath(os.path.expanduser(folder)) if folder else None

    from app.single_instance import InstanceServer, send_to_running

    if send_to_running(paths, folder):
        log.info("handed %r to the running window", folder)
        return 0

    problem = missing_display()
    if problem:
        _say_no_display(problem)
        return 1

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.setDesktopFileName("mediaseek")
    app = _make_application(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("mediaseek")
    app.setApplicationDisplayName("mediaseek")
    app.setOrganizationName("mediaseek")

    server = InstanceServer(paths)
    if not server.listen() and send_to_running(paths, folder):
        return 0  # another launch won the race to become the window

    from app.library import Library
    from ui import heap
    from ui.icons import app_icon
    from ui.main_window import MainWindow

    app.setWindowIcon(app_icon())
    heap.enable()  # the window freezes start-up's objects out of the collector's way (ui/heap.py)
    library = Library(paths)
    window = MainWindow(library, status_file=os.environ.get("MEDIASEEK_GUI_STATUS") or None)
    server.folder_received.connect(window.open_folder)
    window.show()
    QTimer.singleShot(0, lambda: window.start(folder))
    _close_on_signals(window)
    try:
        code = app.exec()
    finally:
        server.close()
        library.close()
    return int(code)


NO_DISPLAY_HINT = "the command line works without one (mediaseek --help)"


def missing_display(env: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the window certainly cannot open here, or None. Only the cheap, certain case: Linux
    (and other X11/Wayland systems) with no display named and no Qt platform chosen."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform.startswith(("win", "darwin", "cygwin")) or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def _say_no_display(problem: str) -> None:
    log.error("cannot open the window: %s", problem)
    sys.stderr.write(f"mediaseek: cannot open the window: {problem}; {NO_DISPLAY_HINT}\n")
    sys.stderr.flush()


def _make_application(argv: list[str]):
    """Create the QApplication; when Qt cannot load a platform plugin (display unreachable,
    a missing system library) it would print a page of advice and abort (exit 134): catch its
    fatal message instead, say one line and exit 1."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if existing is not None:
        return existing
    seen: list[str] = []

    def handler(mode, _context, message: str) -> None:
        if mode == QtMsgType.QtFatalMsg:
            reason = next((m for m in seen if "could not connect to display" in m), None)
            reason = reason or next((m for m in seen if "needed to load" in m or "Could not load" in m), None)
            _say_no_display(reason or message.splitlines()[0] if message else "Qt has no usable display")
            os._exit(1)
        seen.append(message)
        log.warning("Qt: %s", message)

    previous = qInstallMessageHandler(handler)
    try:
        return QApplication(argv)
    finally:
        qInstallMessageHandler(previous)
        for message in seen:
            sys.stderr.write(f"{message}\n")  # the application started: Qt's warnings stay visible


def _close_on_signals(window) -> None:
    """SIGTERM/SIGINT close the window properly (settings saved, indexing stopped at a batch).

    Python runs signal handlers only between bytecodes, so a timer wakes the interpreter while Qt
    waits for events."""
    import signal

    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, lambda *_: window.close())
        except (ValueError, OSError):  # not the main thread, or unsupported here
            return
    waker = QTimer(window)
    waker.timeout.connect(lambda: None)
    waker.start(250)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else None))
