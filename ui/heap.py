"""Keeps Python's cyclic garbage collector from stalling the window.

A full (generation 2) collection walks every tracked object in the process and holds the GIL
meanwhile, whichever thread triggers it. After start-up the window's process holds ~200,000
long-lived objects (Qt, numpy, SQLAlchemy, onnxruntime modules and their classes), so each full
collection took 50-120 ms on the 2-core test machine while indexing ran, and it came every ~10 s
during searches: the worst event-loop stalls of bench/bench_gui.py were these collections
(gc.callbacks timed against the stall monitor's late ticks).

``settle()`` moves what is alive once start-up is done into the permanent generation
(``gc.freeze``): later full collections only walk what was created since, a few milliseconds.
Frozen objects are still freed by reference counting; only cyclic garbage that exists at that
moment is never reclaimed (start-up leaves little). It is enabled by the application (and the
benchmark), not by importing the window, so a test process that opens many windows keeps the
normal collector.
"""
from __future__ import annotations

import gc

_enabled = False


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def settle() -> bool:
    """Freeze the objects alive now if enabled; returns whether it did."""
    if not _enabled:
        return False
    gc.collect(1)  # the young generations' garbage goes first; the old generation is not walked
    gc.freeze()
    return True
