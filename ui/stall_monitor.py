"""Measures how responsive the GUI thread is: a precise timer records how late each tick fires.

A tick that is due every ``interval_ms`` but arrives ``X`` ms late means the event loop was busy
(blocked) for about ``X`` ms: nothing could repaint or react to input meanwhile.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class StallMonitor(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval = interval_ms / 1000
        self.lateness: list[float] = []  # seconds late, one entry per tick
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._last - self.interval))
        self._last = now

    @property
    def worst_ms(self) -> float:
        return max(self.lateness, default=0.0) * 1000

    def percentile_ms(self, q: float) -> float:
        if not self.lateness:
            return 0.0
        ordered = sorted(self.lateness)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    def count_over(self, ms: float) -> int:
        return sum(1 for late in self.lateness if late * 1000 > ms)
