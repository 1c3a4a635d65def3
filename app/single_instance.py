"""One desktop window per user and library: later launches hand their folder to it.

The first ``mediaseek gui`` listens on a local socket (a Unix socket, a named pipe on Windows)
named after the user and the library's data folder; a later launch connects, sends the folder it
was asked to open and exits, so only the first launch pays the start-up cost. Folder names travel
as the file system's bytes (base64 in a one-line JSON message), so names that are not valid UTF-8
or contain newlines arrive exactly.

Qt is imported here because ``QLocalServer`` is the portable local socket; only ``ui.main``
imports this module.
"""
from __future__ import annotations

import base64
import getpass
import hashlib
import json
import logging
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import AppPaths

log = logging.getLogger(__name__)

PROTOCOL = 1
_MAX_MESSAGE = 64 * 1024
_ACK = b"ok\n"


def server_name(paths: AppPaths) -> str:
    """Per user and per library, so two users (or two MEDIASEEK_HOMEs) never meet."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    user = "".join(c for c in user if c.isalnum())[:32] or "user"
    digest = hashlib.sha1(os.fsencode(os.path.abspath(paths.data)), usedforsecurity=False).hexdigest()[:12]
    return f"mediaseek-{user}-{digest}"


def encode_message(folder: str | None) -> bytes:
    raw = None if folder is None else base64.b64encode(os.fsencode(folder)).decode("ascii")
    return json.dumps({"v": PROTOCOL, "folder": raw}).encode("ascii") + b"\n"


def decode_message(line: bytes) -> str | None:
    """The folder a launch asked for (None: just come to the front); ValueError if malformed."""
    message = json.loads(line.decode("ascii"))
    if not isinstance(message, dict) or message.get("v") != PROTOCOL:
        raise ValueError("unknown message")
    raw = message.get("folder")
    if raw is None:
        return None
    return os.fsdecode(base64.b64decode(raw, validate=True))


def send_to_running(paths: AppPaths, folder: str | None, timeout_ms: int = 2000) -> bool:
    """Hand ``folder`` to a running window; False when none is running (become the first)."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(paths))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(encode_message(folder))
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    reply = b""
    deadline_ok = True
    while _ACK not in reply and deadline_ok:
        deadline_ok = socket.waitForReadyRead(timeout_ms)
        reply += bytes(socket.readAll())
    if _ACK not in reply:
        # Connected, so a window is there; it is busy and will read the message when it can.
        log.warning("the running mediaseek window did not confirm the hand-off")
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches; emits ``folder_received`` (a folder, or None) for each."""

    folder_received = Signal(object)

    def __init__(self, paths: AppPaths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(paths)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Start listening. A socket file left by a crashed window is removed first; callers
        make sure no window answers before calling this (``send_to_running`` returned False)."""
        if self._server.listen(self.name):
            return True
        if self._server.serverError() == QLocalSocket.LocalSocketError.AddressInUseError:
            QLocalServer.removeServer(self.name)
            if self._server.listen(self.name):
                return True
        log.warning("single-instance server not available: %s", self._server.errorString())
        return False

    def close(self) -> None:
        """Stop listening and drop the connections still open."""
        self._server.close()
        for socket in list(self._buffers):
            self._forget(socket)

    def _accept(self) -> None:
        # Bound methods and sender(), not lambdas: a lambda holding ``self`` on a socket's signal kept
        # this object alive until the socket's deferred deletion, which then deleted this object (and
        # the socket again) from inside that deletion: a segfault when the server was not parented.
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(self._ready_read)
            socket.disconnected.connect(self._disconnected)

    def _ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket) and socket in self._buffers:
            self._read(socket)

    def _disconnected(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._forget(socket)

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll())
        if b"\n" not in data:
            if len(data) > _MAX_MESSAGE:
                socket.abort()
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            folder = decode_message(line)
        except (ValueError, UnicodeDecodeError):
            log.warning("ignoring a malformed message on %s", self.name)
            socket.abort()
            return
        socket.write(_ACK)
        socket.flush()
        socket.disconnectFromServer()
        self.folder_received.emit(folder)

    def _forget(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is None:
            return
        socket.readyRead.disconnect(self._ready_read)
        socket.disconnected.disconnect(self._disconnected)
        socket.abort()
        socket.deleteLater()
