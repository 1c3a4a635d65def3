"""Command-line rendering for ``mediaseek models available`` and download progress (part of the CLI layer)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

PROGRESS_PREFIX = "progress "  # machine-readable progress lines on stderr (--progress json, the window)


def _mb(count: float) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count / 1e3:,.0f} kB"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def print_available(as_json: bool) -> int:
    from app import catalogue

    items = catalogue.entries()
    if as_json:
        sys.stdout.write(json.dumps([e.as_json() for e in items], indent=2) + "\n")
        return 0
    for e in items:
        mark = "*" if e.recommended else " "
        size = f"{e.size_mb:,.0f} MB" if e.size_mb else "size ?"
        speed = (f"{e.images_per_s:.1f} img/s, text {e.text_ms:.0f} ms" if e.images_per_s and e.text_ms
                 else "speed not measured")
        sys.stdout.write(f"{mark} {e.name:<26} {e.repo} ({e.layout}), {size}, {e.languages}\n"
                         f"    {e.quality}; CPU {speed}; licence {e.licence}\n")
        if e.note:
            sys.stdout.write(f"    {e.note}\n")
    sys.stdout.write("* recommended. Install with: mediaseek models install NAME\n")
    return 0


class DownloadBar:
    """Draws DownloadProgress events: a bar on a terminal, JSON lines for the window, nothing otherwise."""

    def __init__(self, stream=None, json_lines: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.json_lines = json_lines
        self.enabled = json_lines or self.stream.isatty()
        self._width = 0
        self._last = 0.0

    def __call__(self, event) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if event.phase == "download" and now - self._last < (0.25 if self.json_lines else 0.1):
            return
        self._last = now
        if self.json_lines:
            data = {"phase": event.phase, "file": event.file, "done": event.done, "total": event.total,
                    "rate": round(event.rate, 1), "eta": None if event.eta is None else round(event.eta, 1)}
            self.stream.write(PROGRESS_PREFIX + json.dumps(data) + "\n")
            self.stream.flush()
            return
        if event.phase == "done":
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()
            return
        frac = event.done / event.total if event.total else 0.0
        bar = "#" * int(min(frac, 1.0) * 24)
        line = (f"[{bar:<24}] {_mb(event.done)}/{_mb(event.total)}  {_mb(event.rate)}/s  ETA {_eta(event.eta)}  "
                f"{os.path.basename(event.file)}" + ("  (checking)" if event.phase == "verify" else ""))
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except OSError:
            columns = 100
        line = line[: max(columns - 1, 20)]
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self._width = len(line)
        self.stream.flush()


@contextlib.contextmanager
def interrupt_on_sigterm():
    """Treat SIGTERM like Ctrl-C while installing, so a stopped install cleans up after itself."""

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
