"""Protection against a reference-counting bug in PySide6 6.12.0 on CPython < 3.12.

With that combination every ``Signal.emit()`` called from Python drops one reference to ``True``,
and every invalid ``QVariant`` handed to Python drops one to ``None``, without having taken them.
After a few hundred signals the interpreter aborts ("bool_dealloc: deallocating True or False").
CPython 3.12 made these objects immortal, which hides the bug; 6.11 does not have it. The project
pins a good version; this check keeps a window alive when someone installs the bad one anyway.
"""
from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_PROBES = 64
_checked = False


def pyside_drops_references() -> bool:
    """True when emitting signals from Python loses references to ``True`` (the bug above)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    probe.ping.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.ping.emit()
    return before - sys.getrefcount(True) >= _PROBES // 2


def guard_pyside_refcounts() -> bool:
    """If the bug is present, give True, False and None so many references that they can never
    reach zero (what CPython 3.12 does for them anyway). Returns whether it had to."""
    global _checked
    if _checked:
        return False
    _checked = True
    if sys.version_info >= (3, 12) or not pyside_drops_references():
        return False
    import PySide6

    log.warning("PySide6 %s loses references to True/None on this Python; protecting them. "
                "Install PySide6 6.11 to avoid this.", PySide6.__version__)
    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    return True
