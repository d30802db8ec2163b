"""Worker threads yield the cores to the window's thread."""

import os
import sys
import threading

import pytest

from convviz.qt.workers import WORKER_NICENESS, background_executor


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
