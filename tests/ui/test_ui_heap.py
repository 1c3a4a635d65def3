"""The window moves start-up's objects out of the cyclic collector's way (ui/heap.py)."""
from __future__ import annotations

import gc
import weakref

import pytest

from tests.ui.conftest import wait_idle
from ui import heap


@pytest.fixture
def frozen_heap():
    """heap enabled for one test; the test process's objects are thawed afterwards."""
    heap.enable()
    before = gc.get_freeze_count()
    yield before
    heap.enable(False)
    gc.unfreeze()


def test_settle_does_nothing_unless_the_application_enabled_it():
    assert not heap.enabled()
    before = gc.get_freeze_count()
    assert heap.settle() is False
    assert gc.get_freeze_count() == before


def test_settle_freezes_live_objects_and_they_are_still_freed_by_reference_count(frozen_heap):
    class Thing:
        pass

    thing = Thing()
    gone = weakref.ref(thing)
    assert heap.settle() is True
    assert gc.get_freeze_count() > frozen_heap
    assert gc.get_freeze_count() > 1000  # the interpreter's modules, classes and functions
    del thing
    assert gone() is None  # frozen objects without cycles go as soon as nothing holds them


def test_window_settles_the_heap_once_warm_up_is_done(frozen_heap, make_window, indexed, qtbot):
    window = make_window()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > frozen_heap, timeout=10_000)
    assert window.model.rowCount() > 0  # browsing works with the frozen heap
