"""The window keeps the cores and the interpreter: worker threads yield them, and the
garbage collector leaves the window's own objects alone."""

import os
import sys
import threading

import pytest

from convviz.qt.base.workers import WORKER_NICENESS, background_executor


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_worker_thread_runs_at_a_lower_priority_than_the_window():
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    executor = background_executor("test")
    try:
        name, nice = executor.submit(
            lambda: (
                threading.current_thread().name,
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
            )
        ).result(timeout=30)
    finally:
        executor.shutdown()
    assert name.startswith("convviz-test")
    assert nice == min(mine + WORKER_NICENESS, 19)
    # The window's own thread keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_the_objects_the_window_is_built_of_are_left_out_of_full_collections(window):
    import gc

    from convviz.qt.app import freeze_startup_objects

    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the window's widgets, wrappers, arrays
        assert len(gc.get_objects()) < gc.get_freeze_count() // 10  # what a pass visits
    finally:
        gc.unfreeze()
