"""Index the library in a child process and stream progress as JSON lines.

The window runs indexing here rather than in one of its own threads: decoding, preprocessing and
SQLite writes hold the GIL, and in the window's process they stalled the event loop.

    python -m app.index_worker --data DIR --cache DIR --logs DIR [--providers A,B] [FOLDER ...]

stdout carries one JSON object a line: ``{"type": "progress", "event": {...IndexProgress}}`` (a few
a second, the last one always), then ``{"type": "report", "report": {...IndexReport}}`` or
``{"type": "error", "message": "...", "kind": "MediaseekError"}``. stdin takes ``pause``, ``resume``
and ``cancel`` lines; EOF on stdin (the window went away), SIGTERM and SIGINT cancel after the
current batch, so everything committed stays indexed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from indexer.events import IndexProgress, IndexReport

log = logging.getLogger(__name__)

THROTTLE_S = 0.2


def progress_to_dict(event: IndexProgress) -> dict[str, Any]:
    return dataclasses.asdict(event)


def progress_from_dict(data: dict[str, Any]) -> IndexProgress:
    names = {f.name for f in dataclasses.fields(IndexProgress)}
    return IndexProgress(**{k: v for k, v in data.items() if k in names})


def report_to_dict(report: IndexReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


def report_from_dict(data: dict[str, Any]) -> IndexReport:
    names = {f.name for f in dataclasses.fields(IndexReport)}
    values = {k: v for k, v in data.items() if k in names}
    values["errors"] = [tuple(e) for e in values.get("errors", [])]
    return IndexReport(**values)


class _Emitter:
    """Writes lines to ``out``; progress is throttled (the newest held back is sent by ``flush``)."""

    def __init__(self, out: TextIO, interval: float = THROTTLE_S) -> None:
        self._out = out
        self._interval = interval
        self._lock = threading.Lock()
        self._sent_at = 0.0
        self._held: IndexProgress | None = None
        self._phase: str | None = None

    def _write(self, obj: dict[str, Any]) -> None:
        try:
            self._out.write(json.dumps(obj) + "\n")
            self._out.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader went away; the run is being cancelled through stdin EOF

    def progress(self, event: IndexProgress) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._sent_at >= self._interval or event.phase != self._phase or event.phase == "done":
                self._send(event, now)
            else:
                self._held = event  # sent by the next event or by ``flush_loop``

    def _send(self, event: IndexProgress, now: float) -> None:
        self._sent_at, self._phase, self._held = now, event.phase, None
        self._write({"type": "progress", "event": progress_to_dict(event)})

    def flush_loop(self, stop: threading.Event) -> None:
        """Sends a held-back event once it is due, so a paused run still shows where it stopped."""
        while not stop.wait(self._interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._held is not None:
                self._send(self._held, time.monotonic())

    def final(self, obj: dict[str, Any]) -> None:
        self.flush()
        with self._lock:
            self._write(obj)


def _read_commands(stream: TextIO, cancel: threading.Event, pause: threading.Event) -> None:
    for line in stream:
        command = line.strip()
        if command == "pause":
            pause.set()
        elif command == "resume":
            pause.clear()
        elif command == "cancel":
            cancel.set()
            pause.clear()
    cancel.set()  # EOF: the parent is gone
    pause.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.index_worker")
    parser.add_argument("--data", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--providers", default="")
    parser.add_argument("folders", nargs="*")
    args = parser.parse_args(argv)

    from app.library import Library
    from app.paths import AppPaths

    try:
        os.nice(10)  # the window (search, scrolling) comes first on a busy machine
    except (AttributeError, OSError):
        pass
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write into the event stream
    emitter = _Emitter(out)
    cancel, pause = threading.Event(), threading.Event()

    def on_signal(signum, frame) -> None:
        cancel.set()
        pause.clear()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=_read_commands, args=(sys.stdin, cancel, pause), name="commands", daemon=True).start()

    stop = threading.Event()
    threading.Thread(target=emitter.flush_loop, args=(stop,), name="flush", daemon=True).start()
    paths = AppPaths(data=Path(args.data), cache=Path(args.cache), logs=Path(args.logs))
    providers = [p for p in args.providers.split(",") if p] or None
    try:
        with Library(paths, providers=providers) as library:
            report = library.index(args.folders, on_progress=emitter.progress, cancel=cancel, pause=pause)
    except Exception as exc:  # one line for the window, whatever went wrong
        log.debug("indexing failed", exc_info=True)
        message = str(exc) or type(exc).__name__
        from app.errors import MediaseekError

        kind = "MediaseekError" if isinstance(exc, MediaseekError) else type(exc).__name__
        emitter.final({"type": "error", "message": message.splitlines()[0] if message else kind, "kind": kind})
        return 1
    finally:
        stop.set()
    emitter.final({"type": "report", "report": report_to_dict(report)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
